// Numpy broadcasting and dim normalisation, shared by shape rules and references.
import { contiguousStrides, shapeStr } from "../../dtype.ts";
import { ShapeError } from "../../errors.ts";
import type { RefTensor } from "../ref_tensor.ts";
import { sameShape } from "./common.ts";
import { gather } from "./strided.ts";

/** The broadcast of two shapes; ShapeError naming both when a pair of dims differs and
 * neither is 1. */
export function broadcastShapes(a: readonly number[], b: readonly number[], where: string) {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      throw new ShapeError(
        `${where}: cannot broadcast shapes ${shapeStr(a)} and ${shapeStr(b)} ` +
          `(dim ${i - n}: ${x} vs ${y})`,
      );
    }
    out[i] = x === 1 ? y : x;
  }
  return out;
}

/** Strides that read a contiguous `inShape` tensor as `outShape` (0 on broadcast dims). */
export function broadcastStrides(inShape: readonly number[], outShape: readonly number[]) {
  const st = contiguousStrides(inShape);
  const k = outShape.length - inShape.length;
  return outShape.map((_, i) => (i < k || inShape[i - k] === 1 ? 0 : st[i - k]));
}

/** `t`'s data materialised at `shape` (shared, not copied, when no broadcasting is needed:
 * callers only read it). */
export function broadcastTo(t: RefTensor, shape: readonly number[]): Float64Array {
  if (sameShape(t.shape, shape)) return t.data;
  return gather(t.data, shape, broadcastStrides(t.shape, shape));
}

/** A dim in [-ndim, ndim) made non-negative; ShapeError otherwise. */
export function normDim(d: number, ndim: number, where: string, what = "dim"): number {
  if (!Number.isInteger(d) || d < -ndim || d >= ndim) {
    throw new ShapeError(
      `${where}: ${what} ${d} is out of range for a ${ndim}-d tensor ` +
        `(expected ${-ndim} to ${ndim - 1})`,
    );
  }
  return d < 0 ? d + ndim : d;
}

/** Distinct normalised dims, sorted; duplicates are a ShapeError. */
export function normDims(dims: readonly number[], ndim: number, where: string): number[] {
  const out = dims.map((d) => normDim(d, ndim, where));
  const seen = new Set<number>();
  for (let i = 0; i < out.length; i++) {
    if (seen.has(out[i])) {
      throw new ShapeError(`${where}: dim ${dims[i]} appears more than once in ${shapeStr(dims)}`);
    }
    seen.add(out[i]);
  }
  return out.sort((a, b) => a - b);
}
