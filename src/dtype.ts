// Tensor element types and their host/GPU representations.
import { DTypeError } from "./errors.ts";

export const DTYPES = ["f32", "f16", "i32", "u32", "bool"] as const;
export type DType = typeof DTYPES[number];

/** Host arrays for each dtype. bool travels as 0/1 bytes on the host and as u32 on the GPU
 * (WGSL `bool` is not host-shareable). */
export type TypedArray = Float32Array | Float16Array | Int32Array | Uint32Array | Uint8Array;

export function isDType(x: unknown): x is DType {
  return typeof x === "string" && (DTYPES as readonly string[]).includes(x);
}

export function checkDType(x: unknown, where: string): DType {
  if (!isDType(x)) {
    throw new DTypeError(
      `${where}: unknown dtype ${JSON.stringify(x)}; expected one of ${DTYPES.join(", ")}`,
    );
  }
  return x;
}

export function isFloat(d: DType): boolean {
  return d === "f32" || d === "f16";
}

/** Bytes per element in host memory. */
export function hostBytes(d: DType): number {
  return d === "f16" ? 2 : d === "bool" ? 1 : 4;
}

/** Bytes per element in a GPU storage buffer. */
export function gpuBytes(d: DType): number {
  return d === "f16" ? 2 : 4;
}

/** The WGSL scalar type a dtype is stored as in a storage buffer. */
export function wgslStorageType(d: DType): string {
  return d === "bool" ? "u32" : d;
}

export function typedArrayFor(d: DType, n: number): TypedArray {
  switch (d) {
    case "f32":
      return new Float32Array(n);
    case "f16":
      return new Float16Array(n);
    case "i32":
      return new Int32Array(n);
    case "u32":
      return new Uint32Array(n);
    case "bool":
      return new Uint8Array(n);
  }
}

/** The dtype a host array stands for (Uint8Array → bool). */
export function dtypeOfArray(a: unknown): DType | null {
  if (a instanceof Float32Array) return "f32";
  if (a instanceof Float16Array) return "f16";
  if (a instanceof Int32Array) return "i32";
  if (a instanceof Uint32Array) return "u32";
  if (a instanceof Uint8Array) return "bool";
  return null;
}

/** Round a float64 value the way storing it in `d` would (used by the reference interpreter). */
export function castScalar(v: number, d: DType): number {
  switch (d) {
    case "f32":
      return Math.fround(v);
    case "f16":
      return Math.f16round(v);
    case "i32":
      return Number.isNaN(v) ? 0 : (Math.trunc(v) | 0);
    case "u32":
      return Number.isNaN(v) ? 0 : (Math.trunc(v) >>> 0);
    case "bool":
      return v !== 0 && !Number.isNaN(v) ? 1 : 0;
  }
}

/** Result dtype of a binary arithmetic op (a small version of torch's type promotion). */
export function promote(a: DType, b: DType): DType {
  if (a === b) return a;
  const rank: Record<DType, number> = { bool: 0, u32: 1, i32: 2, f16: 3, f32: 4 };
  return rank[a] >= rank[b] ? a : b;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** Row-major strides of a contiguous shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i];
  }
  return st;
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
