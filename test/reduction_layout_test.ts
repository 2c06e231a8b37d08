// Reduction layouts (src/codegen/wgsl/reduction_layout.ts): every layout — one workgroup per
// row, one invocation per row, several rows of several lanes (with a partial last workgroup) —
// with and without vec4 steps, on sums, max/min with NaN and infinities, argmax with ties,
// softmax, layer and RMS norm, several outputs and a reduction over a strided dim, against the
// float64 reference interpreter. Plus the layout choice by shape and adapter class.
import assert from "node:assert/strict";
import { compile, interpret, type TypedArray } from "../src/mod.ts";
import type { TensorProxy } from "../src/fx/tracer.ts";
import type { IRBuffer, ReductionDef } from "../src/inductor/ir.ts";
import {
  chooseReductionLayout,
  describeLayout,
  forcedLayout,
  hasRowInvariantLoad,
  layoutCandidates,
  type ReductionShape,
} from "../src/codegen/wgsl/reduction_layout.ts";
import { ConfigError } from "../src/errors.ts";
import { assertClose, freshSeed, LOOSE, randomArray, rng } from "./helpers.ts";

/** n values uniform in [-3, 3). */
const uniform = (n: number, seed: number) =>
  randomArray([n], "f32", rng(seed), -3, 3) as Float32Array;

type Fn = (...xs: TensorProxy[]) => TensorProxy | TensorProxy[];
interface Case {
  name: string;
  fn: Fn;
  shapes: number[][];
  /** Inputs (default: uniform in [-3, 3]); the seed varies per run. */
  data?: (seed: number) => Float32Array[];
}

/** Values with NaN, ±inf and ties planted in some rows. */
function special(rows: number, cols: number, seed: number): Float32Array {
  const a = uniform(rows * cols, seed);
  a[1 * cols + 5] = NaN; // row 1: NaN in the middle
  a[2 * cols + cols - 1] = Infinity; // row 2: +inf last
  for (let j = 0; j < cols; j++) a[3 * cols + j] = -Infinity; // row 3: all -inf
  a[4 * cols + 2] = a[4 * cols + cols - 2] = 7; // row 4: a tie for the max
  a[5 * cols] = NaN; // row 5: NaN first and last
  a[5 * cols + cols - 1] = NaN;
  return a;
}

const CASES: Case[] = [
  { name: "sum [13, 40]", fn: (x) => x.sum(-1), shapes: [[13, 40]] },
  { name: "sum [6, 37] (odd row)", fn: (x) => x.sum(-1), shapes: [[6, 37]] },
  { name: "sum [3, 2, 48] over two dims", fn: (x) => x.sum([1, 2]), shapes: [[3, 2, 48]] },
  { name: "sum over a strided dim [40, 12]", fn: (x) => x.sum(0), shapes: [[40, 12]] },
  {
    name: "max, min with NaN and inf [9, 64]",
    fn: (x) => [x.max(-1), x.min(-1)],
    shapes: [[9, 64]],
    data: (s) => [special(9, 64, s)],
  },
  {
    // (NaN in argmax is the special-values work's, not a layout's)
    name: "argmax with ties and infinities [7, 36]",
    fn: (x) => x.argmax(-1),
    shapes: [[7, 36]],
    data: (s) => [special(7, 36, s).map((v) => (Number.isNaN(v) ? 1 : v))],
  },
  {
    name: "softmax with a NaN row and an all -inf row [10, 128]",
    fn: (x) => x.softmax(-1),
    shapes: [[10, 128]],
    data: (s) => [special(10, 128, s)],
  },
  {
    name: "layer norm [11, 96]",
    fn: (x, w, b) => x.layerNorm([96], w, b, 1e-5),
    shapes: [[11, 96], [96], [96]],
  },
  { name: "rms norm [5, 256]", fn: (x, w) => x.rmsNorm([256], w, 1e-5), shapes: [[5, 256], [256]] },
  {
    name: "row sums and softmax in one kernel [9, 44]",
    fn: (x) => [x.sum(-1), x.softmax(-1), x.mean(-1).add(1)],
    shapes: [[9, 44]],
  },
  { name: "matvec [70, 64] x [64, 1]", fn: (w, x) => w.matmul(x), shapes: [[70, 64], [64, 1]] },
];

const LAYOUTS = [
  "auto",
  "tree",
  "serial",
  "8x1",
  "4x16",
  "16x4",
  "8x8",
  "1x8",
  "2x32",
  "64x1x4",
  "8x1x2",
];

async function check(c: Case, config: Record<string, unknown>, seed: number): Promise<void> {
  const inputs = c.data?.(seed) ??
    c.shapes.map((s, i) => uniform(s.reduce((a, b) => a * b, 1), seed + i));
  const specs = c.shapes.map((shape) => ({ shape, dtype: "f32" as const }));
  const cg = compile(c.fn, { inputs: specs, config });
  try {
    const got = await cg.run(inputs.map((a) => a.slice()), { poison: true });
    const want = interpret(cg.graph, inputs) as TypedArray[];
    got.forEach((g, i) =>
      assertClose(g, want[i], LOOSE, `${c.name} ${JSON.stringify(config)} output ${i}`)
    );
  } finally {
    await cg.disposeAsync();
  }
}

Deno.test("every reduction layout, with and without vec4, matches the reference", async (t) => {
  const seed = freshSeed();
  for (const layout of LAYOUTS) {
    for (const vectorize of [true, false]) {
      await t.step(`${layout}${vectorize ? "" : " scalar"} (seed ${seed})`, async () => {
        for (const c of CASES) {
          await check(
            c,
            { "inductor.reductionLayout": layout, "inductor.vectorize": vectorize },
            seed,
          );
        }
      });
    }
  }
});

Deno.test("layouts with emulated f16 storage match the reference", async () => {
  const seed = freshSeed();
  for (const layout of ["auto", "4x16", "serial"]) {
    const x = uniform(9 * 64, seed);
    const cg = compile((a: TensorProxy) => a.softmax(-1).to("f16"), {
      inputs: [{ shape: [9, 64], dtype: "f32" }],
      config: { "inductor.reductionLayout": layout, "inductor.f16Storage": "emulated" },
    });
    try {
      const [got] = await cg.run([x]);
      const [want] = interpret(cg.graph, [x]) as TypedArray[];
      assertClose(got, want, { atol: 2e-3, rtol: 2e-3 }, `f16 softmax, layout ${layout}`);
    } finally {
      await cg.disposeAsync();
    }
  }
});

const shape = (rows: number, rlen: number, cls: "cpu" | "gpu"): ReductionShape => ({
  rows,
  rlen,
  vectorizable: rlen % 4 === 0,
  wgMax: cls === "cpu" ? 64 : 256,
  adapterClass: cls,
});

Deno.test("layout choice by shape and adapter class", () => {
  const d = (r: number, n: number, c: "cpu" | "gpu") =>
    describeLayout(chooseReductionLayout(shape(r, n, c)));
  // GPUs: one workgroup per row, as wide as the row's vec4 steps
  assert.equal(d(4096, 1024, "gpu"), "tree 256, vec4");
  assert.equal(d(4096, 200, "gpu"), "tree 64, vec4");
  assert.equal(d(4096, 201, "gpu"), "tree 256");
  // CPU adapters: one invocation per row, at least 8 workgroups; few rows share 8 lanes
  assert.equal(d(4096, 1024, "cpu"), "serial 64, vec4");
  assert.equal(d(128, 1024, "cpu"), "serial 16, vec4");
  assert.equal(d(32, 1024, "cpu"), "serial 4, vec4");
  assert.equal(d(8, 65536, "cpu"), "tree 8, vec4");
  // a row-invariant operand (matvec's x, a norm's weight): four rows per invocation
  const inv = (r: number) =>
    describeLayout(chooseReductionLayout({ ...shape(r, 1024, "cpu"), rowInvariant: true }));
  assert.equal(inv(4096), "serial 64, 4 rows per invocation, vec4");
  assert.equal(inv(128), "serial 16, vec4", "workgroups of at least 8 invocations");
  // short rows: one invocation per row everywhere
  assert.equal(d(100, 20, "gpu"), "serial 64, vec4");
  assert.equal(d(100, 30, "cpu"), "serial 64");
});

Deno.test("row-invariant operands: matvec's x and a norm's weight, not softmax's input", () => {
  const members = (fn: Parameters<typeof compile>[0], shapes: number[][]) => {
    const cg = compile(fn, { inputs: shapes.map((shape) => ({ shape })) });
    // deno-lint-ignore no-explicit-any
    const p = (cg as any).program;
    for (const w of [p.main, ...p.partitions.values()]) {
      for (const l of w.lines) {
        if (l.op !== "kernel") continue;
        const ms: IRBuffer[] = l.node.members;
        if (!ms.some((m) => m.def.kind === "reduction")) continue;
        const red = ms.find((m) => m.def.kind === "reduction")!.def as ReductionDef;
        return hasRowInvariantLoad(ms, red);
      }
    }
    throw new Error("no reduction kernel");
  };
  assert.equal(members((w, x) => w.matmul(x), [[64, 128], [128, 1]]), true);
  assert.equal(members((x, w) => x.rmsNorm([32], w, 1e-5), [[8, 32], [32]]), true);
  assert.equal(members((x) => x.softmax(-1), [[8, 32]]), false);
  assert.equal(members((x) => x.sum(-1), [[8, 32]]), false);
});

Deno.test("autotune candidates start with the chosen layout and are distinct", () => {
  const s = shape(4096, 1024, "cpu");
  const c = layoutCandidates(s);
  assert.deepEqual(c[0], chooseReductionLayout(s));
  assert.equal(new Set(c.map(describeLayout)).size, c.length);
  assert.ok(c.some((l) => l.rows === 1 && l.lanes > 1), "a tree candidate");
  assert.ok(c.some((l) => l.vec === 1), "a scalar candidate");
});

Deno.test("inductor.reductionLayout values", () => {
  const s = shape(100, 1024, "gpu");
  assert.equal(forcedLayout("auto", s), null);
  assert.deepEqual(forcedLayout("4x16", s), { rows: 4, lanes: 16, vec: 4 });
  assert.deepEqual(forcedLayout("serial", s), { rows: 64, lanes: 1, vec: 4 });
  assert.deepEqual(forcedLayout("64x1x4", s), { rows: 64, lanes: 1, vec: 4, perLane: 4 });
  for (const bad of ["3x16", "4x", "32x16", "fast", "4x16x2", "4x1x8"]) {
    assert.throws(() => forcedLayout(bad, s), ConfigError, bad);
  }
});
