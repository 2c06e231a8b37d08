// cat (upstream torch/_inductor/lowering.py `cat`: a ConcatKernel of realized inputs, or a
// pointwise select between inputs when they are small).
import type { Node } from "../../fx/graph.ts";
import { iadd, iconst } from "../index_expr.ts";
import { vbin, vcast, vconst, type VExpr, vindex, vwhere } from "../value_expr.ts";
import { type LoweringContext, normDim, type TBox } from "../lowering_context.ts";

export function lowerCat(gl: LoweringContext, node: Node, where: string): TBox {
  const out = node.meta!;
  const parts = node.args.map((a) => gl.box(a, where));
  const d = normDim(Number((node.kwargs as Record<string, unknown>).dim ?? 0), out.shape.length);
  const offsets: number[] = [];
  let off = 0;
  for (const p of parts) {
    offsets.push(off);
    off += p.shape[d];
  }
  return {
    shape: out.shape,
    dtype: out.dtype,
    load: (idx) => {
      let v: VExpr | null = null;
      for (let i = parts.length - 1; i >= 0; i--) {
        const p = parts[i];
        if (p.shape[d] === 0) continue;
        const local = idx.map((e, j) => {
          if (j !== d) return e;
          // the part's index in a branch the select may not take: a constant negative one
          // (a slice of another part) would be a WGSL constant-expression error
          const l = iadd(e, iconst(-offsets[i]));
          return l.isConst() && l.c < 0 ? iconst(0) : l;
        });
        const val = vcast(p.load(local), out.dtype);
        if (v === null) v = val;
        else {
          const inPart = vbin("lt", vindex(idx[d], "u32"), vconst(offsets[i + 1], "u32"), "bool");
          v = vwhere(inPart, val, v, out.dtype);
        }
      }
      return v ?? vconst(0, out.dtype);
    },
  };
}
