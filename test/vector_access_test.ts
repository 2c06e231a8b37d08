// vec4 loads and stores (src/codegen/wgsl/vector_access.ts, pointwise_vector.ts): which index
// is read from which vec4 component, which bindings may be vectors, and pointwise kernels with
// four elements per invocation against the float64 reference — broadcasts along either dim,
// transposed operands read as scalars from a vector binding, bool and i32 outputs, in-place
// writes, a scatter into a vector-sized buffer, emulated f16 — each compared with the scalar
// kernel too.
import assert from "node:assert/strict";
import { compile, interpret, ops, type TypedArray } from "../src/mod.ts";
import type { TensorProxy } from "../src/fx/tracer.ts";
import { iadd, iconst, imul, ivar } from "../src/inductor/index_expr.ts";
import { VectorAccess, vectorBase, vectorBindingFits } from "../src/codegen/wgsl/vector_access.ts";
import { vectorDim } from "../src/codegen/wgsl/pointwise_vector.ts";
import { assertClose, freshSeed, randomArray, rng, type Tolerance } from "./helpers.ts";

Deno.test("vectorBase: element j of an aligned group is component j of vec4 (i - j) / 4", () => {
  const q = ivar("q", 256), x0 = ivar("x0", 64);
  const at = (j: number) => iadd(imul(x0, 1024), imul(q, 4), iconst(j));
  for (let j = 0; j < 4; j++) assert.equal(vectorBase(at(j), j)?.key, iadd(imul(x0, 256), q).key);
  // another element's offset, a stride of 2, an odd row length: not one vec4
  assert.equal(vectorBase(at(1), 0), null);
  assert.equal(vectorBase(iadd(imul(q, 8), iconst(2)), 2)?.key, imul(q, 2).key);
  assert.equal(vectorBase(iadd(imul(q, 2), iconst(1)), 1), null);
  assert.equal(vectorBase(iadd(imul(x0, 1023), imul(q, 4)), 0), null);
  // a broadcast operand (no q) is read from the vec4 holding it only at its own component
  assert.equal(vectorBase(imul(x0, 4), 0)?.key, x0.key);
  assert.equal(vectorBase(imul(x0, 4), 1), null);
});

Deno.test("vector bindings: 16-byte multiples of 4-byte dtypes, never empty", () => {
  assert.equal(vectorBindingFits("f32", 8), true);
  assert.equal(vectorBindingFits("i32", 4), true);
  assert.equal(vectorBindingFits("bool", 12), true);
  assert.equal(vectorBindingFits("f32", 6), false);
  assert.equal(vectorBindingFits("f32", 0), false);
  assert.equal(vectorBindingFits("f16", 8), false);
  assert.equal(vectorDim([3, 8]), 1);
  assert.equal(vectorDim([8, 1]), 0);
  assert.equal(vectorDim([8, 6]), -1);
  assert.equal(vectorDim([0, 8]), -1);
});

Deno.test("a binding with a scalar write is dropped in the second rendering", () => {
  const v = new VectorAccess("all");
  v.declared.add("t0").add("t1").add("t2");
  v.used.add("t0").add("t1");
  v.scalarWrites.add("t1");
  assert.deepEqual([...v.settled()!], ["t0"]);
  const w = new VectorAccess(new Set(["t0"]));
  w.declared.add("t0");
  w.used.add("t0");
  assert.equal(w.settled(), null, "final when every declared binding is used");
});

type Fn = (...xs: TensorProxy[]) => TensorProxy | TensorProxy[];
interface Case {
  name: string;
  fn: Fn;
  inputs: { shape: number[]; dtype?: "f32" | "i32" | "f16" }[];
  /** WGSL the vectorized kernels must contain. */
  expect?: RegExp;
  config?: Record<string, unknown>;
  tol?: Tolerance;
}

const F32: Tolerance = { atol: 1e-5, rtol: 1e-4 };
const CASES: Case[] = [
  {
    name: "gelu(x * a + b), a and b per column",
    fn: (x, a, b) => x.mul(a).add(b).gelu(),
    inputs: [{ shape: [6, 64] }, { shape: [64] }, { shape: [64] }],
    expect: /array<vec4<f32>>/,
  },
  {
    name: "a per-row operand (one scalar load shared by four elements)",
    fn: (x, r) => x.sub(r).exp(),
    inputs: [{ shape: [5, 12] }, { shape: [5, 1] }],
    expect: /vec4<f32>\(/,
  },
  {
    name: "x + x^T: one binding read as vec4 and as transposed scalars",
    fn: (x) => x.add(x.transpose(0, 1)),
    inputs: [{ shape: [8, 8] }],
    expect: /\) >> 2u\]\[\(/,
  },
  { name: "a comparison stored as bool", fn: (x) => x.gt(0.25), inputs: [{ shape: [3, 16] }] },
  {
    name: "i32 arithmetic",
    fn: (x) => x.mul(3).add(1),
    inputs: [{ shape: [4, 8], dtype: "i32" }],
    expect: /array<vec4<i32>>/,
  },
  {
    name: "innermost dim of 4 under a dim of 1",
    fn: (x) => x.neg(),
    inputs: [{ shape: [7, 4, 1] }],
  },
  {
    // four constant positions: the untaken operand's index is a negative constant
    name: "cat of [1] and [3] into one vec4",
    fn: (a, b) => ops.cat([a, b], 0),
    inputs: [{ shape: [1] }, { shape: [3] }],
  },
  { name: "odd innermost dim stays scalar", fn: (x) => x.abs(), inputs: [{ shape: [4, 6] }] },
  {
    name: "copy_ into an input, then read",
    fn: (x, y) => {
      x.copy_(y.mul(2));
      return x.add(1);
    },
    inputs: [{ shape: [3, 8] }, { shape: [8] }],
  },
  {
    name: "two outputs of different dtypes",
    fn: (x) => [x.relu(), x.gt(0).to("i32")],
    inputs: [{ shape: [2, 20] }],
  },
  {
    name: "emulated f16 output (two halves per word: stays in pairs)",
    fn: (x) => x.mul(1.5).to("f16"),
    inputs: [{ shape: [4, 8] }],
    config: { "inductor.f16Storage": "emulated" },
    tol: { atol: 2e-3, rtol: 2e-3 },
  },
  {
    name: "f16 input, f32 output",
    fn: (x) => x.to("f32").mul(2),
    inputs: [{ shape: [4, 8], dtype: "f16" }],
    tol: { atol: 2e-3, rtol: 2e-3 },
  },
];

async function runCase(c: Case, vectorize: boolean, seed: number): Promise<string> {
  const r = rng(seed);
  const xs = c.inputs.map((i) =>
    i.dtype === "i32"
      ? Int32Array.from({ length: i.shape.reduce((a, b) => a * b, 1) }, () => Math.floor(r() * 50))
      : randomArray(i.shape, i.dtype ?? "f32", r, -2, 2)
  );
  const cg = compile(c.fn, {
    inputs: c.inputs.map((i) => ({ shape: i.shape, dtype: i.dtype ?? "f32" })),
    config: { ...c.config, "inductor.vectorize": vectorize },
  });
  try {
    const got = await cg.run(xs.map((a) => a.slice()), { poison: true });
    const want = interpret(cg.graph, xs) as TypedArray[];
    got.forEach((g, i) => assertClose(g, want[i], c.tol ?? F32, `${c.name} output ${i}`));
    return cg.explain();
  } finally {
    await cg.disposeAsync();
  }
}

Deno.test("pointwise kernels with vec4 accesses match the reference and the scalar kernels", async (t) => {
  const seed = freshSeed();
  for (const c of CASES) {
    await t.step(`${c.name} (seed ${seed})`, async () => {
      const text = await runCase(c, true, seed);
      if (c.expect) assert.match(text, c.expect, "vectorized kernel");
      const scalar = await runCase(c, false, seed);
      assert.doesNotMatch(scalar, /vec4</, "inductor.vectorize=false");
    });
  }
});

Deno.test("a scatter (index_copy_) into a vector-sized buffer keeps scalar stores", async () => {
  const r = rng(freshSeed());
  const cache = randomArray([8, 4], "f32", r) as Float32Array;
  const rows = randomArray([2, 4], "f32", r) as Float32Array;
  const idx = new Int32Array([5, 1]);
  const cg = compile((c: TensorProxy, i: TensorProxy, s: TensorProxy) => {
    ops.index_copy_(c, 0, i, s);
    return c.mul(2);
  }, {
    inputs: [{ shape: [8, 4] }, { shape: [2], dtype: "i32" }, { shape: [2, 4] }],
  });
  try {
    const [got] = await cg.run([cache.slice(), idx, rows]);
    const [want] = interpret(cg.graph, [cache, idx, rows]) as TypedArray[];
    assertClose(got, want, F32, "index_copy_ then x2");
  } finally {
    await cg.disposeAsync();
  }
});
