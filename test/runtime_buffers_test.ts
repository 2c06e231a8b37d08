// Buffer allocation, upload/download round trips in every dtype, errors, and live accounting.
import assert from "node:assert/strict";
import { config } from "../src/config.ts";
import { type DType, DTYPES, type TypedArray } from "../src/dtype.ts";
import { DeviceError, DTypeError } from "../src/errors.ts";
import {
  createBuffer,
  createStorageBuffer,
  createUniformBuffer,
  destroyBuffer,
  download,
  liveBuffers,
  upload,
  writeBuffer,
} from "../src/runtime/buffers.ts";
import { getDevice, resetDevice } from "../src/runtime/device.ts";
import { checkpoint } from "../src/runtime/errors.ts";

function sample(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case "f32":
      return Float32Array.from({ length: n }, (_, i) => (i - 2) * 1.25 + 1e-3);
    case "f16":
      return Float16Array.from({ length: n }, (_, i) => (i - 3) * 0.5 + 0.125);
    case "i32":
      return Int32Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * i * 1000003 | 0);
    case "u32":
      return Uint32Array.from({ length: n }, (_, i) => (0xffffffff - i * 7) >>> 0);
    case "bool":
      return Uint8Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
  }
}

Deno.test("upload/download round trips every dtype, odd f16 lengths included", async () => {
  const h = await getDevice();
  const before = liveBuffers().count;
  for (const dtype of DTYPES) {
    for (const n of [1, 2, 3, 5, 8, 1027]) {
      const data = sample(dtype, n);
      const b = upload(h, data, dtype, `${dtype}x${n}`);
      assert.equal(b.size % 4, 0);
      const back = await download(h, b, dtype, n);
      assert.equal(back.constructor, data.constructor, `${dtype} array type`);
      assert.deepEqual([...back], [...data], `${dtype} x ${n}`);
      destroyBuffer(b);
    }
  }
  // bool: any non-zero host byte is true, stored as u32 1.
  const b = upload(h, new Uint8Array([0, 7, 255, 1]), "bool", "bools");
  assert.deepEqual([...await download(h, b, "u32", 4)], [0, 1, 1, 1]);
  assert.deepEqual([...await download(h, b, "bool", 4)], [0, 1, 1, 1]);
  destroyBuffer(b);
  destroyBuffer(b); // twice is harmless
  assert.equal(liveBuffers().count, before);
});

Deno.test("a read-back array owns its bytes: exact length, intact after later maps and frees", async () => {
  // readback() keeps the runtime's copy of the mapped range instead of copying it again
  // (takeMapped): the array must not alias staging memory that later reads reuse.
  const h = await getDevice();
  const n = 1 << 18;
  const first = Float32Array.from({ length: n }, (_, i) => i * 0.5 - 7);
  const a = upload(h, first, "f32", "first");
  const back = await download(h, a, "f32", n) as Float32Array;
  destroyBuffer(a);
  for (let k = 0; k < 3; k++) {
    const other = upload(h, new Float32Array(n).fill(-1 - k), "f32", `other${k}`);
    assert.equal((await download(h, other, "f32", n))[n - 1], -1 - k);
    destroyBuffer(other);
  }
  assert.equal(back.buffer.byteLength, n * 4);
  assert.equal(back[0], -7);
  assert.equal(back[n - 1], (n - 1) * 0.5 - 7);
  assert.deepEqual(back, first);
  // an odd f16 count reads a padded range; the array's buffer is exactly its elements
  const odd = Float16Array.from([1, 2, 3]);
  const b = upload(h, odd, "f16", "odd");
  const oddBack = await download(h, b, "f16", 3);
  destroyBuffer(b);
  assert.equal(oddBack.buffer.byteLength, 6);
  assert.deepEqual([...oddBack], [1, 2, 3]);
});

Deno.test("storage and uniform sizes round up; writeBuffer writes at an offset", async () => {
  const h = await getDevice();
  const a = createStorageBuffer(h, 0, "empty");
  const c = createStorageBuffer(h, 5, "five");
  const u = createUniformBuffer(h, 20, "params", new Uint32Array([1, 2, 3, 4, 5]));
  assert.equal(a.size, 4);
  assert.equal(c.size, 8);
  assert.equal(u.size, 32);
  assert.equal(liveBuffers(h).bytes >= 44, true);
  const s = upload(h, new Int32Array([1, 2, 3, 4]), "i32", "s");
  writeBuffer(h, s, new Int32Array([9, 8]), "i32", 8);
  assert.deepEqual([...await download(h, s, "i32", 4)], [1, 2, 9, 8]);
  assert.throws(() => writeBuffer(h, s, new Int32Array(4), "i32", 4), DeviceError);
  assert.throws(() => upload(h, new Float32Array(2), "i32", "wrong"), (e) => {
    assert.ok(e instanceof DTypeError);
    assert.match(e.message, /'wrong'.*i32 needs a Int32Array, got Float32Array/);
    return true;
  });
  await assert.rejects(download(h, s, "f32", 5), /needs 20 bytes, buffer has 16 bytes/);
  for (const b of [a, c, u, s]) destroyBuffer(b);
  assert.equal(liveBuffers(h).count, 0);
  assert.equal(liveBuffers(h).bytes, 0);
});

Deno.test("a buffer over maxBufferSize is a DeviceError naming label, size and limit", async () => {
  const h = await getDevice();
  const limit = h.limits.maxBufferSize;
  assert.throws(() => createStorageBuffer(h, limit + 1, "huge_activation"), (e) => {
    assert.ok(e instanceof DeviceError);
    assert.match(e.message, /'huge_activation'/);
    assert.match(e.message, new RegExp(`${Math.ceil((limit + 1) / 4) * 4} bytes`));
    assert.match(e.message, new RegExp(`maxBufferSize \\(${limit} bytes`));
    return true;
  });
  assert.equal(liveBuffers(h).count, 0);
});

Deno.test("allocation validation errors surface at the next checkpoint with context", async () => {
  const h = await getDevice();
  await config.patch({ "runtime.validate": true }, async () => {
    // MAP_READ may only be combined with COPY_DST: a validation error on the device timeline.
    const bad = createBuffer(h, 64, GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE, "bad_usage");
    await assert.rejects(checkpoint(h, "test"), (e) => {
      assert.ok(e instanceof DeviceError);
      assert.match(e.message, /allocating buffer 'bad_usage' of 64 bytes: WebGPU validation error/);
      return true;
    });
    await checkpoint(h, "test"); // errors are reported once
    destroyBuffer(bad);
  });
  // With validation off nothing is scoped; the uncaptured error still reaches the checkpoint.
  await config.patch({ "runtime.validate": false }, async () => {
    const seen = new Promise((r) =>
      h.device.addEventListener("uncapturederror", r, { once: true })
    );
    const bad = createBuffer(h, 64, GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE, "quiet");
    await seen; // uncapturederror is dispatched as a task, not at once
    await assert.rejects(
      checkpoint(h, "test"),
      /uncaptured WebGPU error \(runtime.validate is off/,
    );
    destroyBuffer(bad);
  });
  // With validation on, an error raised outside any scope does not blame the knob.
  await config.patch({ "runtime.validate": true }, async () => {
    const seen = new Promise((r) =>
      h.device.addEventListener("uncapturederror", r, { once: true })
    );
    const bad = h.device.createBuffer({
      size: 64,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE,
    });
    await seen;
    await assert.rejects(
      checkpoint(h, "test"),
      /uncaptured WebGPU error \(raised outside any error scope, so no kernel or buffer context\)/,
    );
    bad.destroy();
  });
  assert.equal(liveBuffers().count, 0);
  resetDevice();
});
