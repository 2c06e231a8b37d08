// Tensors made from nothing (full, empty) or from another's shape (empty_like).
// The reference fills `empty` with zeros; real empty memory is uninitialised, so graphs must
// not read it before writing (tests poison GPU buffers to catch that).
import { convertScalar, numel, shapeStr } from "../../dtype.ts";
import { GraphError, ShapeError } from "../../errors.ts";
import type { OpDef, OpKwargs } from "../op_def.ts";
import { describe, kwDType, kwIntList, kwOptDType, newRef, REQUIRED, tensorAt } from "./common.ts";

function kwShape(kw: OpKwargs, where: string): number[] {
  const s = kwIntList(kw, "shape", where);
  if (s.some((d) => d < 0)) throw new ShapeError(`${where}: negative size in ${shapeStr(s)}`);
  return s.slice();
}

function fullValue(kw: OpKwargs, where: string): number {
  const v = kw.value;
  if (typeof v === "boolean") return Number(v);
  if (typeof v !== "number") {
    throw new GraphError(`${where}: kwarg 'value' must be a number, got ${describe(v)}`);
  }
  return v;
}

const full: OpDef = {
  name: "full",
  kind: "creation",
  signature: "full(shape, value, dtype=f32)",
  minArgs: 0,
  maxArgs: 0,
  kwargs: { shape: REQUIRED, value: REQUIRED, dtype: "f32" },
  shape: (_a, kw, w) => (fullValue(kw, w), kwShape(kw, w)),
  dtype: (_a, kw, w) => kwDType(kw, "dtype", w),
  reference: (_a, kw, out) =>
    newRef(
      out!.shape.slice(),
      out!.dtype,
      new Float64Array(numel(out!.shape)).fill(convertScalar(fullValue(kw, ""), out!.dtype)),
    ),
};

const empty: OpDef = {
  name: "empty",
  kind: "creation",
  signature: "empty(shape, dtype=f32): uninitialised (the reference fills zeros)",
  minArgs: 0,
  maxArgs: 0,
  kwargs: { shape: REQUIRED, dtype: "f32" },
  shape: (_a, kw, w) => kwShape(kw, w),
  dtype: (_a, kw, w) => kwDType(kw, "dtype", w),
  reference: (_a, _kw, out) =>
    newRef(out!.shape.slice(), out!.dtype, new Float64Array(numel(out!.shape))),
};

const emptyLike: OpDef = {
  name: "empty_like",
  kind: "creation",
  signature: "empty_like(x, dtype=null): x's shape, x's dtype unless given",
  minArgs: 1,
  maxArgs: 1,
  kwargs: { dtype: null },
  shape: (args, _kw, w) => tensorAt(args, 0, "x", w).shape.slice(),
  dtype: (args, kw, w) => kwOptDType(kw, "dtype", w) ?? tensorAt(args, 0, "x", w).dtype,
  reference: empty.reference,
};

export const CREATION_OPS: OpDef[] = [full, empty, emptyLike];
