// Loop bodies: value expressions over index variables (inductor's inner_fn, traced once with
// symbolic indices). Nodes are hash-consed by `key`, so equal subexpressions are shared and the
// WGSL renderer can emit each once.
import type { DType } from "../dtype.ts";
import { iconst, type IndexExpr, isubst, ivars } from "./index_expr.ts";

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

// Keys are interned: a node's structural spelling uses its children's keys, which are short ids
// themselves, so a key is a few characters however deep the expression. (Keys that spelled
// out their whole expression made a chain of n pointwise ops cost O(n^2) memory and, hashed
// at every memo lookup, O(n^3) compile time.)
const interned = new Map<string, string>();
let nextKey = 0;
/** Interned keys kept before resetExprKeys() starts over (bounds the table's memory). */
const MAX_INTERNED = 1 << 20;

function intern(structural: string): string {
  let k = interned.get(structural);
  if (k === undefined) {
    k = `#${(nextKey++).toString(36)}`;
    interned.set(structural, k);
  }
  return k;
}

/** Forget interned keys when the table is large (called before lowering a graph). Existing
 * expressions keep their keys, which stay unique (ids are never reused); an equal expression
 * made later gets a new key, so only sharing across the reset is lost, never correctness. */
export function resetExprKeysIfLarge(): void {
  if (interned.size > MAX_INTERNED) interned.clear();
}

export function vload(buf: string, index: IndexExpr, dtype: DType): VExpr {
  return { k: "load", key: intern(`load(${buf},${index.key},${dtype})`), dtype, buf, index };
}
export function vconst(v: number, dtype: DType): VExpr {
  // -0 and 0 are different constants (String(-0) is "0")
  return { k: "const", key: `c(${Object.is(v, -0) ? "-0" : v},${dtype})`, dtype, v };
}
export function vun(op: UnaryOp, a: VExpr, dtype: DType = a.dtype): VExpr {
  return { k: "un", key: intern(`${op}(${a.key},${dtype})`), dtype, op, a };
}
export function vbin(op: BinaryOp, a: VExpr, b: VExpr, dtype: DType): VExpr {
  return { k: "bin", key: intern(`${op}(${a.key},${b.key},${dtype})`), dtype, op, a, b };
}
export function vwhere(c: VExpr, a: VExpr, b: VExpr, dtype: DType): VExpr {
  return { k: "where", key: intern(`where(${c.key},${a.key},${b.key},${dtype})`), dtype, c, a, b };
}
export function vcast(a: VExpr, dtype: DType): VExpr {
  if (a.dtype === dtype) return a;
  return { k: "cast", key: intern(`cast(${a.key},${dtype})`), dtype, a };
}
export function vindex(e: IndexExpr, dtype: DType = "i32"): VExpr {
  return { k: "index", key: intern(`index(${e.key},${dtype})`), dtype, e };
}
export function vreg(name: string, dtype: DType): VExpr {
  return { k: "reg", key: `reg(${name})`, dtype, name };
}

/** A per-node attribute computed bottom-up without recursion and memoised per node object, so
 * asking it of every node of a long chain costs O(1) each. */
function bottomUp<T>(
  memo: WeakMap<VExpr, T>,
  root: VExpr,
  combine: (e: VExpr, kids: T[]) => T,
): T {
  const hit = memo.get(root);
  if (hit !== undefined) return hit;
  const stack: VExpr[] = [root];
  while (stack.length) {
    const e = stack[stack.length - 1];
    if (memo.has(e)) {
      stack.pop();
      continue;
    }
    const kids = childrenOf(e);
    const pending = kids.filter((c) => !memo.has(c));
    if (pending.length) {
      stack.push(...pending);
      continue;
    }
    stack.pop();
    memo.set(e, combine(e, kids.map((c) => memo.get(c)!)));
  }
  return memo.get(root)!;
}

const readsMemo = new WeakMap<VExpr, ReadonlySet<string>>();
const NONE: ReadonlySet<string> = new Set();

/** Names of the buffers a body reads (its loads and the loads inside indirect indices). */
export function buffersRead(root: VExpr): ReadonlySet<string> {
  return bottomUp(readsMemo, root, (e, kids) => {
    let out = e.k === "load" ? new Set([e.buf]) as ReadonlySet<string> : NONE;
    for (const c of kids) out = union(out, c);
    return out;
  });
}

const varsMemo = new WeakMap<VExpr, ReadonlySet<string>>();

/** Index variables a body depends on (through its loads' indices, index values and indirect
 * indices); a body without `k` is the same value at every k. */
export function valueVars(root: VExpr): ReadonlySet<string> {
  return bottomUp(varsMemo, root, (e, kids) => {
    let out = e.k === "load"
      ? ivars(e.index) as ReadonlySet<string>
      : e.k === "index"
      ? ivars(e.e) as ReadonlySet<string>
      : NONE;
    for (const c of kids) out = union(out, c);
    return out;
  });
}

/** Whether a body has a leaf (a constant, a register, a load or index value) that depends on
 * none of `vars`: the same value at every step of a loop over them. */
export function hasLeafFreeOf(root: VExpr, vars: ReadonlySet<string>): boolean {
  const seen = new Set<VExpr>();
  const stack = [root];
  while (stack.length) {
    const e = stack.pop()!;
    if (seen.has(e)) continue;
    seen.add(e);
    if (e.k === "const" || e.k === "reg") return true;
    if (e.k === "load" || e.k === "index") {
      if (![...valueVars(e)].some((v) => vars.has(v))) return true;
      continue; // an indirect index is part of this leaf
    }
    stack.push(...childrenOf(e));
  }
  return false;
}

const depthMemo = new WeakMap<VExpr, number>();

/** Longest chain of nodes in a body. Codegen walks bodies recursively, so the lowering
 * realizes a value and the scheduler refuses a fusion past MAX_EXPR_DEPTH. */
export function exprDepth(root: VExpr): number {
  return bottomUp(depthMemo, root, (_e, kids) => 1 + Math.max(0, ...kids));
}

/** Deepest body a kernel inlines: a few thousand nested calls of the recursive walks
 * (substitution, rendering) fit any JS engine's stack; a chain of 8000 pointwise ops did not. */
export const MAX_EXPR_DEPTH = 1024;

function union(a: ReadonlySet<string>, b: ReadonlySet<string>): ReadonlySet<string> {
  if (b === a || b.size === 0) return a;
  if (a.size === 0) return b;
  for (const x of b) {
    if (!a.has(x)) return new Set([...a, ...b]);
  }
  return a;
}

/** Direct value children of a node, including the values inside indirect indices. */
function childrenOf(e: VExpr): VExpr[] {
  switch (e.k) {
    case "un":
    case "cast":
      return [e.a];
    case "bin":
      return [e.a, e.b];
    case "where":
      return [e.c, e.a, e.b];
    case "load":
      return indexValues(e.index);
    case "index":
      return indexValues(e.e);
    default:
      return [];
  }
}

function indexValues(ix: IndexExpr, out: VExpr[] = []): VExpr[] {
  for (const [a] of ix.terms.values()) {
    if (a.k === "ind") out.push(a.value as VExpr);
    else if (a.k === "div" || a.k === "mod") indexValues(a.e, out);
  }
  return out;
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
