// Differential tests (DESIGN.md §7): random graphs from test/gen/random_graph.ts, each compiled
// in eager mode (one kernel per op) and in the default (fusing) mode, run on WebGPU with every
// buffer poisoned (NaN) first, and compared with the float64 reference interpreter:
// eager vs reference, fused vs reference and fused vs eager, with the per-output tolerances
// the generator states (random_graph.ts BASE_TOLERANCE; integer/bool outputs exactly). About a
// third of the float graphs carry special values (NaN, ±inf, ±0, huge, tiny inputs; 0, -0, ±1,
// ±inf, NaN literals): every comparison is NaN-aware (NaN must match NaN, infinities match
// exactly) and, where the generator says torch pins it down, the sign of zero must match.
//
// Seeds: a base seed fresh per run (TEST_SEED pins it); graph i uses graphSeed(base, i) for
// both its program and its input values. A failure prints the graph seed, the generator's
// program, graph.print(), the fused graph's explain() and one-line commands to reproduce it.
//
//   DIFF_SEED=<graph seed>   run just that graph
//   DIFF_COUNT=<n>           graphs per run (default 200)
//   DIFF_KNOWN_BUGS=1        also generate the constructs KNOWN_BUG_EXCLUDE leaves out
import { compile, type CompiledGraph, getDevice, interpret, type TypedArray } from "../src/mod.ts";
import { trace } from "../src/fx/tracer.ts";
import { validateGraph } from "../src/fx/validate.ts";
import { assertSameValues, freshSeed } from "./helpers.ts";
import { type RandomGraph, randomGraph, randomInputs } from "./gen/random_graph.ts";

const BASE_SEED = freshSeed();
const ONLY = Deno.env.get("DIFF_SEED");
const COUNT = Number(Deno.env.get("DIFF_COUNT") ?? 200);
const BLOCK = 50;
const CMD = (Deno.env.get("DIFF_KNOWN_BUGS") ? "DIFF_KNOWN_BUGS=1 " : "") +
  "npx -y deno@2.9.6 test -A test/differential_test.ts";

/** KNOWN_BUG switches: generator features (or families) left out until the compiler is
 * fixed. Each entry names the bug it hides; empty when none is known. (The five found when
 * this suite was written — missing `enable f16`, reads before an in-place write, a constant
 * negative cat index, zero-byte writes, compiles failing after a failed one — are fixed.) */
const KNOWN_BUG_EXCLUDE: string[] = [];

/** Graph i's seed: a 31-bit hash of (base, i). */
export function graphSeed(base: number, i: number): number {
  let h = (base ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) & 0x7fffffff;
}

/** Input values of a graph: a different stream from the program's, same seed. */
const dataSeed = (seed: number) => (seed ^ 0x27d4eb2f) >>> 0;

const EXCLUDE = Deno.env.get("DIFF_KNOWN_BUGS") ? [] : KNOWN_BUG_EXCLUDE;
/** Whether the adapter has shader-f16 (wgpu's GL adapter has not): without it, no f16. */
let f16 = true;
const gen = (seed: number) => randomGraph(seed, { exclude: EXCLUDE, f16 });

interface Outcome {
  kind: string;
  special: boolean;
  /** Output elements that were NaN or infinite in the reference. */
  nonFinite: number;
  features: string[];
  nodes: number;
  outputs: number;
  kernelsEager: number;
  kernelsFused: number;
  hostOps: number;
}

const stats: Outcome[] = [];

function isFloatArray(a: TypedArray) {
  return a instanceof Float32Array || a instanceof Float16Array;
}

/** NaN and infinite elements of the float outputs. */
function nonFinite(outs: TypedArray[]): number {
  let n = 0;
  for (const o of outs) if (isFloatArray(o)) { for (const v of o) if (!Number.isFinite(v)) n++; }
  return n;
}

async function checkGraph(seed: number, context: string): Promise<Outcome> {
  f16 = (await getDevice()).hasF16;
  const g: RandomGraph = gen(seed);
  let eager: CompiledGraph | null = null;
  let fused: CompiledGraph | null = null;
  const problems: string[] = [];
  let refOut: TypedArray[] = [];
  const threw = (label: string, err: unknown) => {
    const msg = (err as Error)?.stack ?? String(err);
    problems.push(
      `${label} threw: ${msg}` +
        (msg.includes("uncaptured WebGPU error")
          ? "\n    (an uncaptured error may belong to the graph that ran before this one)"
          : ""),
    );
  };
  try {
    const inputs = randomInputs(g, dataSeed(seed));
    let ref: TypedArray[] | null = null;
    let e: TypedArray[] | null = null;
    let f: TypedArray[] | null = null;
    try {
      ref = interpret(trace(g.fn, g.inputs), inputs.map((a) => a.slice()));
      refOut = ref;
      ref.forEach((r, i) => {
        if (!g.special && isFloatArray(r) && r.some((v) => !Number.isFinite(v))) {
          problems.push(`generator: reference output ${i} is not finite (a generator bug)`);
        }
      });
    } catch (err) {
      threw("reference", err);
    }
    try {
      eager = compile(g.fn, { inputs: g.inputs, mode: "eager" });
      e = await eager.run(inputs.map((a) => a.slice()), { poison: true });
    } catch (err) {
      threw("eager", err);
    }
    try {
      fused = compile(g.fn, { inputs: g.inputs, mode: "default" });
      f = await fused.run(inputs.map((a) => a.slice()), { poison: true });
    } catch (err) {
      threw("fused", err);
    }
    const compare = (got: TypedArray[] | null, want: TypedArray[] | null, label: string) => {
      if (!got || !want) return;
      if (got.length !== want.length) {
        problems.push(`${label}: ${got.length} outputs, expected ${want.length}`);
        return;
      }
      got.forEach((a, i) => {
        if (a.constructor !== want[i].constructor) {
          problems.push(
            `${label} output ${i}: ${a.constructor.name}, expected ${want[i].constructor.name}`,
          );
          return;
        }
        try {
          assertSameValues(a, want[i], g.tolerances[i], `${label} output ${i}`, {
            zeroSign: g.zeroSign[i],
          });
        } catch (err) {
          problems.push((err as Error).message);
        }
      });
    };
    compare(e, ref, "eager vs reference");
    compare(f, ref, "fused vs reference");
    compare(f, e, "fused vs eager");
  } finally {
    await eager?.disposeAsync().catch(() => {});
    await fused?.disposeAsync().catch(() => {});
  }
  if (problems.length) throw new Error(report(seed, context, g, eager, fused, problems));
  return {
    kind: g.kind,
    special: g.special,
    nonFinite: nonFinite(refOut),
    features: g.features,
    nodes: eager!.graph.nodes.filter((n) => n.kind === "call_function").length,
    outputs: g.tolerances.length,
    kernelsEager: eager!.stats.kernels,
    kernelsFused: fused!.stats.kernels,
    hostOps: fused!.stats.hostOps,
  };
}

function report(
  seed: number,
  context: string,
  g: RandomGraph,
  eager: CompiledGraph | null,
  fused: CompiledGraph | null,
  problems: string[],
): string {
  let printed: string;
  try {
    printed = (eager ?? fused)?.graph.print() ?? trace(g.fn, g.inputs).print();
  } catch (err) {
    printed = `(trace failed: ${(err as Error).message})`;
  }
  let explain = "(fused graph did not compile)";
  try {
    if (fused) explain = fused.explain();
  } catch (err) {
    explain = `(explain() threw: ${(err as Error).message})`;
  }
  return [
    `differential mismatch: graph seed ${seed} (${context})`,
    ...problems.map((p) => `  - ${p}`),
    `reproduce this graph:  DIFF_SEED=${seed} ${CMD}`,
    context.startsWith("base")
      ? `reproduce the run:     TEST_SEED=${BASE_SEED} ${CMD} --filter "${blockName(context)}"`
      : "",
  ].filter(Boolean).concat([
    "--- generator program ---",
    g.describe,
    "--- graph.print() ---",
    printed,
    "--- fused explain() ---",
    explain,
  ]).join("\n");
}

function blockName(context: string): string {
  const i = Number(/#(\d+)/.exec(context)?.[1] ?? 0);
  const lo = Math.floor(i / BLOCK) * BLOCK;
  return `differential: graphs ${lo}-${Math.min(lo + BLOCK, COUNT) - 1}`;
}

Deno.test("random graphs: deterministic per seed, and trace/validate/interpret cleanly", () => {
  const base = ONLY ? Number(ONLY) : BASE_SEED;
  for (let i = 0; i < 300; i++) {
    const seed = ONLY ? base : graphSeed(base, i + 1_000_000);
    const a = gen(seed), b = gen(seed);
    const ga = trace(a.fn, a.inputs), gb = trace(b.fn, b.inputs);
    const where = `graph seed ${seed} (reproduce: DIFF_SEED=${seed} ${CMD})`;
    if (a.describe !== b.describe || ga.print() !== gb.print()) {
      throw new Error(`${where}: not deterministic\n${a.describe}\n---\n${b.describe}`);
    }
    try {
      validateGraph(ga);
      const out = interpret(ga, randomInputs(a, dataSeed(seed)));
      out.forEach((o, k) => {
        if (!a.special && isFloatArray(o) && o.some((v) => !Number.isFinite(v))) {
          throw new Error(`reference output ${k} is not finite`);
        }
      });
    } catch (err) {
      throw new Error(`${where}: ${(err as Error).message}\n${a.describe}\n${ga.print()}`);
    }
    if (ONLY) break;
  }
});

if (ONLY) {
  Deno.test(`differential: graph seed ${ONLY}`, async () => {
    const seed = Number(ONLY);
    const o = await checkGraph(seed, `DIFF_SEED ${seed}`);
    console.log(gen(seed).describe);
    console.log(`kernels: eager ${o.kernelsEager}, fused ${o.kernelsFused}, host ops ${o.hostOps}`);
  });
} else {
  for (let lo = 0; lo < COUNT; lo += BLOCK) {
    const hi = Math.min(lo + BLOCK, COUNT);
    Deno.test(`differential: graphs ${lo}-${hi - 1}`, async (t) => {
      for (let i = lo; i < hi; i++) {
        const seed = graphSeed(BASE_SEED, i);
        await t.step(`#${i} seed ${seed}`, async () => {
          stats.push(await checkGraph(seed, `base seed ${BASE_SEED}, graph #${i}`));
        });
      }
    });
  }

  Deno.test("differential: graph mix statistics", () => {
    if (stats.length === 0) return; // filtered run
    // Graphs using each feature, and each family (the part before ':').
    const feature = new Map<string, number>();
    const family = new Map<string, number>();
    const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
    for (const s of stats) {
      s.features.forEach((f) => bump(feature, f));
      new Set(s.features.map((f) => f.split(":")[0])).forEach((f) => bump(family, f));
    }
    const sum = (f: (s: Outcome) => number) => stats.reduce((a, s) => a + f(s), 0);
    const kinds = ["f32", "i32", "f16"].map((k) =>
      `${k} ${stats.filter((s) => s.kind === k).length}`
    );
    const special = stats.filter((s) => s.special);
    const table = [...family.keys()].sort().flatMap((fam) => {
      const members = [...feature.entries()].filter(([f]) => f.split(":")[0] === fam && f !== fam)
        .sort((a, b) => a[0].localeCompare(b[0]));
      return [
        `    ${fam.padEnd(30)} ${family.get(fam)}`,
        ...members.map(([f, n]) => `      ${f.padEnd(28)} ${n}`),
      ];
    });
    console.log([
      `differential: ${stats.length} graphs passed (base seed ${BASE_SEED}); kinds: ${
        kinds.join(", ")
      }`,
      `  nodes ${sum((s) => s.nodes)}, outputs ${sum((s) => s.outputs)}, kernels eager ` +
      `${sum((s) => s.kernelsEager)} vs fused ${sum((s) => s.kernelsFused)}, host ops ` +
      `${sum((s) => s.hostOps)}`,
      `  with special values: ${special.length} graphs, ${
        special.filter((s) => s.nonFinite > 0).length
      } with NaN/inf outputs (${sum((s) => s.nonFinite)} elements)`,
      `  excluded (KNOWN_BUG): ${EXCLUDE.join(", ") || "none"}`,
      "  graphs using each feature family / feature:",
      ...table,
    ].join("\n"));
    if (stats.length < COUNT) return;
    // The mix itself is under test: every family must show up in a full run.
    const need = [
      "unary",
      "binary",
      "reduce",
      "view",
      "matmul",
      "norm",
      "custom",
      "cast",
      "where",
      "cat",
      "mutate",
    ];
    const missing = need.filter((f) => !EXCLUDE.includes(f) && (family.get(f) ?? 0) < COUNT / 40);
    if (missing.length) throw new Error(`graph mix too thin for: ${missing.join(", ")}`);
    // and special values must show up in the outputs, not only in the inputs
    if (special.length < COUNT / 6 || special.filter((s) => s.nonFinite > 0).length < COUNT / 20) {
      throw new Error(`too few graphs with special values reaching the outputs`);
    }
  });
}
