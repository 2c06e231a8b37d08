// The README's config table, generated from the schema so the two cannot drift
// (test/readme_config_test.ts). Regenerate with: deno run -A src/config_table.ts --write
import { type KnobSpec, SCHEMA } from "./config_schema.ts";

export const TABLE_START = "<!-- config-table:start -->";
export const TABLE_END = "<!-- config-table:end -->";

const cell = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");
const code = (s: string) => "`" + s + "`";

function typeCell(s: KnobSpec): string {
  const min = s.min !== undefined ? ` ≥ ${s.min}` : "";
  if (s.type === "enum") return `enum: ${s.values!.map(code).join(", ")}`;
  return code(s.type) + (s.type === "int[]" && min ? ", each" : "") + min;
}

function envCell(s: KnobSpec): string {
  const aliases = s.envAliases?.length ? ` (alias: ${s.envAliases.map(code).join(", ")})` : "";
  return code(s.env) + aliases;
}

/** Markdown table of every knob: key, type, default, env var (+aliases), doc. Columns are padded
 * the way `deno fmt` pads markdown tables, so the README stays fmt-clean. */
export function configTable(specs: KnobSpec[]): string {
  const header = ["Key", "Type", "Default", "Env var", "Description"];
  const body = specs.map((s) =>
    [code(s.key), typeCell(s), code(JSON.stringify(s.default)), envCell(s), s.doc].map(cell)
  );
  const width = header.map((_, c) => Math.max(3, ...[header, ...body].map((r) => len(r[c]))));
  const line = (r: string[]) =>
    "| " + r.map((x, c) => x + " ".repeat(width[c] - len(x))).join(" | ") + " |";
  return [line(header), line(width.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

/** Display length in code points (our cells hold no wide or combining characters). */
const len = (s: string) => [...s].length;

/** The README marked section's content for a table: blank lines around it, as `deno fmt` wants. */
const section = (table: string) => `${TABLE_START}\n\n${table}\n\n${TABLE_END}`;

/** The text between the README markers, trimmed, or null when the markers are missing. */
export function extractConfigSection(readme: string): string | null {
  const a = readme.indexOf(TABLE_START);
  const b = readme.indexOf(TABLE_END);
  if (a < 0 || b < a) return null;
  return readme.slice(a + TABLE_START.length, b).trim();
}

/** `readme` with the marked section replaced by `table`. */
export function withConfigSection(readme: string, table: string): string {
  const a = readme.indexOf(TABLE_START);
  const b = readme.indexOf(TABLE_END);
  if (a < 0 || b < a) throw new Error(`README lacks ${TABLE_START} … ${TABLE_END} markers`);
  return readme.slice(0, a) + section(table) + readme.slice(b + TABLE_END.length);
}

export const README_URL: URL = new URL("../README.md", import.meta.url);

if (import.meta.main) {
  const table = configTable(SCHEMA);
  if (Deno.args.includes("--write")) {
    const readme = Deno.readTextFileSync(README_URL);
    Deno.writeTextFileSync(README_URL, withConfigSection(readme, table));
    console.log(`wrote ${SCHEMA.length} rows to ${README_URL.pathname}`);
  } else {
    console.log(table);
  }
}
