// Strided copies: every view, broadcast and permutation in the reference goes through `gather`,
// so the interpreter has one tight loop for index arithmetic instead of one per op.
import { contiguousStrides, numel } from "../../dtype.ts";

/** Copy the strided view (shape, strides, offset) of `src` into a new contiguous array. */
export function gather(
  src: Float64Array,
  shape: readonly number[],
  strides: readonly number[],
  offset = 0,
): Float64Array {
  const n = numel(shape);
  const out = new Float64Array(n);
  const nd = shape.length;
  if (n === 0) return out;
  if (nd === 0) {
    out[0] = src[offset];
    return out;
  }
  const inner = shape[nd - 1];
  const innerStride = strides[nd - 1];
  const idx = new Array<number>(nd).fill(0);
  let base = offset;
  let o = 0;
  for (;;) {
    for (let j = 0, p = base; j < inner; j++, p += innerStride) out[o++] = src[p];
    // Odometer over the outer dims.
    let d = nd - 2;
    for (; d >= 0; d--) {
      base += strides[d];
      if (++idx[d] < shape[d]) break;
      base -= strides[d] * shape[d];
      idx[d] = 0;
    }
    if (d < 0) return out;
  }
}

/** Data of a contiguous tensor with its dims reordered: out dim i is input dim perm[i]. */
export function permuteData(
  data: Float64Array,
  shape: readonly number[],
  perm: readonly number[],
): Float64Array {
  if (perm.every((p, i) => p === i)) return data.slice();
  const st = contiguousStrides(shape);
  return gather(data, perm.map((p) => shape[p]), perm.map((p) => st[p]));
}

/** Split `shape` around `dim` into (outer, len, inner) so element (o, j, i) sits at
 * o*len*inner + j*inner + i: the layout every "along one dim" op loops over. */
export function aroundDim(shape: readonly number[], dim: number): [number, number, number] {
  return [numel(shape.slice(0, dim)), shape[dim], numel(shape.slice(dim + 1))];
}
