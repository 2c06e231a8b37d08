// The README's decode loop, as a user writes it: weights as params, a [T, D] cache from zeros(),
// a step graph (x, pos) -> y that writes the step's key row into the cache at `pos`, compiled
// once and run for 64 steps. Every step matches the float64 reference run on the same sequence;
// only the step's activations and position cross to the GPU; liveBuffers() stays flat.
import assert from "node:assert/strict";
import { compile, liveBuffers, ops, tensor, type TensorProxy, zeros } from "../src/mod.ts";
import { getDevice } from "../src/runtime/device.ts";
import { interpretRef } from "../src/reference/interpreter.ts";
import type { RefTensor } from "../src/reference/tensor.ts";
import { assertClose, freshSeed, LOOSE, randomArray, rng } from "./helpers.ts";

const T = 64, D = 16;

/** One decode step: k = x Wk; cache[pos] = k; y = softmax(x Wq · cacheᵀ masked to ≤ pos) · cache. */
function step(
  x: TensorProxy,
  pos: TensorProxy,
  wq: TensorProxy,
  wk: TensorProxy,
  cache: TensorProxy,
) {
  const k = ops.matmul(x, wk); // [1, D]
  ops.index_copy_(cache, 0, pos, k);
  const q = ops.matmul(x, wq);
  // rows past pos are still zeros (scores 0): kept simple, the reference sees the same
  const scores = ops.mul(ops.matmul(q, ops.transpose(cache, 0, 1)), 1 / Math.sqrt(D)); // [1, T]
  return [ops.matmul(ops.softmax(scores, -1), cache)];
}

Deno.test("decode loop: 64 steps, weights as params, cache in place, reference-exact, flat memory", async () => {
  await getDevice();
  const base = liveBuffers().count;
  const r = rng(freshSeed());
  const wq = randomArray([D, D], "f32", r, -0.5, 0.5) as Float32Array;
  const wk = randomArray([D, D], "f32", r, -0.5, 0.5) as Float32Array;
  const cg = compile(step, {
    inputs: [
      { shape: [1, D], name: "x" },
      { shape: [1], dtype: "i32", name: "pos" },
      { shape: [D, D], name: "wq" },
      { shape: [D, D], name: "wk" },
      { shape: [T, D], name: "cache" },
    ],
    params: { wq: tensor(wq, [D, D], { name: "wq" }), wk },
  });
  const cache = zeros([T, D], { name: "cache" });
  await cg.prepare();
  // the reference's own cache, advanced by its own index_copy_ from step to step
  let refCache: RefTensor = { shape: [T, D], dtype: "f32", data: new Float64Array(T * D) };
  const ref = (a: ArrayLike<number>, shape: number[], dtype: "f32" | "i32" = "f32"): RefTensor => ({
    shape,
    dtype,
    data: Float64Array.from(a),
  });
  const perStep: number[] = [];
  const q = GPUQueue.prototype, write = q.writeBuffer;
  let bytes = 0;
  q.writeBuffer = function (this: GPUQueue, ...a: Parameters<GPUQueue["writeBuffer"]>) {
    bytes += a[4] ?? (a[2] as ArrayBufferView).byteLength;
    return write.apply(this, a);
  } as GPUQueue["writeBuffer"];
  try {
    for (let p = 0; p < T; p++) {
      const x = randomArray([1, D], "f32", r) as Float32Array;
      const pos = tensor(Int32Array.of(p), [1], { name: `pos${p}` }); // a new pos tensor each step
      bytes = 0;
      const [y] = await cg.run([x, pos, cache]);
      const stepBytes = bytes - 4; // the pos tensor's own upload happened at tensor()
      perStep.push(liveBuffers().count);
      const env = interpretRef(cg.graph, [
        ref(x, [1, D]),
        ref([p], [1], "i32"),
        ref(wq, [D, D]),
        ref(wk, [D, D]),
        refCache,
      ]);
      const phs = cg.graph.placeholders();
      refCache = env.get(phs[4])!;
      assertClose(y, env.get(cg.graph.outputs()[0])!.data, LOOSE, `step ${p}`);
      assert.ok(stepBytes <= x.byteLength, `step ${p} uploaded ${stepBytes} bytes`);
      pos.dispose();
    }
  } finally {
    q.writeBuffer = write;
  }
  assertClose(await cache.read(), refCache.data, LOOSE, "cache after 64 steps");
  assert.equal(new Set(perStep).size, 1, `liveBuffers() per step: ${perStep.join(",")}`);
  cache.dispose();
  await cg.disposeAsync();
  assert.equal(liveBuffers().count, base + 1, "only the caller's wq tensor is left");
});
