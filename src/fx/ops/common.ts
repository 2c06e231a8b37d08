// Argument and kwarg accessors shared by every op family. Rules receive `where`
// ("node 'add_1' (add)") and put it first in every message.
import { type DType, isDType, isFloat, shapeStr } from "../../dtype.ts";
import { DTypeError, GraphError } from "../../errors.ts";
import type { RefTensor } from "../ref_tensor.ts";
import type { TensorMeta } from "../graph.ts";
import type { MetaArg, OpKwargs, RefArg } from "../op_def.ts";

/** Marks a kwarg without a default: the builder refuses a call that omits it. */
export const REQUIRED: unique symbol = Symbol("required");

export function isTensorMeta(a: unknown): a is TensorMeta {
  return typeof a === "object" && a !== null && !Array.isArray(a) && "shape" in a &&
    "dtype" in a;
}

/** A short description of a non-tensor argument for error messages. */
export function describe(a: unknown): string {
  if (isTensorMeta(a)) return `${a.dtype}${shapeStr(a.shape)}`;
  if (typeof a === "number" || typeof a === "boolean") return `${typeof a} ${a}`;
  if (a === null || a === undefined) return String(a);
  return JSON.stringify(a);
}

export function tensorAt(args: MetaArg[], i: number, name: string, where: string): TensorMeta {
  const a = args[i];
  if (!isTensorMeta(a)) {
    throw new GraphError(`${where}: argument '${name}' must be a tensor, got ${describe(a)}`);
  }
  return a;
}

/** A tensor argument that may be null or left out (layer_norm's weight and bias). */
export function optTensorAt(
  args: MetaArg[],
  i: number,
  name: string,
  where: string,
): TensorMeta | null {
  return args[i] === null || args[i] === undefined ? null : tensorAt(args, i, name, where);
}

/** A tensor or a number/boolean literal (binary ops, where). */
export function operandAt(args: MetaArg[], i: number, name: string, where: string) {
  const a = args[i];
  if (typeof a === "number" || typeof a === "boolean") return Number(a);
  return tensorAt(args, i, name, where);
}

/** References see validated args, so these only narrow types. */
export function refAt(args: RefArg[], i: number): RefTensor {
  return args[i] as RefTensor;
}

export function optRefAt(args: RefArg[], i: number): RefTensor | null {
  return (args[i] ?? null) as RefTensor | null;
}

export function newRef(shape: number[], dtype: DType, data: Float64Array): RefTensor {
  return { shape, dtype, data };
}

function bad(where: string, name: string, want: string, v: unknown): never {
  throw new GraphError(`${where}: kwarg '${name}' must be ${want}, got ${describe(v)}`);
}

export function kwInt(kw: OpKwargs, name: string, where: string): number {
  const v = kw[name];
  if (typeof v !== "number" || !Number.isInteger(v)) bad(where, name, "an integer", v);
  return v;
}

export function kwOptInt(kw: OpKwargs, name: string, where: string): number | null {
  return kw[name] === null ? null : kwInt(kw, name, where);
}

export function kwNumber(kw: OpKwargs, name: string, where: string): number {
  const v = kw[name];
  if (typeof v !== "number") bad(where, name, "a number", v);
  return v;
}

export function kwBool(kw: OpKwargs, name: string, where: string): boolean {
  const v = kw[name];
  if (typeof v !== "boolean") bad(where, name, "a boolean", v);
  return v;
}

export function kwIntList(kw: OpKwargs, name: string, where: string): number[] {
  const v = kw[name];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "number" && Number.isInteger(x))) {
    bad(where, name, "a list of integers", v);
  }
  return v as number[];
}

/** Reduction dims: an integer, a list of integers, or null (all dims). */
export function kwDims(kw: OpKwargs, name: string, where: string): number | number[] | null {
  const v = kw[name];
  if (v === null || (typeof v === "number" && Number.isInteger(v))) return v;
  return kwIntList(kw, name, where);
}

export function kwDType(kw: OpKwargs, name: string, where: string): DType {
  const v = kw[name];
  if (!isDType(v)) bad(where, name, "a dtype (f32, f16, i32, u32, bool)", v);
  return v;
}

export function kwOptDType(kw: OpKwargs, name: string, where: string): DType | null {
  return kw[name] === null ? null : kwDType(kw, name, where);
}

export function kwChoice<T extends string>(
  kw: OpKwargs,
  name: string,
  choices: readonly T[],
  where: string,
): T {
  const v = kw[name];
  if (!choices.includes(v as T)) bad(where, name, `one of ${choices.join(", ")}`, v);
  return v as T;
}

export function requireFloat(m: TensorMeta, where: string, what = "input"): void {
  if (!isFloat(m.dtype)) {
    throw new DTypeError(
      `${where}: ${what} has dtype ${m.dtype}; this op needs a float dtype (f32, f16)`,
    );
  }
}

export function requireSameDType(
  a: TensorMeta,
  b: TensorMeta,
  where: string,
  names: [string, string],
): void {
  if (a.dtype !== b.dtype) {
    throw new DTypeError(
      `${where}: ${names[0]} is ${a.dtype} but ${names[1]} is ${b.dtype}; they must match`,
    );
  }
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}
