// Loop bodies: value expressions over index variables (inductor's inner_fn, traced once with
// symbolic indices). Nodes are hash-consed by `key`, so equal subexpressions are shared and the
// WGSL renderer can emit each once.
import type { DType } from "../dtype.ts";
import { iconst, type IndexExpr, isubst } from "./index_expr.ts";

export type UnaryOp =
  | "neg"
  | "abs"
  | "exp"
  | "log"
  | "sqrt"
  | "rsqrt"
  | "sin"
  | "cos"
  | "tanh"
  | "sigmoid"
  | "relu"
  | "gelu"
  | "gelu_tanh"
  | "silu"
  | "reciprocal"
  | "not";
export type BinaryOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "pow"
  | "maximum"
  | "minimum"
  | "eq"
  | "lt"
  | "gt"
  | "and"
  | "or";

export type VExpr =
  | { k: "load"; key: string; dtype: DType; buf: string; index: IndexExpr }
  | { k: "const"; key: string; dtype: DType; v: number }
  | { k: "un"; key: string; dtype: DType; op: UnaryOp; a: VExpr }
  | { k: "bin"; key: string; dtype: DType; op: BinaryOp; a: VExpr; b: VExpr }
  | { k: "where"; key: string; dtype: DType; c: VExpr; a: VExpr; b: VExpr }
  | { k: "cast"; key: string; dtype: DType; a: VExpr }
  /** An index used as data (argmax positions, iota). */
  | { k: "index"; key: string; dtype: DType; e: IndexExpr }
  /** A value held in a register by the kernel being generated (a reduction result, the
   * matmul accumulator). */
  | { k: "reg"; key: string; dtype: DType; name: string };

export function vload(buf: string, index: IndexExpr, dtype: DType): VExpr {
  return { k: "load", key: `load(${buf},${index.key})`, dtype, buf, index };
}
export function vconst(v: number, dtype: DType): VExpr {
  // -0 and 0 are different constants (String(-0) is "0")
  return { k: "const", key: `c(${Object.is(v, -0) ? "-0" : v},${dtype})`, dtype, v };
}
export function vun(op: UnaryOp, a: VExpr, dtype: DType = a.dtype): VExpr {
  return { k: "un", key: `${op}(${a.key})`, dtype, op, a };
}
export function vbin(op: BinaryOp, a: VExpr, b: VExpr, dtype: DType): VExpr {
  return { k: "bin", key: `${op}(${a.key},${b.key})`, dtype, op, a, b };
}
export function vwhere(c: VExpr, a: VExpr, b: VExpr, dtype: DType): VExpr {
  return { k: "where", key: `where(${c.key},${a.key},${b.key})`, dtype, c, a, b };
}
export function vcast(a: VExpr, dtype: DType): VExpr {
  if (a.dtype === dtype) return a;
  return { k: "cast", key: `cast(${a.key},${dtype})`, dtype, a };
}
export function vindex(e: IndexExpr, dtype: DType = "i32"): VExpr {
  return { k: "index", key: `index(${e.key},${dtype})`, dtype, e };
}
export function vreg(name: string, dtype: DType): VExpr {
  return { k: "reg", key: `reg(${name})`, dtype, name };
}

/** Every load in a body (deduplicated by key), including loads inside indirect indices. */
export function loadsOf(e: VExpr, out = new Map<string, Extract<VExpr, { k: "load" }>>()) {
  const seen = new Set<string>();
  const walkIndex = (ix: IndexExpr) => {
    for (const [a] of ix.terms.values()) {
      if (a.k === "ind") walk(a.value as VExpr);
      else if (a.k === "div" || a.k === "mod") walkIndex(a.e);
    }
  };
  const walk = (x: VExpr) => {
    if (seen.has(x.key)) return;
    seen.add(x.key);
    switch (x.k) {
      case "load":
        out.set(x.key, x);
        walkIndex(x.index);
        break;
      case "un":
      case "cast":
        walk(x.a);
        break;
      case "bin":
        walk(x.a);
        walk(x.b);
        break;
      case "where":
        walk(x.c);
        walk(x.a);
        walk(x.b);
        break;
      case "index":
        walkIndex(x.e);
        break;
    }
  };
  walk(e);
  return out;
}

/** Rewrite a body bottom-up: `sub` can replace loads (inlining a producer, reading a register);
 * `vars` renames index variables into the kernel's loop variables. */
export function vsubst(
  e: VExpr,
  vars: ReadonlyMap<string, IndexExpr>,
  onLoad?: (buf: string, index: IndexExpr, dtype: DType) => VExpr | undefined,
  memo = new Map<string, VExpr>(),
): VExpr {
  const hit = memo.get(e.key);
  if (hit) return hit;
  const ix = (i: IndexExpr) => isubst(i, vars, (v) => vsubst(v as VExpr, vars, onLoad, memo));
  let r: VExpr;
  switch (e.k) {
    case "load": {
      const index = ix(e.index);
      r = onLoad?.(e.buf, index, e.dtype) ?? vload(e.buf, index, e.dtype);
      break;
    }
    case "const":
    case "reg":
      r = e;
      break;
    case "un":
      r = vun(e.op, vsubst(e.a, vars, onLoad, memo), e.dtype);
      break;
    case "cast":
      r = vcast(vsubst(e.a, vars, onLoad, memo), e.dtype);
      break;
    case "bin":
      r = vbin(e.op, vsubst(e.a, vars, onLoad, memo), vsubst(e.b, vars, onLoad, memo), e.dtype);
      break;
    case "where":
      r = vwhere(
        vsubst(e.c, vars, onLoad, memo),
        vsubst(e.a, vars, onLoad, memo),
        vsubst(e.b, vars, onLoad, memo),
        e.dtype,
      );
      break;
    case "index":
      r = vindex(ix(e.e), e.dtype);
      break;
  }
  memo.set(e.key, r);
  return r;
}

export const ZERO = iconst(0);

/** Rename register leaves (a matmul segment's `acc` becomes that segment's accumulator). */
export function vrenameRegs(e: VExpr, names: ReadonlyMap<string, string>): VExpr {
  const memo = new Map<string, VExpr>();
  const walk = (x: VExpr): VExpr => {
    const hit = memo.get(x.key);
    if (hit) return hit;
    let r: VExpr;
    switch (x.k) {
      case "reg":
        r = names.has(x.name) ? vreg(names.get(x.name)!, x.dtype) : x;
        break;
      case "un":
        r = vun(x.op, walk(x.a), x.dtype);
        break;
      case "cast":
        r = vcast(walk(x.a), x.dtype);
        break;
      case "bin":
        r = vbin(x.op, walk(x.a), walk(x.b), x.dtype);
        break;
      case "where":
        r = vwhere(walk(x.c), walk(x.a), walk(x.b), x.dtype);
        break;
      default:
        r = x;
    }
    memo.set(x.key, r);
    return r;
  };
  return walk(e);
}
