// vllm::unified_attention_with_output on WebGPU (one-pass online softmax, one invocation per query
// row) against the float64 reference: head dims 64 and 128, causal and not, f32 and f16.
import assert from "node:assert/strict";
import { ATTENTION_OP, compile, type DType, interpret, ops } from "../src/mod.ts";
import { assertClose, freshSeed, randomArray, rng } from "./helpers.ts";

const CASES: { shape: number[]; dtype: DType; causal: boolean }[] = [
  { shape: [1, 2, 7, 64], dtype: "f32", causal: true },
  { shape: [2, 1, 5, 64], dtype: "f32", causal: false },
  { shape: [1, 2, 9, 128], dtype: "f32", causal: true },
  { shape: [1, 1, 6, 128], dtype: "f32", causal: false },
  { shape: [1, 2, 8, 64], dtype: "f16", causal: true },
  { shape: [1, 1, 5, 128], dtype: "f16", causal: false },
];

for (const c of CASES) {
  Deno.test(`attention ${c.dtype} ${JSON.stringify(c.shape)} causal=${c.causal}`, async () => {
    const seed = freshSeed();
    const cg = compile((q, k, v) => {
      const out = ops.emptyLike(q);
      ops.call(ATTENTION_OP, [q, k, v, out], { causal: c.causal });
      return out.add(0);
    }, { inputs: [0, 1, 2].map(() => ({ shape: c.shape, dtype: c.dtype })) });
    try {
      // the op writes `out` on the GPU: no host step
      assert.equal(cg.stats.hostOps, 0);
      const r = rng(seed);
      const inputs = [0, 1, 2].map(() => randomArray(c.shape, c.dtype, r, -1, 1));
      const [got] = await cg.run(inputs, { poison: true });
      const [want] = interpret(cg.graph, inputs);
      const tol = c.dtype === "f16" ? { atol: 4e-3, rtol: 4e-3 } : { atol: 2e-5, rtol: 2e-4 };
      assertClose(got, want, tol, `attention (seed ${seed})`);
    } finally {
      await cg.disposeAsync();
    }
  });
}

Deno.test("attention: mismatched shapes are a ShapeError naming the op and shapes", () => {
  assert.throws(
    () =>
      compile((q, k) => {
        const out = ops.emptyLike(q);
        ops.call(ATTENTION_OP, [q, k, k, out]);
        return out;
      }, { inputs: [{ shape: [1, 4, 8] }, { shape: [1, 5, 8] }] }),
    /vllm::unified_attention_with_output: q \[1, 4, 8\], k \[1, 5, 8\]/,
  );
});

Deno.test("attention: a NaN in k makes its query rows NaN, as in the reference", async () => {
  const shape = [1, 1, 4, 64];
  const cg = compile((q, k, v) => {
    const out = ops.emptyLike(q);
    ops.call(ATTENTION_OP, [q, k, v, out], { causal: true });
    return out.add(0);
  }, { inputs: [0, 1, 2].map(() => ({ shape })) });
  try {
    const r = rng(7);
    const inputs = [0, 1, 2].map(() => randomArray(shape, "f32", r, -1, 1) as Float32Array);
    inputs[1][2 * 64 + 5] = NaN; // key 2: rows 2 and 3 attend to it (causal)
    const [got] = await cg.run(inputs, { poison: true });
    const [want] = interpret(cg.graph, inputs);
    const nanRows = [0, 1, 2, 3].map((i) => Number.isNaN(want[i * 64]));
    assert.deepEqual(nanRows, [false, false, true, true]);
    assert.deepEqual([0, 1, 2, 3].map((i) => Number.isNaN(got[i * 64])), nanRows);
  } finally {
    await cg.disposeAsync();
  }
});
