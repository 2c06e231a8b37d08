// In-place lowerings: copy_ and index_copy_ (upstream torch/_inductor/lowering.py `copy_` /
// `index_copy_` and ir.MutationLayout): the written buffer or view, and the readers of its old
// contents realized first.
import { contiguousStrides, shapeStr } from "../../dtype.ts";
import { UnsupportedOpError } from "../../errors.ts";
import type { Node } from "../../fx/graph.ts";
import { iind, type IndexExpr, ivars, ravel } from "../index_expr.ts";
import { vbin, vcast, vconst } from "../value_expr.ts";
import {
  bufferBox,
  isPlainRead,
  type LoweringContext,
  type TBox,
  vars,
} from "../lowering_context.ts";

/** The buffer a written value lives in and, for a view, where each of its elements sits in
 * that buffer (a view folds into one load of the base; upstream writes through the view's
 * strides). Unrealized values and broadcast views (several elements, one location) cannot be
 * written. */
export function writeTarget(
  dst: TBox,
  where: string,
): { buffer: string; at: (idx: IndexExpr[]) => IndexExpr } {
  if (dst.buffer) {
    const st = contiguousStrides(dst.shape);
    return { buffer: dst.buffer, at: (idx) => ravel(idx, st) };
  }
  const probe = isPlainRead(dst) ? dst.load(vars("x", dst.shape)) : null;
  if (!probe || probe.k !== "load") {
    throw new UnsupportedOpError(
      `${where}: writing in place needs a tensor or a view of one; this value is computed ` +
        `(shape ${shapeStr(dst.shape)}), not stored`,
    );
  }
  const used = ivars(probe.index);
  dst.shape.forEach((s, i) => {
    if (s > 1 && !used.has(`x${i}`)) {
      throw new UnsupportedOpError(
        `${where}: writing in place into a broadcast view (dim ${i} of ${
          shapeStr(dst.shape)
        } repeats one element): several elements would share one memory location`,
      );
    }
  });
  return {
    buffer: probe.buf,
    at: (idx) => {
      const e = dst.load(idx);
      if (e.k !== "load") throw new UnsupportedOpError(`${where}: view write did not fold`);
      return e.index;
    },
  };
}

export function lowerCopy(gl: LoweringContext, node: Node, where: string): TBox {
  const dst = gl.box(node.args[0], where);
  const tgt = writeTarget(dst, where);
  gl.realizeReadersOf(tgt.buffer);
  const src = gl.operand(node.args[1], dst.dtype, where);
  const idx = vars("x", dst.shape);
  gl.addBuffer({
    shape: [...dst.shape],
    dtype: dst.dtype,
    def: {
      kind: "pointwise",
      ranges: [...dst.shape],
      body: src(idx),
      ...(dst.buffer ? {} : { store: { index: tgt.at(idx), guard: null } }),
    },
    layout: "fixed",
    target: tgt.buffer,
    originNode: node.name,
  });
  return dst.buffer ? bufferBox(dst.buffer, dst.shape, dst.dtype) : dst;
}

/** index_copy_(dst, dim, index, src): dst[..., index[i], ...] = src[..., i, ...] for a runtime
 * index tensor; rows outside [0, dst.shape[dim]) are skipped on the GPU (never written out of
 * bounds), where the reference raises. */
export function lowerIndexCopy(gl: LoweringContext, node: Node, where: string): TBox {
  const dst = gl.box(node.args[0], where);
  const d = node.args[1] as number;
  const dim = d < 0 ? d + dst.shape.length : d;
  const index = gl.box(node.args[2], where);
  const srcBox = gl.box(node.args[3], where);
  const tgt = writeTarget(dst, where);
  gl.realizeReadersOf(tgt.buffer);
  const idx = vars("x", srcBox.shape);
  const row = vcast(index.load([idx[dim]]), "u32");
  const size = dst.shape[dim];
  const dstIdx = idx.map((e, i) => (i === dim ? iind(row.key, row, size) : e));
  gl.addBuffer({
    shape: [...srcBox.shape],
    dtype: dst.dtype,
    def: {
      kind: "pointwise",
      ranges: [...srcBox.shape],
      body: vcast(srcBox.load(idx), dst.dtype),
      store: { index: tgt.at(dstIdx), guard: vbin("lt", row, vconst(size, "u32"), "bool") },
    },
    layout: "fixed",
    target: tgt.buffer,
    originNode: node.name,
  });
  return dst.buffer ? bufferBox(dst.buffer, dst.shape, dst.dtype) : dst;
}
