// Memory planning: reuse planning (memoryPlanReuse) and arena planning (inductor.memoryPlanning,
// upstream memory_planning) give the same numbers as no planning, with less device memory; the
// arena packs intermediates at aligned offsets and never lets two bindings of a dispatch share
// bytes (checked at prepare).
import assert from "node:assert/strict";
import { compile, interpret, liveBuffers } from "../src/mod.ts";
import { decoderData, decoderFn, decoderInputs, SMALL_DECODER } from "../src/models/decoder.ts";
import { assertClose } from "./helpers.ts";

const stack = { ...SMALL_DECODER, layers: 4, seq: 8 };

Deno.test("decoder stack: arena <= reuse <= unplanned bytes, identical results", async () => {
  const inputs = decoderData(stack, 3);
  const results: Float32Array[] = [];
  const stats = [];
  for (const [reuse, arena] of [[false, false], [true, false], [true, true]]) {
    const cg = compile(decoderFn(stack), {
      inputs: decoderInputs(stack),
      config: { "inductor.allowBufferReuse": reuse, "inductor.memoryPlanning": arena },
    });
    try {
      results.push((await cg.run(inputs, { poison: true }))[0] as Float32Array);
      stats.push(await cg.memoryStats());
      if (results.length === 1) {
        assertClose(
          results[0],
          interpret(cg.graph, inputs)[0],
          { atol: 1e-4, rtol: 1e-3 },
          "vs reference",
        );
      }
    } finally {
      await cg.disposeAsync();
    }
  }
  const [none, reuse, arena] = stats;
  assert.equal(none.plannedBytes, none.unplannedBytes, "no planning allocates every buffer");
  assert.ok(
    reuse.plannedBytes < none.plannedBytes,
    `reuse ${reuse.plannedBytes} < ${none.plannedBytes}`,
  );
  assert.ok(
    arena.plannedBytes <= reuse.plannedBytes,
    `arena ${arena.plannedBytes} <= ${reuse.plannedBytes}`,
  );
  assert.ok(arena.arenas >= 1);
  assert.ok(
    arena.plannedBytes <= 0.5 * arena.unplannedBytes,
    `arena peak ${arena.plannedBytes} should be at most half of unplanned ${arena.unplannedBytes}`,
  );
  // the same kernels over differently placed memory: bit-identical
  assert.deepEqual(results[1], results[0]);
  assert.deepEqual(results[2], results[0]);
});

Deno.test("arena planning: outputs in the middle of an arena read back correctly; dispose frees all", async () => {
  const before = liveBuffers().count;
  const cg = compile((x, y) => {
    const a = x.exp();
    const b = a.add(y).relu();
    const c = b.mul(a);
    return [c.sum(-1), b, c.softmax(-1)];
  }, {
    inputs: [{ shape: [6, 10] }, { shape: [10] }],
    config: { "inductor.memoryPlanning": true },
  });
  const x = new Float32Array(60).map((_, i) => Math.sin(i) * 0.5);
  const y = new Float32Array(10).map((_, i) => Math.cos(i));
  const got = await cg.run([x, y], { poison: true });
  const want = interpret(cg.graph, [x, y]);
  got.forEach((g, i) => assertClose(g, want[i], { atol: 1e-5, rtol: 1e-4 }, `output ${i}`));
  assert.ok((await cg.memoryStats()).arenas >= 1);
  await cg.disposeAsync();
  assert.equal(liveBuffers().count, before);
});
