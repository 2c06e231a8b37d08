// The stream shim (upstream: get_raw_stream / torch.cuda.Stream). A Stream owns a pending
// GPUCommandEncoder, encodes kernel launches into compute passes and submits them in batches.
//
// WebGPU has exactly one GPUQueue per device: every Stream of a device submits to it, so streams
// are ordered by submission, not concurrent as CUDA streams can be. A Stream is a batching and
// bookkeeping unit; anything that must observe a stream's work (downloads, uploads, buffer
// destruction) first calls flushStreams(h) so pending launches reach the queue before it.
import { config } from "../config.ts";
import { DeviceError } from "../errors.ts";
import { type DeviceHandle, getDevice } from "./device.ts";
import { isLavapipeClass } from "./adapter_class.ts";
import { assertLive, checkpoint, scoped } from "./errors.ts";
import { queueIdle } from "./staging.ts";
import type { TextureShape } from "./kernel_spec.ts";

/** Streams with unsubmitted work, per device. */
const dirty = new WeakMap<DeviceHandle, Set<Stream>>();

/** Submits the pending work of every stream of `h`, in the order the streams got dirty. */
export function flushStreams(h: DeviceHandle): void {
  const set = dirty.get(h);
  if (!set) return;
  for (const s of [...set]) s.flush();
}

/** A point in a stream's submitted work. */
export class StreamEvent {
  #done = false;
  #promise: Promise<void>;

  constructor(readonly stream: Stream) {
    this.#promise = queueIdle(stream.handle, "waiting for a stream event");
    this.#promise.then(() => this.#done = true, () => {});
  }

  /** True once all work submitted up to the event has finished. */
  query(): boolean {
    return this.#done;
  }

  /** Waits for the work submitted up to the event. */
  synchronize(): Promise<void> {
    return this.#promise;
  }
}

export class Stream {
  /** Kernel launches encoded so far. */
  launches = 0;
  /** queue.submit calls made so far. */
  submits = 0;
  #encoder: GPUCommandEncoder | undefined;
  #pass: GPUComputePassEncoder | undefined;
  #pendingLabels: string[] = [];
  #pendingCopies = 0;

  constructor(readonly handle: DeviceHandle, readonly label = "stream") {}

  /** Launches encoded but not yet submitted. */
  get pending(): number {
    return this.#pendingLabels.length;
  }

  #encoderFor(doing: string): GPUCommandEncoder {
    assertLive(this.handle, doing);
    if (!this.#encoder) {
      this.#encoder = this.handle.device.createCommandEncoder({ label: this.label });
      let set = dirty.get(this.handle);
      if (!set) dirty.set(this.handle, set = new Set());
      set.add(this);
    }
    return this.#encoder;
  }

  // Encoding errors inside a pass are reported by encoder.finish(), which flush() scopes.
  #endPass(): void {
    this.#pass?.end();
    this.#pass = undefined;
  }

  /** Encodes one dispatch. Consecutive launches share a compute pass; each sets its own pipeline
   * and bind groups. Submits automatically every `submitBatchSize(handle)` launches. */
  launch(
    pipeline: GPUComputePipeline,
    bindGroups: GPUBindGroup[],
    workgroups: readonly [number, number, number],
    label = pipeline.label || "kernel",
  ): void {
    const doing = `launching kernel '${label}'`;
    assertLive(this.handle, doing);
    const max = this.handle.limits.maxComputeWorkgroupsPerDimension;
    workgroups.forEach((n, i) => {
      if (!Number.isInteger(n) || n < 0 || n > max) {
        throw new DeviceError(
          `kernel '${label}': dispatch of [${workgroups.join(", ")}] workgroups is invalid in ` +
            `dimension ${"xyz"[i]}: ${n} ${
              n > max
                ? `exceeds maxComputeWorkgroupsPerDimension (${max}); fold the grid into ` +
                  `2D/3D`
                : "is not a non-negative integer"
            }`,
        );
      }
    });
    const encoder = this.#encoderFor(doing);
    if (!this.#pass) this.#pass = encoder.beginComputePass({ label: this.label });
    const pass = this.#pass;
    pass.setPipeline(pipeline);
    bindGroups.forEach((g, i) => pass.setBindGroup(i, g));
    pass.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2]);
    this.launches++;
    this.#pendingLabels.push(label);
    if (this.#pendingLabels.length >= submitBatchSize(this.handle)) this.flush();
  }

  /** Encodes a buffer-to-buffer copy in stream order (sizes and offsets multiples of 4). */
  copyBufferToBuffer(
    src: GPUBuffer,
    srcOffset: number,
    dst: GPUBuffer,
    dstOffset: number,
    size: number,
  ): void {
    const encoder = this.#encoderFor(`copying '${src.label}' to '${dst.label}'`);
    this.#endPass();
    encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
    this.#pendingCopies++;
  }

  /** Encodes, in stream order, the copy of `bytes` bytes of `src` from `offset` into rgba32float
   * texture `dst` of `shape`, row by row (the last row partly); `bytes` a multiple of 16. */
  copyBufferToTexture(
    src: GPUBuffer,
    offset: number,
    dst: GPUTexture,
    shape: TextureShape,
    bytes: number,
  ): void {
    const encoder = this.#encoderFor(`copying '${src.label}' to texture '${dst.label}'`);
    this.#endPass();
    const rowBytes = shape.width * 16;
    const texels = Math.min(Math.floor(bytes / 16), shape.width * shape.rows);
    const full = Math.floor(texels / shape.width), rest = texels - full * shape.width;
    if (full > 0) {
      encoder.copyBufferToTexture({ buffer: src, offset, bytesPerRow: rowBytes }, {
        texture: dst,
      }, [shape.width, full]);
    }
    if (rest > 0) {
      encoder.copyBufferToTexture(
        { buffer: src, offset: offset + full * rowBytes, bytesPerRow: rowBytes },
        { texture: dst, origin: [0, full] },
        [rest, 1],
      );
    }
    this.#pendingCopies++;
  }

  /** Submits the pending encoder (no-op when nothing is pending). Errors WebGPU finds while
   * finishing/submitting surface at the next synchronize() with the batch's kernel labels. */
  flush(): void {
    const encoder = this.#encoder;
    if (!encoder) return;
    const labels = this.#pendingLabels;
    const copies = this.#pendingCopies;
    this.#encoder = undefined;
    this.#pendingLabels = [];
    this.#pendingCopies = 0;
    dirty.get(this.handle)?.delete(this);
    const doing = `submitting ${describeBatch(labels, copies)} on stream '${this.label}'`;
    this.#endPass();
    assertLive(this.handle, doing);
    scoped(this.handle, () => doing, () => {
      this.handle.device.queue.submit([encoder.finish()]);
    });
    this.submits++;
  }

  /** Submits pending work and waits until the queue has finished it; throws errors caught since
   * the last checkpoint (validation, out-of-memory, device loss) as DeviceErrors. */
  async synchronize(): Promise<void> {
    const doing = `synchronizing stream '${this.label}'`;
    this.flush();
    await queueIdle(this.handle, doing);
    await checkpoint(this.handle, doing);
  }

  /** Submits pending work and returns an event for it (it also covers work other streams of the
   * device submitted before it, since they share the queue). */
  recordEvent(): StreamEvent {
    this.flush();
    return new StreamEvent(this);
  }
}

/** Launches per submit: `runtime.submitBatchSize`, or under 0 (auto) 1024 on lavapipe-class
 * CPU adapters, where the "device" is the host's own cores and an early submit makes the batch
 * run while the host encodes the rest (lavapipe, dispatch-500's 500 launches replayed: 17-18 ms
 * in 8 submits against 12-13 ms in one), and 64 elsewhere: GPUs start on a batch while the host
 * encodes the next; SwiftShader measured even (dispatch-500 replay 19.2 against 17.4 ms,
 * decoder4-8x128 379 against 427). */
export function submitBatchSize(h: DeviceHandle): number {
  const n = config.int("runtime.submitBatchSize");
  if (n > 0) return n;
  return isLavapipeClass(h) ? 1024 : 64;
}

function describeBatch(labels: string[], copies: number): string {
  const parts: string[] = [];
  if (labels.length === 1) parts.push(`kernel '${labels[0]}'`);
  else if (labels.length > 1) {
    const shown = labels.slice(0, 8).map((l) => `'${l}'`).join(", ");
    parts.push(`${labels.length} launches (kernels ${shown}${labels.length > 8 ? ", …" : ""})`);
  }
  if (copies > 0) parts.push(`${copies} copy command(s)`);
  return parts.join(" and ") || "an empty command buffer";
}

const defaultStreams = new Map<number, Stream>();

/** The default stream of device `deviceIndex` (acquiring the device if needed). After a device
 * loss a fresh stream for the re-acquired device is returned. */
export async function getRawStream(deviceIndex = 0): Promise<Stream> {
  const h = await getDevice(deviceIndex);
  let s = defaultStreams.get(deviceIndex);
  if (!s || s.handle !== h) {
    s = new Stream(h, `default stream ${deviceIndex}`);
    defaultStreams.set(deviceIndex, s);
  }
  return s;
}
