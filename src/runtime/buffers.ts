// GPU buffers: allocation with error scopes and limit checks, host <-> GPU transfers in each
// dtype's GPU representation, and live-buffer accounting (tests prove `.dispose()` leaks nothing).
import type { DType, TypedArray } from "../dtype.ts";
import { dtypeOfArray, gpuBytes, hostArrayName } from "../dtype.ts";
import { DeviceError, DTypeError } from "../errors.ts";
import type { DeviceHandle } from "./device.ts";
import { assertLive, checkpoint, scoped } from "./errors.ts";
import { readStaged } from "./staging.ts";
import { flushStreams } from "./stream.ts";

interface LiveEntry {
  bytes: number;
  handle: DeviceHandle;
}
const live = new Map<GPUBuffer, LiveEntry>();

/** Buffers made through this module and not destroyed yet (optionally only those of `h`). */
export function liveBuffers(h?: DeviceHandle): { count: number; bytes: number } {
  let count = 0;
  let bytes = 0;
  for (const e of live.values()) {
    if (h && e.handle !== h) continue;
    count++;
    bytes += e.bytes;
  }
  return { count, bytes };
}

function fmtBytes(n: number): string {
  return n >= 1 << 20 ? `${n} bytes (${(n / (1 << 20)).toFixed(1)} MiB)` : `${n} bytes`;
}

function roundUp(n: number, m: number): number {
  return Math.max(m, Math.ceil(n / m) * m);
}

/** Allocates a buffer of at least `bytes` (rounded up to a multiple of `align`, at least
 * `align`). Sizes over the device's maxBufferSize throw at once; validation/OOM errors caught by
 * error scopes (runtime.validate) are thrown at the next checkpoint (synchronize, download). */
export function createBuffer(
  h: DeviceHandle,
  bytes: number,
  usage: GPUBufferUsageFlags,
  label: string,
  align = 4,
): GPUBuffer {
  assertLive(h, `allocating buffer '${label}'`);
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new DeviceError(`buffer '${label}': size must be a non-negative integer, got ${bytes}`);
  }
  const size = roundUp(bytes, align);
  const limit = h.limits.maxBufferSize;
  if (size > limit) {
    throw new DeviceError(
      `buffer '${label}' of ${fmtBytes(size)} exceeds the device's maxBufferSize ` +
        `(${fmtBytes(limit)}) on adapter ${h.info}`,
    );
  }
  const buffer = scoped(
    h,
    () => `allocating buffer '${label}' of ${fmtBytes(size)}`,
    () => h.device.createBuffer({ size, usage, label }),
  );
  live.set(buffer, { bytes: size, handle: h });
  return buffer;
}

/** A storage buffer (STORAGE | COPY_SRC | COPY_DST) of at least `bytes`, min 4, multiple of 4. */
export function createStorageBuffer(h: DeviceHandle, bytes: number, label: string): GPUBuffer {
  return createBuffer(
    h,
    bytes,
    GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    label,
  );
}

/** A uniform buffer (UNIFORM | COPY_DST), size rounded up to 16 (WGSL uniform struct sizes are
 * multiples of 16); `data`, when given, is written into it. */
export function createUniformBuffer(
  h: DeviceHandle,
  bytes: number,
  label: string,
  data?: ArrayBufferView,
): GPUBuffer {
  const b = createBuffer(h, bytes, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label, 16);
  if (data) writeBytes(h, b, 0, bytesOf(data));
  return b;
}

/** Destroys a buffer and drops it from the accounting; destroying twice is harmless. Pending
 * stream work is submitted first, since a destroyed buffer must not appear in a later submit. */
export function destroyBuffer(buffer: GPUBuffer): void {
  const e = live.get(buffer);
  if (e) {
    live.delete(buffer);
    if (!e.handle.lost) flushStreams(e.handle);
  }
  buffer.destroy();
}

function bytesOf(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** The bytes of `data` as they live in a GPU buffer of `dtype`, padded to a multiple of 4. */
function gpuBytesOf(data: TypedArray, dtype: DType, where: string): Uint8Array {
  const got = dtypeOfArray(data);
  if (got !== dtype) {
    throw new DTypeError(
      `${where}: dtype ${dtype} needs a ${hostArrayName(dtype)}, got ${data.constructor.name}`,
    );
  }
  if (dtype === "bool") {
    // WGSL bool is not host-shareable: booleans are u32 0/1 on the GPU.
    const u = new Uint32Array(data.length);
    for (let i = 0; i < data.length; i++) u[i] = data[i] ? 1 : 0;
    return bytesOf(u);
  }
  const b = bytesOf(data);
  if (b.byteLength % 4 === 0) return b;
  // Odd-length f16: writeBuffer sizes must be multiples of 4, so copy into a padded array.
  const padded = new Uint8Array(roundUp(b.byteLength, 4));
  padded.set(b);
  return padded;
}

function writeBytes(h: DeviceHandle, buffer: GPUBuffer, byteOffset: number, b: Uint8Array): void {
  const doing = `writing ${fmtBytes(b.byteLength)} to buffer '${buffer.label}'`;
  assertLive(h, doing);
  if (byteOffset % 4 !== 0 || byteOffset + b.byteLength > buffer.size) {
    throw new DeviceError(
      `${doing} at offset ${byteOffset}: out of range or misaligned (buffer is ` +
        `${fmtBytes(buffer.size)}, offsets must be multiples of 4)`,
    );
  }
  // Deno 2.9.6 panics (ext/webgpu/queue.rs) on a 0-byte writeBuffer: nothing to write anyway
  if (b.byteLength === 0) return;
  // queue.writeBuffer runs before any later submit: submit pending launches first so a launch
  // encoded earlier does not see the new contents.
  flushStreams(h);
  scoped(h, () => doing, () => h.device.queue.writeBuffer(buffer, byteOffset, b));
}

/** Writes `data` (host representation of `dtype`) into `buffer` at `byteOffset`. */
export function writeBuffer(
  h: DeviceHandle,
  buffer: GPUBuffer,
  data: TypedArray,
  dtype: DType,
  byteOffset = 0,
): void {
  writeBytes(h, buffer, byteOffset, gpuBytesOf(data, dtype, `writing buffer '${buffer.label}'`));
}

/** A new storage buffer holding `data`: bool Uint8Array becomes u32, f16 stays 2 bytes each. */
export function upload(h: DeviceHandle, data: TypedArray, dtype: DType, label: string): GPUBuffer {
  const b = gpuBytesOf(data, dtype, `uploading '${label}'`);
  const buffer = createStorageBuffer(h, b.byteLength, label);
  writeBytes(h, buffer, 0, b);
  return buffer;
}

/** Reads `count` elements of `dtype` from the start of `buffer` (u32 → Uint8Array for bool). Also
 * reports errors caught since the last checkpoint, like a CUDA memcpy does for earlier launches. */
export async function download(
  h: DeviceHandle,
  buffer: GPUBuffer,
  dtype: DType,
  count: number,
): Promise<TypedArray> {
  return (await readback(h, [{ buffer, offset: 0, dtype, count }]))[0];
}

/** One range to read back: `count` elements of `dtype` at byte `offset` of `buffer`. */
export interface ReadRange {
  buffer: GPUBuffer;
  offset: number;
  dtype: DType;
  count: number;
}

/** Reads several ranges with one submit and one wait on the queue (one staging buffer, mapped
 * once the queue reaches the copies; see staging.ts): a run returning host arrays pays the
 * fixed cost of a wait once. */
export async function readback(h: DeviceHandle, ranges: ReadRange[]): Promise<TypedArray[]> {
  const what = ranges.map((r) => `'${r.buffer.label}'`).join(", ");
  const doing = `reading back ${
    ranges.map((r) => `${r.count} ${r.dtype}`).join(" + ")
  } element(s) from buffer(s) ${what}`;
  assertLive(h, doing);
  for (const r of ranges) {
    const size = roundUp(r.count * gpuBytes(r.dtype), 4);
    if (!Number.isSafeInteger(r.count) || r.count < 0 || r.offset + size > r.buffer.size) {
      throw new DeviceError(
        `${doing}: '${r.buffer.label}' needs ${fmtBytes(size)}, buffer has ` +
          `${fmtBytes(r.buffer.size)}${r.offset ? ` (reading at offset ${r.offset})` : ""}`,
      );
    }
  }
  flushStreams(h);
  const datas = await readStaged(
    h,
    ranges.map((r) => ({ buffer: r.buffer, offset: r.offset, bytes: r.count * gpuBytes(r.dtype) })),
    doing,
  );
  await checkpoint(h, doing);
  return datas.map((d, i) => fromBytes(d, ranges[i].dtype));
}

function fromBytes(data: ArrayBuffer, dtype: DType): TypedArray {
  switch (dtype) {
    case "f32":
      return new Float32Array(data);
    case "f16":
      return new Float16Array(data);
    case "i32":
      return new Int32Array(data);
    case "u32":
      return new Uint32Array(data);
    case "bool":
      return Uint8Array.from(new Uint32Array(data), (v) => (v !== 0 ? 1 : 0));
  }
}
