// The stream shim: batched launches, events, copies, ordering with transfers, and launch errors.
import assert from "node:assert/strict";
import { config } from "../src/config.ts";
import { DeviceError } from "../src/errors.ts";
import {
  createStorageBuffer,
  destroyBuffer,
  download,
  liveBuffers,
  upload,
  writeBuffer,
} from "../src/runtime/buffers.ts";
import { type DeviceHandle, getDevice, resetDevice } from "../src/runtime/device.ts";
import { getPipeline } from "../src/runtime/pipeline_cache.ts";
import { getRawStream, Stream, submitBatchSize } from "../src/runtime/stream.ts";
import { isCpuAdapter, isSwiftShader } from "../src/runtime/adapter_class.ts";

const DOUBLE = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x < arrayLength(&x)) { y[g.x] = x[g.x] * 2.0; }
}`;

function bind(h: DeviceHandle, pipe: GPUComputePipeline, x: GPUBuffer, y: GPUBuffer) {
  return h.device.createBindGroup({
    layout: pipe.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: x } }, { binding: 1, resource: { buffer: y } }],
  });
}

const N = 1000;
const STEPS = 10;

/** STEPS chained doublings of 0..N-1 on a fresh stream; returns the result and the stream. */
async function chain(batch: number): Promise<{ out: number[]; s: Stream }> {
  const h = await getDevice();
  const pipe = await getPipeline(h, { name: "double", wgsl: DOUBLE });
  const bufs = [upload(h, Float32Array.from({ length: N }, (_, i) => i), "f32", "a0")];
  for (let k = 1; k <= STEPS; k++) bufs.push(createStorageBuffer(h, N * 4, `a${k}`));
  const s = new Stream(h, `batch ${batch}`);
  await config.patch({ "runtime.submitBatchSize": batch }, async () => {
    for (let k = 0; k < STEPS; k++) {
      s.launch(
        pipe,
        [bind(h, pipe, bufs[k], bufs[k + 1])],
        [Math.ceil(N / 64), 1, 1],
        `double${k}`,
      );
    }
    await s.synchronize();
  });
  const out = [...await download(h, bufs[STEPS], "f32", N)];
  bufs.forEach(destroyBuffer);
  return { out, s };
}

Deno.test("launches give the same results whatever the submit batch size", async () => {
  const one = await chain(1);
  const many = await chain(64);
  assert.deepEqual(one.out, many.out);
  assert.equal(one.out[3], 3 * 2 ** STEPS);
  assert.equal(one.s.launches, STEPS);
  assert.equal(many.s.launches, STEPS);
  assert.equal(one.s.submits, STEPS);
  assert.equal(many.s.submits, 1);
  assert.equal(liveBuffers().count, 0);
});

Deno.test("submit batch size 0 (auto): 1024 launches on lavapipe, 64 on GPUs and SwiftShader", async () => {
  const h = await getDevice();
  const fake = (info: string) => ({ ...h, info, adapter: { info: {} } }) as DeviceHandle;
  const lavapipeClass = isCpuAdapter(h) && !isSwiftShader(h);
  await config.patch({ "runtime.submitBatchSize": 0 }, () => {
    assert.equal(submitBatchSize(fake("llvmpipe (LLVM 15.0.6, 256 bits)")), 1024);
    assert.equal(submitBatchSize(fake("unnamed (vendor google, architecture swiftshader)")), 64);
    assert.equal(submitBatchSize(fake("NVIDIA H200 (vendor nvidia)")), 64);
    assert.equal(submitBatchSize(h), lavapipeClass ? 1024 : 64);
  });
  await config.patch({ "runtime.submitBatchSize": 7 }, () => {
    assert.equal(submitBatchSize(fake("llvmpipe (LLVM 15.0.6, 256 bits)")), 7);
  });
  // 70 launches on this adapter: one submit under auto on lavapipe, two on a GPU
  const h2 = h;
  const pipe = await getPipeline(h2, { name: "double", wgsl: DOUBLE });
  const a = upload(h2, new Float32Array(64).fill(1), "f32", "a");
  const b = createStorageBuffer(h2, 64 * 4, "b");
  const s = new Stream(h2, "auto batch");
  await config.patch({ "runtime.submitBatchSize": 0 }, async () => {
    for (let k = 0; k < 70; k++) s.launch(pipe, [bind(h2, pipe, a, b)], [1, 1, 1], `d${k}`);
    assert.equal(s.submits, lavapipeClass ? 0 : 1);
    await s.synchronize();
  });
  assert.equal(s.submits, lavapipeClass ? 1 : 2);
  assert.deepEqual([...await download(h2, b, "f32", 64)], new Array(64).fill(2));
  [a, b].forEach(destroyBuffer);
});

Deno.test("default stream, events, copies and ordering with uploads/downloads", async () => {
  const h = await getDevice();
  const s = await getRawStream();
  assert.equal(await getRawStream(0), s);
  await assert.rejects(getRawStream(1), DeviceError);
  const pipe = await getPipeline(h, { name: "double", wgsl: DOUBLE });
  const x = upload(h, new Float32Array([1, 2, 3, 4]), "f32", "x");
  const y = createStorageBuffer(h, 16, "y");
  const z = createStorageBuffer(h, 16, "z");
  s.launch(pipe, [bind(h, pipe, x, y)], [1, 1, 1], "double");
  s.copyBufferToBuffer(y, 0, z, 0, 16);
  assert.equal(s.pending, 1);
  // Overwriting x must not reach the launch encoded before it (pending work is submitted first).
  writeBuffer(h, x, new Float32Array([10, 20, 30, 40]), "f32");
  assert.equal(s.pending, 0);
  const ev = s.recordEvent();
  await ev.synchronize();
  assert.equal(ev.query(), true);
  assert.deepEqual([...await download(h, z, "f32", 4)], [2, 4, 6, 8]);
  // A download submits the stream's pending launch before reading.
  s.launch(pipe, [bind(h, pipe, x, y)], [1, 1, 1], "double");
  assert.deepEqual([...await download(h, y, "f32", 4)], [20, 40, 60, 80]);
  [x, y, z].forEach(destroyBuffer);
  await s.synchronize();
  assert.equal(liveBuffers().count, 0);
});

Deno.test("a dispatch past maxComputeWorkgroupsPerDimension is a DeviceError", async () => {
  const h = await getDevice();
  const s = new Stream(h);
  const pipe = await getPipeline(h, { name: "double", wgsl: DOUBLE });
  const max = h.limits.maxComputeWorkgroupsPerDimension;
  const x = createStorageBuffer(h, 16, "x");
  const y = createStorageBuffer(h, 16, "y");
  const bg = bind(h, pipe, x, y);
  assert.throws(() => s.launch(pipe, [bg], [max + 1, 1, 1], "big_pointwise"), (e) => {
    assert.ok(e instanceof DeviceError);
    assert.match(e.message, /kernel 'big_pointwise'/);
    assert.match(
      e.message,
      new RegExp(`${max + 1} exceeds maxComputeWorkgroupsPerDimension \\(${max}\\)`),
    );
    assert.match(e.message, /dimension x/);
    return true;
  });
  assert.throws(() => s.launch(pipe, [bg], [1, 1.5, 1], "frac"), /dimension y/);
  assert.equal(s.launches, 0);
  await s.synchronize();
  [x, y].forEach(destroyBuffer);
});

Deno.test("an encoding validation error names the kernel at synchronize()", async () => {
  const h = await getDevice();
  const s = new Stream(h, "checked");
  const a = await getPipeline(h, { name: "double", wgsl: DOUBLE });
  const b = await getPipeline(h, { name: "double_b", wgsl: DOUBLE + "\n// another module" });
  const x = createStorageBuffer(h, 16, "x");
  const y = createStorageBuffer(h, 16, "y");
  await config.patch({ "runtime.validate": true, "runtime.submitBatchSize": 64 }, async () => {
    // Layout "auto" bind group layouts are never shared between pipelines: a validation error.
    s.launch(b, [bind(h, a, x, y)], [1, 1, 1], "mismatched_kernel");
    await assert.rejects(s.synchronize(), (e) => {
      assert.ok(e instanceof DeviceError);
      assert.match(e.message, /kernel 'mismatched_kernel'/);
      assert.match(e.message, /stream 'checked'/);
      assert.match(e.message, /validation error/);
      return true;
    });
  });
  await s.synchronize(); // reported once
  [x, y].forEach(destroyBuffer);
  resetDevice();
});
