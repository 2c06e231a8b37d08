// No import circles in src/: neither between files nor between the layers (the top-level folders
// and files of src/: fx → inductor → codegen → runtime, the reference interpreter beside fx).
// Type-only imports count. tools/import_graph.ts parses the specifiers.
import assert from "node:assert/strict";
import { importCycles, importSpecifiers, readImportGraph } from "../tools/import_graph.ts";

const SRC = new URL("../src", import.meta.url).pathname.replace(/\/$/, "");

function relative(graph: Map<string, string[]>): Map<string, string[]> {
  const cut = (p: string) => "src" + p.slice(SRC.length);
  return new Map([...graph].map(([k, v]) => [cut(k), v.map(cut)]));
}

Deno.test("import specifiers: import, import type, export from, side-effect import; not comments", () => {
  const src = `// import { x } from "./commented.ts";
import { a } from "./a.ts";
import type { B } from "../b.ts";
export { c } from "./c.ts";
export * from "./d.ts";
import "./e.ts";
import {
  f,
  type G,
} from "./f.ts";
/* import { h } from "./h.ts"; */
import { npm } from "npm:semver";
`;
  assert.deepEqual(importSpecifiers(src), [
    "./a.ts",
    "../b.ts",
    "./c.ts",
    "./d.ts",
    "./e.ts",
    "./f.ts",
  ]);
});

Deno.test("importCycles finds a circle and names its path", () => {
  const g = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
  assert.deepEqual(importCycles(g), [["a", "b", "c", "a"]]);
  assert.deepEqual(importCycles(new Map([["a", ["b"]], ["b", []]])), []);
});

Deno.test("no import circle among src/ files", async () => {
  const cycles = importCycles(relative(await readImportGraph(SRC)));
  assert.deepEqual(
    cycles.map((c) => c.join(" → ")),
    [],
    "import circles (break each by moving the shared type or function to the lower module)",
  );
});

Deno.test("no import circle among src/ layers (top-level folders and files)", async () => {
  const files = relative(await readImportGraph(SRC));
  const layer = (f: string) => f.split("/").slice(0, 2).join("/");
  const layers = new Map<string, string[]>();
  const example = new Map<string, string>();
  for (const [f, deps] of files) {
    for (const d of deps) {
      const a = layer(f), b = layer(d);
      if (a === b) continue;
      if (!layers.has(a)) layers.set(a, []);
      if (!layers.get(a)!.includes(b)) layers.get(a)!.push(b);
      example.set(`${a}|${b}`, `${f} imports ${d}`);
    }
  }
  const cycles = importCycles(layers).map((c) =>
    c.join(" → ") + " (" +
    c.slice(1).map((b, i) => example.get(`${c[i]}|${b}`)).join("; ") + ")"
  );
  assert.deepEqual(cycles, [], "layer circles");
});
