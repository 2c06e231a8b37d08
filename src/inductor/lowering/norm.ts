// Normalisation lowerings (upstream: layer_norm and rms_norm decompose, in
// torch/_decomp/decompositions.py, into the reductions and pointwise ops lowered in
// torch/_inductor/lowering.py): statistics as f32 reductions, the result a pointwise body.
import { numel } from "../../dtype.ts";
import type { Node } from "../../fx/graph.ts";
import { type IndexExpr } from "../index_expr.ts";
import { vbin, vcast, vconst, type VExpr, vun } from "../value_expr.ts";
import { broadcastIndex, type LoweringContext, type TBox } from "../lowering_context.ts";

export function lowerNorm(gl: LoweringContext, node: Node, where: string): TBox {
  const kw = node.kwargs as Record<string, unknown>;
  const x = gl.f32(gl.box(node.args[0], where));
  const ns = (kw.normalized_shape as number[]) ?? [x.shape[x.shape.length - 1]];
  const rank = x.shape.length;
  const dims = ns.map((_, i) => rank - ns.length + i);
  const n = numel(ns);
  const eps = Number(kw.eps ?? (node.target === "layer_norm" ? 1e-5 : 1e-6));
  const w = node.args[1] ? gl.operand(node.args[1], "f32", where) : null;
  const bias = node.target === "layer_norm" && node.args[2]
    ? gl.operand(node.args[2], "f32", where)
    : null;
  const c = (v: number) => vconst(v, "f32");
  let centered: (idx: IndexExpr[]) => VExpr;
  let meanSq: TBox;
  if (node.target === "layer_norm") {
    const mean = gl.keep(gl.reduce(x, dims, "sum", "f32"), x.shape, dims);
    centered = (idx) =>
      vbin(
        "sub",
        x.load(idx),
        vbin("div", mean.load(broadcastIndex(idx, mean.shape)), c(n), "f32"),
        "f32",
      );
    const sq: TBox = {
      shape: x.shape,
      dtype: "f32",
      load: (idx) => vbin("mul", centered(idx), centered(idx), "f32"),
    };
    meanSq = gl.keep(gl.reduce(sq, dims, "sum", "f32"), x.shape, dims);
  } else {
    centered = (idx) => x.load(idx);
    const sq: TBox = {
      shape: x.shape,
      dtype: "f32",
      load: (idx) => vbin("mul", x.load(idx), x.load(idx), "f32"),
    };
    meanSq = gl.keep(gl.reduce(sq, dims, "sum", "f32"), x.shape, dims);
  }
  const out = node.meta!;
  return {
    shape: out.shape,
    dtype: out.dtype,
    load: (idx) => {
      const inv = vun(
        "rsqrt",
        vbin(
          "add",
          vbin("div", meanSq.load(broadcastIndex(idx, meanSq.shape)), c(n), "f32"),
          c(eps),
          "f32",
        ),
      );
      let y = vbin("mul", centered(idx), inv, "f32");
      if (w) y = vbin("mul", y, w(idx), "f32");
      if (bias) y = vbin("add", y, bias(idx), "f32");
      return vcast(y, out.dtype);
    },
  };
}
