// Readback staging: MAP_READ buffers kept per device for reuse (a free list of host-visible
// memory, like the free blocks of upstream's CUDA caching allocator), and the wait that reads
// them as soon as the queue is idle.
//
// Deno quirk (ext/webgpu/buffer.rs, GPUBuffer::map_async, Deno 2.9.6): the op's first step is
// device_poll(Maintain::wait), which blocks until the queue is idle and fires wgpu's map
// callback, so the buffer is mapped when mapAsync() returns its promise; the op then sleeps
// 10 ms before it looks at the callback's flag, and the promise settles only after that sleep.
// Every wait in Deno therefore costs its work plus ~10 ms. getMappedRange succeeds as soon as wgpu
// holds the mapping (it validates that the map is active), so we read right after mapAsync()
// and leave the promise to settle before the buffer is unmapped and reused. Deno's
// getMappedRange unwraps the buffer's map mode, which only a settled map sets (and nothing
// clears): the early read is tried only on a buffer whose earlier map settled, and any failure
// falls back to awaiting the promise.
import { config } from "../config.ts";
import { DeviceError } from "../errors.ts";
import type { DeviceHandle } from "./device_handle.ts";
import { assertLive, checkpoint, lostError, raceLoss, scoped } from "./errors.ts";

/** One range to copy out: `bytes` at byte `offset` of `buffer` (the copy is padded to a multiple
 * of 4, which the buffer must hold). */
export interface StageRange {
  buffer: GPUBuffer;
  offset: number;
  bytes: number;
}

interface Staging {
  buffer: GPUBuffer;
  size: number;
  /** A map of this buffer has settled (Deno's map mode is set): early reads are safe to try. Every
   * buffer on the free list is warm: it gets there only after its map settled. */
  warm: boolean;
}

interface Pool {
  free: Staging[];
  reads: number;
  earlyReads: number;
}

const pools = new WeakMap<DeviceHandle, Pool>();

/** Deno's map promise settles 10 ms after the mapping (see above); elsewhere it settles when the
 * mapping does and there is nothing to gain. */
const earlyReadRuntime = typeof (globalThis as { Deno?: unknown }).Deno === "object";

function poolOf(h: DeviceHandle): Pool {
  let p = pools.get(h);
  if (!p) pools.set(h, p = { free: [], reads: 0, earlyReads: 0 });
  return p;
}

function freeBytes(p: Pool): number {
  return p.free.reduce((n, s) => n + s.size, 0);
}

/** What the staging cache of `h` holds and how its reads went: `earlyReads` of `reads` were
 * taken without waiting for the map promise. */
export function stagingStats(
  h: DeviceHandle,
): { buffers: number; bytes: number; reads: number; earlyReads: number } {
  const p = poolOf(h);
  return { buffers: p.free.length, bytes: freeBytes(p), reads: p.reads, earlyReads: p.earlyReads };
}

/** Destroys the cached staging buffers of `h` (those in use go when their read settles). */
export function releaseStaging(h: DeviceHandle): void {
  const p = poolOf(h);
  for (const s of p.free) s.buffer.destroy();
  p.free = [];
}

/** Sizes come in classes so that reads of nearby sizes share buffers: powers of two up to 1 MiB,
 * then whole MiB. */
function sizeClass(bytes: number): number {
  if (bytes <= 4096) return 4096;
  if (bytes <= 1 << 20) return 2 ** Math.ceil(Math.log2(bytes));
  return Math.ceil(bytes / (1 << 20)) * (1 << 20);
}

function acquire(h: DeviceHandle, bytes: number, doing: string): Staging {
  const p = poolOf(h);
  // a cap lowered since (config.patch) applies from this read on: oldest buffers go first
  const cap = config.int("runtime.readbackCacheBytes");
  while (freeBytes(p) > cap) p.free.shift()!.buffer.destroy();
  const size = sizeClass(bytes);
  const i = p.free.findIndex((s) => s.size === size);
  if (i >= 0) return p.free.splice(i, 1)[0];
  if (size > h.limits.maxBufferSize) {
    throw new DeviceError(
      `${doing}: a staging buffer of ${size} bytes exceeds the device's maxBufferSize ` +
        `(${h.limits.maxBufferSize}) on adapter ${h.info}`,
    );
  }
  const buffer = scoped(
    h,
    () => `${doing}: allocating a staging buffer of ${size} bytes`,
    () =>
      h.device.createBuffer({
        size,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        label: "readback staging",
      }),
  );
  return { buffer, size, warm: false };
}

/** Back to the free list if `runtime.readbackCacheBytes` has room, else destroyed. */
function release(h: DeviceHandle, s: Staging): void {
  const p = poolOf(h);
  if (h.lost || freeBytes(p) + s.size > config.int("runtime.readbackCacheBytes")) {
    s.buffer.destroy();
    return;
  }
  p.free.push(s);
}

/** Unmaps a staging buffer whose map settled and frees it for the next read; a device lost in the
 * meantime makes unmap throw, and the buffer is simply dropped. */
function unmapAndRelease(h: DeviceHandle, s: Staging): void {
  try {
    s.buffer.unmap();
  } catch {
    s.buffer.destroy();
    return;
  }
  release(h, s);
}

/** Copies `ranges` into one staging buffer in a single submit and resolves to each range's bytes,
 * as ArrayBuffers the caller owns. Callers submit their pending stream work first. */
export async function readStaged(
  h: DeviceHandle,
  ranges: StageRange[],
  doing: string,
): Promise<ArrayBuffer[]> {
  assertLive(h, doing);
  // copies move multiples of 4 bytes; getMappedRange offsets are multiples of 8
  const padded = ranges.map((r) => Math.max(4, Math.ceil(r.bytes / 4) * 4));
  const offsets: number[] = [];
  let total = 0;
  for (const n of padded) {
    offsets.push(total);
    total += Math.ceil(n / 8) * 8;
  }
  const s = acquire(h, Math.max(total, 4), doing);
  const pool = poolOf(h);
  pool.reads++;
  scoped(h, () => doing, () => {
    const enc = h.device.createCommandEncoder({ label: "readback" });
    ranges.forEach((r, i) =>
      enc.copyBufferToBuffer(r.buffer, r.offset, s.buffer, offsets[i], padded[i])
    );
    // A read of nothing still waits for the queue to reach this point (queueIdle).
    if (ranges.length === 0) enc.clearBuffer(s.buffer, 0, 4);
    h.device.queue.submit([enc.finish()]);
  });
  const mapping = s.buffer.mapAsync(GPUMapMode.READ);
  const take = () => {
    // With no range, a 4-byte view still proves the buffer is mapped (the queue reached it).
    if (ranges.length === 0) s.buffer.getMappedRange(0, 4);
    return ranges.map((r, i) => takeRange(s.buffer, offsets[i], padded[i], r.bytes));
  };
  if (earlyReadRuntime && s.warm && !h.lost) {
    let early: ArrayBuffer[] | null = null;
    try {
      early = take();
    } catch {
      early = null; // not mapped yet after all: wait for the promise below
    }
    if (early) {
      pool.earlyReads++;
      mapping.then(() => unmapAndRelease(h, s), () => s.buffer.destroy());
      return early;
    }
  }
  try {
    await raceLoss(h, mapping, doing);
  } catch (e) {
    s.buffer.destroy();
    if (h.lost) throw lostError(h, doing);
    await checkpoint(h, doing); // a validation error explains the failed map better
    throw new DeviceError(`${doing}: mapAsync failed: ${(e as Error).message}`);
  }
  s.warm = true;
  const datas = take();
  unmapAndRelease(h, s);
  return datas;
}

/** Whether a READ mapping's getMappedRange is the runtime's own copy of the bytes, which unmap
 * only detaches: Deno's is (ext/webgpu/buffer.rs, get_mapped_range copies the mapped range into
 * a V8-owned vector). A browser may back the ArrayBuffer by the mapping itself. */
const mappedRangeIsCopy = earlyReadRuntime &&
  typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === "function";

/** `exact` bytes at `offset` of a buffer mapped for reading, as an ArrayBuffer that outlives
 * unmap. Where the mapped range is already a copy it is transferred (no copy unless padding is
 * dropped: on lavapipe, reading 64 MiB back took 140 ms against 250 ms with a slice, 66 against
 * 114 ms of CPU); otherwise sliced. */
function takeRange(st: GPUBuffer, offset: number, bytes: number, exact: number): ArrayBuffer {
  const range = st.getMappedRange(offset, bytes);
  if (!mappedRangeIsCopy) return range.slice(0, exact);
  // transferred even at full length: unmap detaches the range it handed out
  return (range as ArrayBuffer & { transfer(n: number): ArrayBuffer }).transfer(exact);
}

/** Resolves once the queue has finished all work submitted before the call: a map of a staging
 * buffer cleared in a submit of its own (in Deno this skips the 10 ms of onSubmittedWorkDone). */
export async function queueIdle(h: DeviceHandle, doing: string): Promise<void> {
  await readStaged(h, [], doing);
  // a lost device may still settle the map: report the loss, not a clean finish
  if (h.lost) throw lostError(h, doing);
}
