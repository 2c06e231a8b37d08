// README's config table must be exactly what configTable(SCHEMA) generates (DESIGN.md §3).
import assert from "node:assert/strict";
import { SCHEMA } from "../src/config.ts";
import {
  configTable,
  extractConfigSection,
  README_URL,
  withConfigSection,
} from "../src/config_table.ts";

const HINT =
  "README config table is stale; regenerate it with: deno run -A src/config_table.ts --write";

Deno.test("README config section equals configTable(SCHEMA)", () => {
  const readme = Deno.readTextFileSync(README_URL);
  const table = configTable(SCHEMA);
  assert.equal(extractConfigSection(readme), table, HINT);
  // Byte-exact, blank lines around the table included, so `deno fmt --check` stays clean.
  assert.equal(withConfigSection(readme, table), readme, HINT);
});

Deno.test("configTable lists every knob with its env vars and aliases", () => {
  const table = configTable(SCHEMA);
  const lines = table.split("\n");
  assert.equal(lines.length, SCHEMA.length + 2);
  for (const s of SCHEMA) {
    const row = lines.find((l) => l.startsWith(`| \`${s.key}\``));
    assert.ok(row, `no row for ${s.key}`);
    assert.ok(row.includes(`\`${s.env}\``), `${s.key} row lacks ${s.env}`);
    for (const a of s.envAliases ?? []) assert.ok(row.includes(`\`${a}\``), `${s.key} lacks ${a}`);
    assert.ok(row.includes(s.doc), `${s.key} row lacks its doc`);
  }
  // Every row padded to the same width, like `deno fmt` writes markdown tables.
  assert.equal(new Set(lines.map((l) => [...l].length)).size, 1);
});

Deno.test("configTable escapes pipes and shows enum values, minimums and defaults", () => {
  const table = configTable([{
    key: "runtime.mode",
    type: "enum",
    values: ["a", "b"],
    default: "a",
    env: "X_MODE",
    doc: "a | b",
  }, { key: "runtime.n", type: "int", default: 2, min: 1, env: "X_N", doc: "n" }]);
  assert.match(table, /enum: `a`, `b`/);
  assert.match(table, /a \\\| b/);
  assert.match(table, /`int` ≥ 1 +\| `2`/);
});

Deno.test("withConfigSection needs both markers", () => {
  assert.throws(() => withConfigSection("no markers", "t"), /config-table:start/);
  assert.equal(extractConfigSection("no markers"), null);
});
