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

/** The host array class a dtype travels in (bool: Uint8Array of 0/1), for error messages. */
export function hostArrayName(d: DType): string {
  return d === "bool" ? "Uint8Array (0/1)" : typedArrayFor(d, 0).constructor.name;
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

/** Round a float64 result into `d` the way the GPU's arithmetic in `d` does (used by the
 * reference interpreter): floats round to f32/f16, integers wrap modulo 2^32 (i32 add, mul and
 * sum overflow wrap on the GPU), bool is "non-zero" (NaN is True, as torch's bool(NaN)). */
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
      return v !== 0 ? 1 : 0;
  }
}

const I32_MIN = -2147483648, I32_MAX = 2147483647, U32_MAX = 4294967295;

/** Convert a float value (a float tensor's element or a number literal) to `d`: the rule of
 * `cast`, `copy_` and literals. Into i32/u32 it truncates toward zero and saturates: NaN -> 0,
 * +inf and values past the top -> the largest integer, -inf and values past the bottom -> the
 * smallest (0 for u32). torch on CUDA and WGSL's own conversion do the same; torch on x86 CPUs
 * gives INT_MIN for NaN, ±inf and out-of-range values instead (undefined behaviour in C++). The
 * generated kernels implement the same rule (codegen/wgsl/ieee.ts). */
export function convertScalar(v: number, d: DType): number {
  switch (d) {
    case "i32":
      if (Number.isNaN(v)) return 0;
      return v >= I32_MAX ? I32_MAX : v <= I32_MIN ? I32_MIN : Math.trunc(v) | 0;
    case "u32":
      if (Number.isNaN(v) || v <= 0) return 0;
      return v >= U32_MAX ? U32_MAX : Math.trunc(v) >>> 0;
    default:
      return castScalar(v, d);
  }
}

/** Convert an element of dtype `from` to `to` as `cast` does: floats by convertScalar's
 * saturating rule, integers and bools by bits (wrapping, as torch and WGSL do). */
export function convertFrom(v: number, from: DType, to: DType): number {
  return isFloat(from) ? convertScalar(v, to) : castScalar(v, to);
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
