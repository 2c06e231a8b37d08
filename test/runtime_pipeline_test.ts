// The pipeline cache: dedup by source hash, the compileThreads bound, and WGSL compile errors.
import assert from "node:assert/strict";
import { config } from "../src/config.ts";
import { CompileError } from "../src/errors.ts";
import { getDevice, resetDevice } from "../src/runtime/device.ts";
import { hashString } from "../src/runtime/hash.ts";
import {
  clearPipelineCache,
  excerpt,
  getPipeline,
  pipelineCacheStats,
} from "../src/runtime/pipeline_cache.ts";

function kernel(k: number): string {
  return `
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x < arrayLength(&y)) { y[g.x] = y[g.x] * ${k}.0; }
}`;
}

Deno.test("hashString is stable, 16 hex digits, and separates near-identical sources", () => {
  assert.match(hashString(""), /^[0-9a-f]{16}$/);
  assert.equal(hashString(kernel(1)), hashString(kernel(1)));
  const seen = new Set<string>();
  for (let k = 0; k < 2000; k++) seen.add(hashString(kernel(k)));
  assert.equal(seen.size, 2000);
  assert.notEqual(hashString("a"), hashString("a\0"));
});

Deno.test("identical sources compile once, also when requested concurrently", async () => {
  const h = await getDevice();
  clearPipelineCache();
  const ps = await Promise.all([
    getPipeline(h, { name: "k_a", wgsl: kernel(3) }),
    getPipeline(h, { name: "k_b", wgsl: kernel(3) }),
    getPipeline(h, { name: "k_c", wgsl: kernel(3) }),
  ]);
  assert.equal(ps[0], ps[1]);
  assert.equal(ps[0], ps[2]);
  assert.equal(await getPipeline(h, { name: "k_d", wgsl: kernel(3) }), ps[0]);
  assert.notEqual(await getPipeline(h, { name: "k_e", wgsl: kernel(4) }), ps[0]);
  assert.deepEqual(pipelineCacheStats(), { compiled: 2, hits: 3, inFlightMax: 1 });
});

Deno.test("compileThreads bounds the compiles in flight", async () => {
  const h = await getDevice();
  for (const threads of [1, 3]) {
    clearPipelineCache();
    await config.patch({ "inductor.compileThreads": threads }, () =>
      Promise.all(
        Array.from({ length: 8 }, (_, k) => getPipeline(h, { name: `k${k}`, wgsl: kernel(k) })),
      ));
    const st = pipelineCacheStats();
    assert.equal(st.compiled, 8);
    assert.ok(st.inFlightMax <= threads, `inFlightMax ${st.inFlightMax} > ${threads}`);
    assert.equal(st.inFlightMax, threads); // and the bound is reached, not over-serialised
  }
});

Deno.test("a WGSL syntax error is a CompileError naming the kernel and showing the line", async () => {
  const h = await getDevice();
  const bad = kernel(2).replace("y[g.x] * 2.0;", "y[g.x] * ;");
  await assert.rejects(getPipeline(h, { name: "fused_mul_7", wgsl: bad }), (e) => {
    assert.ok(e instanceof CompileError);
    assert.match(e.message, /kernel 'fused_mul_7'/);
    assert.match(e.message, /at line 4:\d+/);
    assert.match(e.message, /> 4 \| .*y\[g\.x\] \* ;/);
    assert.match(e.message, /\^/);
    return true;
  });
  // Failures are not cached: the fixed source compiles.
  await getPipeline(h, { name: "fused_mul_7", wgsl: kernel(2) });
  // A missing entry point fails at pipeline creation.
  await assert.rejects(
    getPipeline(h, { name: "no_entry", wgsl: kernel(5), entryPoint: "nope" }),
    (e) => e instanceof CompileError && /kernel 'no_entry'/.test(e.message),
  );
  resetDevice();
});

Deno.test("excerpt marks the line and column", () => {
  assert.equal(excerpt("a\nbcd\ne", 2, 3), "  1 | a\n> 2 | bcd\n    |   ^\n  3 | e");
  assert.equal(excerpt("a", 0, 0), "");
});
