// Reductions over a set of dims (sum, mean, max, min) and argmax over one dim or all.
// dim: int | int[] | null (null or [] = every dim, as torch treats an empty list).
// sum of bool gives i32 (torch: int64); integer sums wrap modulo 2^32 like the GPU does.
import { type DType, numel, shapeStr } from "../../dtype.ts";
import { DTypeError, ShapeError } from "../../errors.ts";
import type { RefTensor } from "../ref_tensor.ts";
import type { TensorMeta } from "../graph.ts";
import type { OpDef, OpKwargs } from "../op_def.ts";
import { normDim, normDims } from "./broadcast.ts";
import { kwBool, kwDims, kwOptInt, newRef, refAt, requireFloat, tensorAt } from "./common.ts";
import { permuteData } from "./strided.ts";

/** Reduce data[s .. s+n) to one value. */
type RowFn = (d: Float64Array, s: number, n: number) => number;

function rowSum(d: Float64Array, s: number, n: number): number {
  let acc = 0;
  for (let i = s; i < s + n; i++) acc += d[i];
  return acc;
}

/** NaN-propagating extremum, like torch.max/min. */
function rowExt(sign: 1 | -1): RowFn {
  return (d, s, n) => {
    let best = d[s];
    for (let i = s + 1; i < s + n; i++) {
      const v = d[i];
      if (Number.isNaN(v)) return v;
      if ((v - best) * sign > 0) best = v;
    }
    return best;
  };
}

/** First index of the maximum; NaN counts as the maximum (torch.argmax). */
function rowArgmax(d: Float64Array, s: number, n: number): number {
  let bi = 0;
  for (let i = 1; i < n; i++) {
    const v = d[s + i];
    if (Number.isNaN(d[s + bi])) break;
    if (Number.isNaN(v) || v > d[s + bi]) bi = i;
  }
  return bi;
}

interface ReduceSpec {
  row: RowFn;
  dtype(x: TensorMeta, where: string): DType;
  /** max/min/argmax have no identity, so an empty reduction is an error. */
  needsElements?: boolean;
}

const REDUCTIONS: Record<string, ReduceSpec> = {
  sum: { row: rowSum, dtype: (x) => (x.dtype === "bool" ? "i32" : x.dtype) },
  mean: {
    row: (d, s, n) => rowSum(d, s, n) / n,
    dtype: (x, w) => (requireFloat(x, w), x.dtype),
  },
  max: { row: rowExt(1), dtype: (x) => x.dtype, needsElements: true },
  min: { row: rowExt(-1), dtype: (x) => x.dtype, needsElements: true },
};

/** Normalised reduced dims (sorted) and the output shape. */
function plan(x: TensorMeta, kw: OpKwargs, where: string, single: boolean) {
  const dim = single ? kwOptInt(kw, "dim", where) : kwDims(kw, "dim", where);
  const keepdim = kwBool(kw, "keepdim", where);
  const all = x.shape.map((_, i) => i);
  const dims = dim === null || (Array.isArray(dim) && dim.length === 0)
    ? all
    : normDims(typeof dim === "number" ? [dim] : dim, x.shape.length, where);
  const out = keepdim
    ? x.shape.map((s, i) => (dims.includes(i) ? 1 : s))
    : x.shape.filter((_, i) => !dims.includes(i));
  return { dims, out };
}

function checkNonEmpty(x: TensorMeta, dims: number[], where: string, name: string) {
  if (numel(dims.map((d) => x.shape[d])) === 0) {
    throw new ShapeError(
      `${where}: ${name} over a zero-size dim of ${shapeStr(x.shape)} has no identity`,
    );
  }
}

/** Rows of the reduced dims, laid out contiguously after the kept ones. */
function rows(x: RefTensor, dims: number[]): [Float64Array, number] {
  const kept = x.shape.map((_, i) => i).filter((i) => !dims.includes(i));
  const data = permuteData(x.data, x.shape, [...kept, ...dims]);
  return [data, numel(dims.map((d) => x.shape[d]))];
}

function reductionOp(name: string, spec: ReduceSpec): OpDef {
  return {
    name,
    kind: "reduction",
    signature: `${name}(x, dim=null, keepdim=false)`,
    minArgs: 1,
    maxArgs: 1,
    kwargs: { dim: null, keepdim: false },
    shape(args, kw, where) {
      const x = tensorAt(args, 0, "x", where);
      const { dims, out } = plan(x, kw, where, false);
      if (spec.needsElements) checkNonEmpty(x, dims, where, name);
      return out;
    },
    dtype: (args, _kw, where) => spec.dtype(tensorAt(args, 0, "x", where), where),
    reference(args, kw, out) {
      const x = refAt(args, 0);
      const { dims } = plan(x, kw, name, false);
      const [data, n] = rows(x, dims);
      const res = new Float64Array(numel(out!.shape));
      for (let r = 0; r < res.length; r++) res[r] = spec.row(data, r * n, n);
      return newRef(out!.shape.slice(), out!.dtype, res);
    },
  };
}

const argmax: OpDef = {
  name: "argmax",
  kind: "reduction",
  signature: "argmax(x, dim=null, keepdim=false) -> i32; first index of the maximum",
  minArgs: 1,
  maxArgs: 1,
  kwargs: { dim: null, keepdim: false },
  shape(args, kw, where) {
    const x = tensorAt(args, 0, "x", where);
    const { dims, out } = plan(x, kw, where, true);
    checkNonEmpty(x, dims, where, "argmax");
    return out;
  },
  dtype(args, _kw, where) {
    const x = tensorAt(args, 0, "x", where);
    if (x.dtype === "bool") throw new DTypeError(`${where}: argmax does not accept bool`);
    return "i32";
  },
  reference(args, kw, out) {
    const x = refAt(args, 0);
    const d = kw.dim as number | null;
    // dim=null indexes the flattened tensor: one row holding every element in order.
    const [data, n] = d === null
      ? [x.data, x.data.length]
      : rows(x, [normDim(d, x.shape.length, "argmax")]);
    const res = new Float64Array(numel(out!.shape));
    for (let r = 0; r < res.length; r++) res[r] = rowArgmax(data, r * n, n);
    return newRef(out!.shape.slice(), "i32", res);
  },
};

export const REDUCTION_OPS: OpDef[] = [
  ...Object.entries(REDUCTIONS).map(([n, s]) => reductionOp(n, s)),
  argmax,
];
