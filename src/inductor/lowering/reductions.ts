// Reduction lowerings (upstream torch/_inductor/lowering.py's make_reduction for sum, mean,
// amax/amin and argmax, and the softmax / log_softmax decompositions of
// torch/_decomp/decompositions.py): a Reduction buffer over the reduced dims, a mean divides
// the sum, softmax subtracts the row max before exp and divides by the row sum, all in f32.
import type { Node } from "../../fx/graph.ts";
import type { IndexExpr } from "../index_expr.ts";
import type { ReductionType } from "../ir.ts";
import { vbin, vcast, vconst, vun } from "../value_expr.ts";
import {
  accDType,
  broadcastIndex,
  type LoweringContext,
  normDim,
  type TBox,
} from "../lowering_context.ts";

/** The dims a reduction's `dim` argument names (all of them when absent), sorted, unique. */
export function reduceDims(dim: unknown, rank: number): number[] {
  if (dim === null || dim === undefined) return [...Array(rank).keys()];
  const ds = (Array.isArray(dim) ? dim : [dim]).map((d) => normDim(Number(d), rank));
  return [...new Set(ds)].sort((a, b) => a - b);
}

/** sum, mean, max, min, argmax over `dim` (keepdim puts the reduced dims back as size 1). */
export function lowerReduction(gl: LoweringContext, node: Node, where: string): TBox {
  const t = node.target as "sum" | "mean" | "max" | "min" | "argmax";
  const m = node.meta!;
  const kw = node.kwargs as Record<string, unknown>;
  const x = gl.box(node.args[0], where);
  const dims = reduceDims(kw.dim, x.shape.length);
  const keep = Boolean(kw.keepdim);
  const rtype: ReductionType = t === "mean" ? "sum" : t;
  const acc = t === "argmax" ? "i32" : accDType(x.dtype, rtype);
  let r = gl.reduce(x, dims, rtype, acc);
  if (t === "mean") {
    const n = dims.reduce((p, d) => p * x.shape[d], 1);
    const s = r;
    r = {
      ...s,
      buffer: undefined,
      load: (idx) => vbin("div", s.load(idx), vconst(n, acc), acc),
    };
  }
  if (r.dtype !== m.dtype) {
    const s = r;
    r = { shape: s.shape, dtype: m.dtype, load: (idx) => vcast(s.load(idx), m.dtype) };
  }
  return keep ? gl.reshapeBox(r, m.shape) : r;
}

/** softmax and log_softmax over `dim` (default the last), computed in f32. */
export function lowerSoftmax(gl: LoweringContext, node: Node, where: string): TBox {
  const m = node.meta!;
  const kw = node.kwargs as Record<string, unknown>;
  const x = gl.f32(gl.box(node.args[0], where));
  const d = normDim(Number(kw.dim ?? -1), x.shape.length);
  const mx = gl.keep(gl.reduce(x, [d], "max", "f32"), x.shape, [d]);
  const shifted = (idx: IndexExpr[]) =>
    vbin("sub", x.load(idx), mx.load(broadcastIndex(idx, mx.shape)), "f32");
  const e: TBox = { shape: x.shape, dtype: "f32", load: (idx) => vun("exp", shifted(idx)) };
  const s = gl.keep(gl.reduce(e, [d], "sum", "f32"), x.shape, [d]);
  const load = node.target === "softmax"
    ? (idx: IndexExpr[]) => vbin("div", e.load(idx), s.load(broadcastIndex(idx, s.shape)), "f32")
    : (idx: IndexExpr[]) =>
      vbin("sub", shifted(idx), vun("log", s.load(broadcastIndex(idx, s.shape))), "f32");
  return { shape: x.shape, dtype: m.dtype, load: (idx) => vcast(load(idx), m.dtype) };
}
