// View lowerings (upstream torch/_inductor/lowering.py's permute, expand and slice_, which build
// ir.PermuteView, ExpandView and SliceView): no buffer, only an index mapping from the view's
// indices to the source's, folded into whatever loads the view.
import type { Node } from "../../fx/graph.ts";
import { iadd, iconst, imul, type IndexExpr } from "../index_expr.ts";
import { broadcastIndex, type LoweringContext, normDim, type TBox } from "../lowering_context.ts";

/** permute(dims) and transpose(dim0, dim1): output index i reads source index dims[i]. */
export function lowerPermute(gl: LoweringContext, node: Node, where: string): TBox {
  const kw = node.kwargs as Record<string, unknown>;
  const x = gl.box(node.args[0], where);
  const r = x.shape.length;
  let dims: number[];
  if (node.target === "permute") dims = (kw.dims as number[]).map((d) => normDim(d, r));
  else {
    dims = [...Array(r).keys()];
    const a = normDim(Number(kw.dim0), r), b = normDim(Number(kw.dim1), r);
    [dims[a], dims[b]] = [dims[b], dims[a]];
  }
  return {
    shape: node.meta!.shape,
    dtype: x.dtype,
    load: (idx) => {
      const src = new Array<IndexExpr>(r);
      dims.forEach((d, i) => (src[d] = idx[i]));
      return x.load(src);
    },
  };
}

/** expand: broadcast dims read index 0 of the source. */
export function lowerExpand(gl: LoweringContext, node: Node, where: string): TBox {
  const x = gl.box(node.args[0], where);
  return {
    shape: node.meta!.shape,
    dtype: x.dtype,
    load: (idx) => x.load(broadcastIndex(idx, x.shape)),
  };
}

/** slice(dim, start, end, step): index i of `dim` reads start + i * step (start clamped into
 * the dim as torch does, a negative start counted from the end). */
export function lowerSlice(gl: LoweringContext, node: Node, where: string): TBox {
  const kw = node.kwargs as Record<string, unknown>;
  const x = gl.box(node.args[0], where);
  const d = normDim(Number(kw.dim ?? 0), x.shape.length);
  const size = x.shape[d];
  const step = Number(kw.step ?? 1);
  let start = kw.start == null ? 0 : Number(kw.start);
  if (start < 0) start += size;
  start = Math.min(Math.max(start, 0), size);
  return {
    shape: node.meta!.shape,
    dtype: x.dtype,
    load: (idx) => x.load(idx.map((e, i) => (i === d ? iadd(imul(e, step), iconst(start)) : e))),
  };
}
