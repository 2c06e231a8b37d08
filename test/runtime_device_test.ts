// Device acquisition, the lazy probe, clear errors without WebGPU / adapter / f16, and device loss.
// Runs on whatever adapter Deno finds (lavapipe on CI).
import assert from "node:assert/strict";
import { config } from "../src/config.ts";
import { DeviceError } from "../src/errors.ts";
import {
  getDevice,
  isAvailable,
  requireDType,
  requireFeature,
  requireLimit,
  resetDevice,
  setGPUForTesting,
} from "../src/runtime/device.ts";
import { destroyBuffer, download, liveBuffers, upload } from "../src/runtime/buffers.ts";
import { getRawStream } from "../src/runtime/stream.ts";
import { getPipeline } from "../src/runtime/pipeline_cache.ts";

const realGPU = navigator.gpu;

/** navigator.gpu with requestAdapter counted. */
function countingGPU(): { gpu: GPU; calls: () => number } {
  let n = 0;
  const gpu = new Proxy(realGPU, {
    get(t, p) {
      if (p === "requestAdapter") {
        return (o?: GPURequestAdapterOptions) => {
          n++;
          return t.requestAdapter(o);
        };
      }
      const v = Reflect.get(t, p, t);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
  return { gpu, calls: () => n };
}

/** A GPU whose adapter hides `hidden` features but otherwise is the real adapter. */
function gpuWithout(hidden: string[]): GPU {
  return {
    async requestAdapter(o?: GPURequestAdapterOptions) {
      const real = (await realGPU.requestAdapter(o))!;
      const features = new Set([...real.features].filter((f) => !hidden.includes(f)));
      return {
        features,
        limits: real.limits,
        info: real.info,
        requestDevice: (d?: GPUDeviceDescriptor) => real.requestDevice(d),
      } as unknown as GPUAdapter;
    },
  } as unknown as GPU;
}

Deno.test("getDevice acquires once, shares the promise and raises limits", async () => {
  resetDevice();
  const [a, b] = await Promise.all([getDevice(), getDevice()]);
  assert.equal(a, b);
  assert.equal(a.index, 0);
  assert.ok(a.info.length > 0);
  assert.equal(a.lost, false);
  assert.equal(a.hasF16, a.adapter.features.has("shader-f16"));
  assert.equal(a.features.has("shader-f16"), a.hasF16);
  for (
    const k of [
      "maxStorageBufferBindingSize",
      "maxBufferSize",
      "maxStorageBuffersPerShaderStage",
      "maxComputeWorkgroupStorageSize",
      "maxComputeInvocationsPerWorkgroup",
      "maxComputeWorkgroupSizeX",
    ] as const
  ) {
    assert.equal(a.limits[k], a.adapter.limits[k], k);
  }
  assert.equal(await getDevice(0), a);
  await assert.rejects(
    getDevice(1),
    (e) => e instanceof DeviceError && /only device 0/.test(e.message),
  );
  resetDevice();
});

Deno.test("resetDevice during acquisition cancels it; the next getDevice works", async () => {
  resetDevice();
  const p = getDevice();
  resetDevice();
  await assert.rejects(p, /cancelled by resetDevice/);
  const h = await getDevice();
  assert.equal(h.lost, false);
  resetDevice();
  assert.equal(h.lost, true);
});

Deno.test("lazy probe answers without requesting an adapter", async () => {
  const spy = countingGPU();
  setGPUForTesting(spy.gpu);
  try {
    await config.patch({ "runtime.lazyProbe": true }, async () => {
      assert.equal(await isAvailable(), true);
    });
    assert.equal(spy.calls(), 0);
    await config.patch({ "runtime.lazyProbe": false }, async () => {
      assert.equal(await isAvailable(), true);
    });
    assert.equal(spy.calls(), 1);
  } finally {
    setGPUForTesting(undefined);
  }
});

Deno.test("no navigator.gpu and no adapter give clear DeviceErrors", async () => {
  setGPUForTesting(null);
  try {
    assert.equal(await isAvailable(), false);
    await assert.rejects(getDevice(), (e) => {
      assert.ok(e instanceof DeviceError);
      assert.match(e.message, /WebGPU is not available in this runtime/);
      assert.match(e.message, /mesa-vulkan-drivers/);
      assert.match(e.message, /Chrome\/Edge 113\+/);
      return true;
    });
    setGPUForTesting({ requestAdapter: () => Promise.resolve(null) } as unknown as GPU);
    assert.equal(await config.patch({ "runtime.lazyProbe": false }, isAvailable), false);
    await assert.rejects(getDevice(), (e) => {
      assert.ok(e instanceof DeviceError);
      assert.match(e.message, /no WebGPU adapter/);
      return true;
    });
  } finally {
    setGPUForTesting(undefined);
  }
});

Deno.test("requireDType/requireFeature/requireLimit on an adapter without shader-f16", async () => {
  setGPUForTesting(gpuWithout(["shader-f16"]));
  try {
    const h = await getDevice();
    assert.equal(h.hasF16, false);
    requireDType(h, "f32", "node 'add_3'");
    assert.throws(() => requireDType(h, "f16", "node 'add_3' (aten.add)"), (e) => {
      assert.ok(e instanceof DeviceError);
      assert.match(e.message, /add_3/);
      assert.match(e.message, /f16/);
      assert.match(e.message, /'shader-f16'/);
      return true;
    });
    assert.throws(
      () => requireFeature(h, "shader-f16", "the f16 matmul template"),
      /the f16 matmul template needs the WebGPU feature 'shader-f16'/,
    );
    requireLimit(h, "maxStorageBuffersPerShaderStage", 4, "kernel k");
    assert.throws(
      () => requireLimit(h, "maxStorageBuffersPerShaderStage", 1e6, "fused kernel k"),
      /fused kernel k needs maxStorageBuffersPerShaderStage >= 1000000/,
    );
  } finally {
    setGPUForTesting(undefined);
  }
});

const DOUBLE = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x < arrayLength(&x)) { y[g.x] = x[g.x] * 2.0; }
}`;

Deno.test("a lost device is reported clearly and re-acquired by the next getDevice", async () => {
  resetDevice();
  const h = await getDevice();
  const s = await getRawStream();
  const pipe = await getPipeline(h, { name: "double", wgsl: DOUBLE });
  const x = upload(h, new Float32Array([1, 2, 3]), "f32", "x");
  const y = upload(h, new Float32Array(3), "f32", "y");
  const bg = h.device.createBindGroup({
    layout: pipe.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: x } }, { binding: 1, resource: { buffer: y } }],
  });
  // A pending readback fails once the device goes away.
  const pending = download(h, x, "f32", 3);
  h.device.destroy();
  await assert.rejects(pending, (e) => e instanceof DeviceError && /was lost/.test(e.message));
  assert.equal(h.lost, true);
  assert.throws(() => s.launch(pipe, [bg], [1, 1, 1], "double"), (e) => {
    assert.ok(e instanceof DeviceError);
    assert.match(e.message, /was lost \(reason: destroyed/);
    assert.match(e.message, /launching kernel 'double'/);
    assert.match(e.message, /next getDevice\(\)/);
    return true;
  });
  assert.throws(() => upload(h, new Float32Array(1), "f32", "z"), /was lost/);
  // The real device.lost promise also settles, with the same verdict.
  const info = await h.device.lost;
  assert.equal(info.reason, "destroyed");

  const h2 = await getDevice();
  assert.notEqual(h2, h);
  assert.equal(h2.lost, false);
  const s2 = await getRawStream();
  assert.notEqual(s2, s);
  const b = upload(h2, new Float32Array([5, 6]), "f32", "again");
  assert.deepEqual([...await download(h2, b, "f32", 2)], [5, 6]);
  assert.equal(liveBuffers(h2).count, 1);
  // Buffers of the lost device are still counted until their owner destroys them.
  assert.equal(liveBuffers(h).count, 2);
  for (const buf of [x, y, b]) destroyBuffer(buf);
  assert.equal(liveBuffers().count, 0);
  resetDevice();
  assert.equal(h2.lost, true);
});
