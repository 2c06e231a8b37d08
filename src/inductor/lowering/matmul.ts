// Matmul lowerings (upstream torch/_inductor/kernel/mm.py and bmm.py: tuned_mm / tuned_bmm
// register the matmul, bmm and linear lowerings as template buffers): operands normalised to
// a(batch…, M, K) @ b(batch…, K, N), cheap single-use operands fused as template prologues,
// split-K for small outputs over long reductions.
import { numel } from "../../dtype.ts";
import { config } from "../../config.ts";
import type { Arg, Node } from "../../fx/graph.ts";
import { iadd, iconst, imul, ivar, unravel } from "../index_expr.ts";
import { vbin, vcast, type VExpr } from "../value_expr.ts";
import {
  broadcastIndex,
  bufferBox,
  isPlainRead,
  type LoweringContext,
  type TBox,
  vars,
} from "../lowering_context.ts";

/** Make a template operand readable by index: views of buffers stay views; computed values
 * are realized first (upstream realizes template inputs). */
export function templateInput(gl: LoweringContext, t: TBox, producer: Node | null): TBox {
  if (isPlainRead(t)) return t;
  // fused mode: a single-use pointwise value is computed inside the template's operand loads
  // (prologue fusion) instead of going through memory
  // only cheap bodies: each operand element is loaded by many invocations, so a prologue is
  // recomputed many times (transcendentals and divisions are cheaper through memory)
  if (
    gl.options.mode === "fused" && producer && producer.users.length === 1 &&
    config.bool("inductor.templatePrologue") && isCheap(t.load(vars("x", t.shape)))
  ) return t;
  return gl.realize(t);
}

export function lowerMatmul(gl: LoweringContext, node: Node, where: string): TBox {
  const out = node.meta!;
  const producer = (
    a: Arg,
  ) => (a && typeof a === "object" && !Array.isArray(a) ? a as Node : null);
  let a = templateInput(gl, gl.box(node.args[0], where), producer(node.args[0]));
  let b = templateInput(gl, gl.box(node.args[1], where), producer(node.args[1]));
  const linear = node.target === "linear";
  // Normalise to a(batch..., M, K) @ b(batch..., K, N).
  if (linear) {
    const w = b;
    b = {
      shape: [w.shape[1], w.shape[0]],
      dtype: w.dtype,
      load: (idx) => w.load([idx[1], idx[0]]),
    };
  }
  if (a.shape.length === 1) a = gl.reshapeBox(a, [1, a.shape[0]]);
  if (b.shape.length === 1) b = gl.reshapeBox(b, [b.shape[0], 1]);
  const M = a.shape[a.shape.length - 2], K = a.shape[a.shape.length - 1];
  const N = b.shape[b.shape.length - 1];
  const ab = a.shape.slice(0, -2), bb = b.shape.slice(0, -2);
  const batchShape = linear ? [] : broadcastShapes(ab, bb);
  let aFinal = a;
  let mTotal = M;
  if (linear) {
    // fold leading dims of x into M
    mTotal = numel(a.shape.slice(0, -1));
    aFinal = gl.reshapeBox(a, [mTotal, K]);
  }
  const batch = numel(batchShape);
  const bv = ivar("b", Math.max(batch, 1));
  const bIdx = batch === 1 ? batchShape.map(() => iconst(0)) : unravel(bv, batchShape);
  const mv = ivar("m", mTotal), nv = ivar("n", N), kv = ivar("k", K);
  if (batch <= 1 && N === 1 && K >= 64) {
    // matrix-vector (one output column): a row reduction, so neighbouring invocations read
    // neighbouring k (vector loads) and a workgroup tree-reduces each row
    const prod: TBox = {
      shape: [mTotal, K],
      dtype: "f32",
      load: ([m, k]) => {
        const av = vcast(
          linear ? aFinal.load([m, k]) : aFinal.load([...broadcastIndex(bIdx, ab), m, k]),
          "f32",
        );
        const bvv = vcast(b.load([...broadcastIndex(bIdx, bb), k, iconst(0)]), "f32");
        return vbin("mul", av, bvv, "f32");
      },
    };
    const sum = gl.reduce(prod, [1], "sum", "f32");
    const bias = linear && node.args[2] ? gl.box(node.args[2], where) : null;
    const res: TBox = {
      shape: [mTotal, 1],
      dtype: out.dtype,
      load: (idx) => {
        let v = sum.load([idx[0]]);
        if (bias) v = vbin("add", v, vcast(bias.load([iconst(0)]), "f32"), "f32");
        return vcast(v, out.dtype);
      },
    };
    return gl.reshapeBox(res, out.shape);
  }
  const split = batch <= 1 ? splitK(mTotal, N, K) : 0;
  if (split) {
    // split-K for tall reductions with a small output (matvec-like): S partial products over
    // K/S slices fill the grid, a sum reduction finishes them (the epilogue fuses into it)
    const Ks = K / split;
    const kk = iadd(imul(ivar("b", split), Ks), ivar("k", Ks));
    const pa = vcast(
      linear ? aFinal.load([mv, kk]) : aFinal.load([...broadcastIndex(bIdx, ab), mv, kk]),
      "f32",
    );
    const pb = vcast(b.load([...broadcastIndex(bIdx, bb), kk, nv]), "f32");
    const partial = gl.addBuffer({
      shape: [split, mTotal, N],
      dtype: "f32",
      def: {
        kind: "matmul",
        batch: split,
        m: mTotal,
        n: N,
        k: Ks,
        a: pa,
        b: pb,
        epilogue: { k: "reg", key: "reg(acc)", dtype: "f32", name: "acc" },
      },
      layout: "fixed",
      target: null,
      originNode: null,
    });
    const sum = gl.reduce(bufferBox(partial.name, partial.shape, "f32"), [0], "sum", "f32");
    const bias = linear && node.args[2] ? gl.box(node.args[2], where) : null;
    const res: TBox = {
      shape: [mTotal, N],
      dtype: out.dtype,
      load: (idx) => {
        let v = sum.load(idx);
        if (bias) v = vbin("add", v, vcast(bias.load([idx[1]]), "f32"), "f32");
        return vcast(v, out.dtype);
      },
    };
    return gl.reshapeBox(res, out.shape);
  }
  const aBody = vcast(
    linear ? aFinal.load([mv, kv]) : aFinal.load([...broadcastIndex(bIdx, ab), mv, kv]),
    "f32",
  );
  const bBody = vcast(b.load([...broadcastIndex(bIdx, bb), kv, nv]), "f32");
  let epi: VExpr = { k: "reg", key: "reg(acc)", dtype: "f32", name: "acc" };
  if (linear && node.args[2]) {
    const bias = gl.box(node.args[2], where);
    epi = vbin("add", epi, vcast(bias.load([nv]), "f32"), "f32");
  }
  const buf = gl.addBuffer({
    shape: [...out.shape],
    dtype: out.dtype,
    def: {
      kind: "matmul",
      batch: Math.max(batch, 1),
      m: mTotal,
      n: N,
      k: K,
      a: aBody,
      b: bBody,
      epilogue: vcast(epi, out.dtype),
    },
    layout: "fixed",
    target: null,
    originNode: node.name,
  });
  return bufferBox(buf.name, buf.shape, buf.dtype);
}

const CHEAP_UNARY = new Set(["neg", "abs", "relu"]);
const CHEAP_BINARY = new Set(["add", "sub", "mul", "maximum", "minimum", "eq", "lt", "gt"]);

/** A body cheap enough to recompute per use: loads, casts, selects and simple arithmetic. */
export function isCheap(e: VExpr, budget = { ops: 8 }): boolean {
  if (--budget.ops < 0) return false;
  switch (e.k) {
    case "load":
    case "const":
    case "index":
    case "reg":
      return true;
    case "cast":
      return isCheap(e.a, budget);
    case "un":
      return CHEAP_UNARY.has(e.op) && isCheap(e.a, budget);
    case "bin":
      return CHEAP_BINARY.has(e.op) && isCheap(e.a, budget) && isCheap(e.b, budget);
    case "where":
      return isCheap(e.c, budget) && isCheap(e.a, budget) && isCheap(e.b, budget);
  }
}

/** Split count for split-K: a small output (at most 256 elements) over a long reduction. */
export function splitK(m: number, n: number, k: number): number {
  if (m * n > 256 || k < 2048) return 0;
  return [32, 16, 8, 4].find((s) => k % s === 0 && k / s >= 64) ?? 0;
}

export function broadcastShapes(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1, y = b[b.length - n + i] ?? 1;
    out.push(x === 1 ? y : x);
  }
  return out;
}
