// Tensors that live on the GPU: a storage buffer the caller owns, with a shape and a dtype.
// Made once (`tensor`, `zeros`, `empty`) and bound by runs as they are — no copy, no upload —
// the way PyTorch's compiled graphs take parameters as static inputs and write mutated inputs
// in place. A tensor belongs to the device that made it; after that device is lost it must be
// recreated (its memory is gone).
import {
  checkDType,
  type DType,
  dtypeOfArray,
  gpuBytes,
  hostArrayName,
  numel,
  shapeStr,
} from "../dtype.ts";
import type { TypedArray } from "../dtype.ts";
import { DeviceError, InputError, ShapeError } from "../errors.ts";
import { createStorageBuffer, destroyBuffer, download, writeBuffer } from "./buffers.ts";
import { currentDevice, type DeviceHandle, getDevice } from "./device.ts";

export interface TensorOptions {
  /** Element type (default: the array's own — Float32Array f32, Uint8Array bool, … — or f32). */
  dtype?: DType;
  /** A name for error messages and buffer labels. */
  name?: string;
}

let counter = 0;

/** Device bytes of `numel` elements of `dtype` as a storage buffer holds them (bool is a u32 per
 * element; sizes are multiples of 4, at least 4). */
export function storageBytes(dtype: DType, n: number): number {
  return Math.max(4, Math.ceil((n * gpuBytes(dtype)) / 4) * 4);
}

export class Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly name: string;
  /** Bytes of the device buffer. */
  readonly byteLength: number;
  #h: DeviceHandle | undefined;
  #buffer: GPUBuffer | undefined;
  #ready: Promise<void> | undefined;
  #failed: unknown;
  #disposed = false;
  #recycle: ((b: GPUBuffer) => boolean) | undefined;

  /** Internal: use `tensor()`, `zeros()` or `empty()`. */
  constructor(
    shape: readonly number[],
    dtype: DType,
    name: string,
    init?: TypedArray | { h: DeviceHandle; buffer: GPUBuffer },
  ) {
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.name = name;
    this.byteLength = storageBytes(dtype, numel(shape));
    if (init && !ArrayBuffer.isView(init)) {
      this.#h = init.h;
      this.#buffer = init.buffer;
      return;
    }
    const h = currentDevice();
    if (h) this.#create(h, init);
    else {
      // no device yet: upload as soon as one is acquired (uses wait for it)
      this.#ready = getDevice().then((h) => {
        if (!this.#disposed) this.#create(h, init);
      }).catch((e) => {
        this.#failed = e;
      });
    }
  }

  #create(h: DeviceHandle, init?: TypedArray): void {
    const b = createStorageBuffer(h, this.byteLength, `tensor '${this.name}'`);
    try {
      if (init) writeBuffer(h, b, init, this.dtype);
    } catch (e) {
      destroyBuffer(b);
      throw e;
    }
    this.#h = h;
    this.#buffer = b;
  }

  /** Wraps a buffer a run produced (the caller owns it from now on). `recycle`, when given,
   * may take the buffer back at dispose (a compiled graph reusing it for a later output);
   * otherwise, or when it declines, dispose destroys it. */
  static adopt(
    h: DeviceHandle,
    buffer: GPUBuffer,
    shape: readonly number[],
    dtype: DType,
    name: string,
    recycle?: (b: GPUBuffer) => boolean,
  ): Tensor {
    const t = new Tensor(shape, dtype, name, { h, buffer });
    t.#recycle = recycle;
    return t;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  get numel(): number {
    return numel(this.shape);
  }

  /** The device buffer, once uploaded, on device `h`; `where` says who asks (for errors). */
  async bufferOn(h: DeviceHandle, where: string): Promise<GPUBuffer> {
    if (!this.#buffer && this.#ready) await this.#ready;
    return this.bufferNow(h, where);
  }

  /** The device buffer now (throws if it is not uploaded yet, disposed or of another device). */
  bufferNow(h: DeviceHandle | undefined, where: string): GPUBuffer {
    this.#checkUsable(where);
    if (!this.#buffer) {
      throw new DeviceError(`${where}: ${this.describe()} is not on a device yet (await it first)`);
    }
    if (h && this.#h !== h) {
      throw new DeviceError(
        `${where}: ${this.describe()} belongs to another WebGPU device (${this.#h!.info}) than ` +
          `the one in use (${h.info}); tensors are tied to the device that made them: recreate it`,
      );
    }
    return this.#buffer;
  }

  #checkUsable(where: string): void {
    if (this.#disposed) throw new InputError(`${where}: ${this.describe()} was disposed`);
    if (this.#failed) {
      throw new DeviceError(
        `${where}: ${this.describe()} could not be created: ${(this.#failed as Error).message}`,
      );
    }
    if (this.#h?.lost) {
      throw new DeviceError(
        `${where}: ${this.describe()} lived on WebGPU device ${this.#h.index} (${this.#h.info}), ` +
          `which was lost (${this.#h.lostInfo?.reason || "unknown reason"}); its memory is gone ` +
          `and it must be recreated on the new device`,
      );
    }
  }

  /** The device this tensor lives on (undefined until uploaded). */
  get device(): DeviceHandle | undefined {
    return this.#h;
  }

  /** "tensor 'name' [2, 3] f32" — how errors name it. */
  describe(): string {
    return `tensor '${this.name}' ${shapeStr(this.shape)} ${this.dtype}`;
  }

  /** Reads the contents back (waits for the work that writes it: one wait on the queue). */
  async read(): Promise<TypedArray> {
    const doing = `reading ${this.describe()}`;
    if (!this.#buffer && this.#ready) await this.#ready;
    const b = this.bufferNow(undefined, doing);
    return await download(this.#h!, b, this.dtype, this.numel); // flushes pending work first
  }

  /** Frees the device buffer; later use is an InputError naming the tensor. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#buffer && !this.#recycle?.(this.#buffer)) destroyBuffer(this.#buffer);
    this.#buffer = undefined;
  }
}

function checkShape(shape: unknown, where: string): number[] {
  if (
    !Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0)
  ) {
    throw new ShapeError(
      `${where}: shape must be an array of non-negative integers, got ${
        Array.isArray(shape) ? `[${shape.map(String).join(", ")}]` : String(shape)
      }`,
    );
  }
  return shape as number[];
}

function nameOf(opts: TensorOptions | undefined): string {
  return opts?.name ?? `t${counter++}`;
}

/** A tensor holding `data` (uploaded once). `dtype` defaults to the array's own. */
export function tensor(
  data: TypedArray,
  shape: readonly number[],
  opts: TensorOptions = {},
): Tensor {
  const name = nameOf(opts);
  const where = `tensor('${name}')`;
  const s = checkShape(shape, where);
  const own = dtypeOfArray(data);
  if (!own) {
    throw new InputError(
      `${where}: data must be a typed array (Float32Array, Float16Array, Int32Array, ` +
        `Uint32Array or Uint8Array for bool), got ${
          (data as unknown as object)?.constructor?.name ?? typeof data
        }`,
    );
  }
  const dtype = opts.dtype === undefined ? own : checkDType(opts.dtype, `${where}: dtype`);
  if (dtype !== own) {
    throw new InputError(
      `${where}: dtype ${dtype} needs a ${hostArrayName(dtype)}, got ${data.constructor.name}`,
    );
  }
  if (data.length !== numel(s)) {
    throw new ShapeError(
      `${where}: shape ${shapeStr(s)} needs ${numel(s)} elements, got ${data.length}`,
    );
  }
  return new Tensor(s, dtype, name, data);
}

/** A tensor of zeros (WebGPU clears new buffers). */
export function zeros(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  const name = nameOf(opts);
  const where = `zeros('${name}')`;
  const s = checkShape(shape, where);
  return new Tensor(s, checkDType(opts.dtype ?? "f32", `${where}: dtype`), name);
}

/** A tensor whose contents are unspecified (on WebGPU they are zeros: buffers are cleared). */
export function empty(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  const name = nameOf(opts);
  const where = `empty('${name}')`;
  const s = checkShape(shape, where);
  return new Tensor(s, checkDType(opts.dtype ?? "f32", `${where}: dtype`), name);
}
