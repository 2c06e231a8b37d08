// Outputs returned as Tensors are the buffers the kernels wrote, handed over instead of copied
// (src/runtime/executor.ts #takeOutputs): each run's Tensors keep their values after later runs,
// a disposed output's buffer is reused for a later output (device memory stays flat), the same
// output twice, an input returned and arena-planned outputs are still copies, an output fed back
// as the next run's input is right, and nothing leaks after the graph is disposed.
import assert from "node:assert/strict";
import { compile, liveBuffers, type Tensor, tensor } from "../src/mod.ts";
import type { TensorProxy } from "../src/fx/tracer.ts";

const x = (k: number) => new Float32Array(64).map((_, i) => i + k);

Deno.test("outputs as Tensors: each run's own values, disposed buffers reused, no leak", async () => {
  const before = liveBuffers().count;
  const cg = compile((a: TensorProxy) => a.mul(2).add(1), { inputs: [{ shape: [4, 16] }] });
  await cg.prepare();
  const [t1] = await cg.run([x(0)], { output: "tensor" });
  const [t2] = await cg.run([x(100)], { output: "tensor" });
  assert.deepEqual(await t1.read(), x(0).map((v) => 2 * v + 1), "first output kept");
  assert.deepEqual(await t2.read(), x(100).map((v) => 2 * v + 1));
  t1.dispose();
  t2.dispose();
  const counts: number[] = [];
  for (let k = 0; k < 4; k++) {
    const [t] = await cg.run([x(k)], { output: "tensor" });
    assert.deepEqual(await t.read(), x(k).map((v) => 2 * v + 1), `run ${k}`);
    t.dispose();
    counts.push(liveBuffers().count);
  }
  assert.equal(new Set(counts).size, 1, `live buffers per run: ${counts.join(",")}`);
  const [kept] = await cg.run([x(7)], { output: "tensor" });
  await cg.disposeAsync();
  assert.deepEqual(await kept.read(), x(7).map((v) => 2 * v + 1), "outlives its graph");
  kept.dispose();
  assert.equal(liveBuffers().count, before, "nothing left after the graph and its outputs");
});

Deno.test("the same output twice, an input returned, a fed-back output, arena planning", async () => {
  // y = 0.5 a + 0.01 * rowsum(tanh(a)): bounded, so it can be fed back step after step
  const f = (h: Float32Array) =>
    h.map((v, i) => {
      const row = Math.floor(i / 16);
      let s = 0;
      for (let j = 0; j < 16; j++) s += Math.tanh(h[row * 16 + j]);
      return 0.5 * v + 0.01 * s;
    });
  for (const memoryPlanning of [false, true]) {
    const cg = compile((a: TensorProxy) => {
      const y = a.tanh().sum(-1, true).mul(0.01).add(a.mul(0.5));
      return [y, y, a];
    }, { inputs: [{ shape: [4, 16] }], config: { "inductor.memoryPlanning": memoryPlanning } });
    try {
      let host: Float32Array = x(0).map((v) => v / 16);
      let input: Tensor = tensor(host, [4, 16]);
      for (let step = 0; step < 4; step++) {
        const [y1, y2, same] = await cg.run([input], { output: "tensor" });
        assert.notEqual(y1, y2);
        y2.dispose(); // disposing one of the two leaves the other
        assert.deepEqual(await same.read(), host, "the input returned");
        same.dispose();
        input.dispose();
        const want = f(host);
        const got = await y1.read() as Float32Array;
        got.forEach((v, i) =>
          assert.ok(
            Math.abs(v - want[i]) <= 1e-5 + 1e-4 * Math.abs(want[i]),
            `step ${step}, arena ${memoryPlanning}, element ${i}: ${v}, expected ${want[i]}`,
          )
        );
        // the output (a handed-over buffer) is the next run's input
        input = y1;
        host = got;
      }
      input.dispose();
    } finally {
      await cg.disposeAsync();
    }
  }
});
