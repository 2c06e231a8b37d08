// The import graph of src/: every `import ... from`, `import "..."` and `export ... from`
// specifier of every src/**/*.ts file (type-only imports count too: they tie a reader's
// understanding of one layer to another just as value imports do), and its import circles.
// test/import_cycles_test.ts fails on any circle (between files or between src/ folders);

/** Module path (relative to the repository root, "/"-separated) → the modules it imports. */
export type ImportGraph = Map<string, string[]>;

const SPECIFIER =
  /(?:^|[;\s])(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?["']([^"']+)["']/gm;

/** The relative specifiers one TypeScript source imports or re-exports (comments skipped). */
export function importSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const out: string[] = [];
  for (const m of code.matchAll(SPECIFIER)) if (m[1].startsWith(".")) out.push(m[1]);
  return out;
}

function joinPath(fromFile: string, spec: string): string {
  const parts = fromFile.split("/").slice(0, -1);
  for (const seg of spec.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") parts.pop();
    else parts.push(seg);
  }
  return parts.join("/");
}

async function listTs(dir: string, out: string[]): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) await listTs(p, out);
    else if (e.isFile && e.name.endsWith(".ts")) out.push(p);
  }
}

/** Reads every .ts file under `root` (e.g. "src") into its import graph (edges inside `root`). */
export async function readImportGraph(root: string): Promise<ImportGraph> {
  const files: string[] = [];
  await listTs(root, files);
  files.sort();
  const known = new Set(files);
  const graph: ImportGraph = new Map();
  for (const f of files) {
    const deps = importSpecifiers(await Deno.readTextFile(f))
      .map((s) => joinPath(f, s))
      .filter((d) => known.has(d));
    graph.set(f, [...new Set(deps)].sort());
  }
  return graph;
}

/**
 * Each import circle as a path `a → b → … → a`: one shortest circle through the first module of
 * every strongly connected component with more than one module (or a module importing itself).
 */
export function importCycles(graph: ImportGraph): string[][] {
  // Tarjan's strongly connected components, iteratively deep enough for this graph's size
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const comps: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      comps.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  const cycles: string[][] = [];
  for (const comp of comps) {
    const inComp = new Set(comp);
    const start = comp[0];
    if (comp.length === 1 && !(graph.get(start) ?? []).includes(start)) continue;
    // breadth-first from start back to start, inside the component
    const prev = new Map<string, string>();
    const queue = [start];
    let end: string | undefined;
    while (queue.length > 0 && end === undefined) {
      const v = queue.shift()!;
      for (const w of graph.get(v) ?? []) {
        if (!inComp.has(w)) continue;
        if (w === start) {
          end = v;
          break;
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    const path = [start];
    for (let v = end!; v !== start; v = prev.get(v)!) path.splice(1, 0, v);
    path.push(start);
    cycles.push(path);
  }
  return cycles.sort((a, b) => a[0].localeCompare(b[0]));
}

if (import.meta.main) {
  const cycles = importCycles(await readImportGraph("src"));
  for (const c of cycles) console.log(c.join(" → "));
  console.log(`${cycles.length} import circle(s)`);
}
