// GraphLowering: fx graph -> inductor IR buffers (mirrors torch/_inductor/graph.py's
// GraphLowering.run_node with the lowerings of torch/_inductor/lowering.py). Views, broadcasts
// and transposes fold into index expressions; pointwise ops compose loop bodies; a value is
// "realized" into a ComputedBuffer only where the realization rules say so.
import { contiguousStrides, type DType, isFloat, numel, shapeStr } from "../dtype.ts";
import { config } from "../config.ts";
import { UnsupportedOpError } from "../errors.ts";
import type { Arg, Graph, Node } from "../fx/graph.ts";
import { getOp } from "../fx/registry.ts";
import { computeDType } from "../fx/ops/elementwise.ts";
import {
  iadd,
  iconst,
  iind,
  imul,
  type IndexExpr,
  ivar,
  ivars,
  ravel,
  unravel,
} from "./index_expr.ts";
import type { BufferDef, FallbackArg, IRBuffer, LoweredGraph, ReductionType } from "./ir.ts";
import { Scheduler, type SchedulerOptions } from "./scheduler.ts";
import {
  type BinaryOp,
  buffersRead,
  exprDepth,
  MAX_EXPR_DEPTH,
  resetExprKeysIfLarge,
  type UnaryOp,
  vbin,
  vcast,
  vconst,
  type VExpr,
  vindex,
  vload,
  vun,
  vwhere,
} from "./value_expr.ts";

/** A lowered value: possibly unrealized (upstream TensorBox over a Pointwise or a view). */
export interface TBox {
  shape: number[];
  dtype: DType;
  load: (idx: IndexExpr[]) => VExpr;
  /** Set when this value is exactly a realized buffer, read contiguously. */
  buffer?: string;
}

export type { LoweredGraph } from "./ir.ts";

export interface LoweringOptions {
  /** eager: every fx node is realized into its own buffer(s); fused: inductor's rules. */
  mode: "eager" | "fused";
  /** Storage bindings a kernel may use (see config inductor.maxKernelBindings). */
  bindingLimit?: number;
}

/** WebGPU's guaranteed maxStorageBuffersPerShaderStage. */
export const DEFAULT_BINDING_LIMIT = 8;

export function vars(prefix: string, shape: readonly number[]): IndexExpr[] {
  return shape.map((s, i) => (s === 1 ? iconst(0) : ivar(`${prefix}${i}`, s)));
}

/** Broadcast `idx` (over `outShape`) down to a value of `shape` (numpy rules, right-aligned). */
export function broadcastIndex(idx: IndexExpr[], shape: readonly number[]): IndexExpr[] {
  const off = idx.length - shape.length;
  return shape.map((s, i) => (s === 1 ? iconst(0) : idx[i + off]));
}

export function bufferBox(name: string, shape: number[], dtype: DType): TBox {
  const st = contiguousStrides(shape);
  return { shape, dtype, buffer: name, load: (idx) => vload(name, ravel(idx, st), dtype) };
}

const UNARY: Record<string, UnaryOp> = {
  neg: "neg",
  abs: "abs",
  exp: "exp",
  log: "log",
  sqrt: "sqrt",
  rsqrt: "rsqrt",
  sin: "sin",
  cos: "cos",
  tanh: "tanh",
  sigmoid: "sigmoid",
  relu: "relu",
  silu: "silu",
  reciprocal: "reciprocal",
};
const BINARY: Record<string, BinaryOp> = {
  add: "add",
  sub: "sub",
  mul: "mul",
  div: "div",
  pow: "pow",
  maximum: "maximum",
  minimum: "minimum",
  eq: "eq",
  lt: "lt",
  gt: "gt",
};

const normDim = (d: number, rank: number) => (d < 0 ? d + rank : d);

export class GraphLowering {
  readonly buffers: IRBuffer[] = [];
  /** Set by updateScheduler() once the graph is lowered. */
  scheduler: Scheduler | null = null;
  lowered: LoweredGraph | null = null;
  readonly env = new Map<Node, TBox | null>();
  #count = 0;
  #current: Node | null = null;

  constructor(readonly graph: Graph, readonly options: LoweringOptions) {
    resetExprKeysIfLarge();
  }

  newName(): string {
    return `buf${this.#count++}`;
  }

  addBuffer(
    b: Omit<IRBuffer, "name" | "origins"> & { name?: string; origins?: string[] },
  ): IRBuffer {
    const buf: IRBuffer = {
      ...b,
      name: b.name ?? this.newName(),
      origins: b.origins ?? (this.#current ? [this.#current.name] : []),
    };
    this.buffers.push(buf);
    return buf;
  }

  /** Materialize a value into a contiguous ComputedBuffer (upstream StorageBox.realize). */
  realize(t: TBox, originNode: string | null = null, producer?: Node): TBox {
    if (t.buffer) return t;
    const idx = vars("x", t.shape);
    const def: BufferDef = { kind: "pointwise", ranges: [...t.shape], body: t.load(idx) };
    const b = this.addBuffer({
      shape: [...t.shape],
      dtype: t.dtype,
      def,
      layout: "fixed",
      target: null,
      originNode,
      origins: producer ? [producer.name] : undefined,
    });
    return bufferBox(b.name, b.shape, b.dtype);
  }

  /** True when loading `t` costs nothing but a read (a view of a realized buffer). */
  static isPlainRead(t: TBox): boolean {
    if (t.buffer) return true;
    const e = t.load(vars("x", t.shape));
    // a gather (embedding) is a single load too, but it reads its index buffer: not a view
    return e.k === "load" && buffersRead(e).size === 1;
  }

  run(): LoweredGraph {
    const inputs: string[] = [];
    const nodeBuffers = new Map<string, string>();
    for (const node of this.graph.nodes) {
      this.#current = node;
      if (node.kind === "placeholder") {
        const m = node.meta!;
        const b = this.addBuffer({
          name: node.name,
          shape: [...m.shape],
          dtype: m.dtype,
          def: { kind: "input", index: inputs.length },
          layout: "fixed",
          target: null,
          originNode: node.name,
        });
        inputs.push(b.name);
        this.env.set(node, bufferBox(b.name, b.shape, b.dtype));
      } else if (node.kind === "call_function") {
        let out = this.lowerNode(node);
        if (out && this.mustRealize(node, out)) {
          const isView = !out.buffer && GraphLowering.isPlainRead(out);
          // upstream run_node sets origin_node only for a realized, non-view result
          out = this.realize(out, isView ? null : node.name);
        }
        if (out?.buffer) nodeBuffers.set(node.name, out.buffer);
        this.env.set(node, out && memoLoads(out));
      }
    }
    this.#current = null;
    const outputs: string[] = [];
    for (const o of this.graph.outputs()) {
      let t = this.env.get(o)!;
      if (!t.buffer || inputs.includes(t.buffer) || outputs.includes(t.buffer)) {
        // outputs get storage of their own: a copy when the value is a view, an input or a
        // value returned twice
        this.#current = o;
        t = this.realizeCopy(t);
        this.#current = null;
      }
      outputs.push(t.buffer!);
    }
    this.lowered = { buffers: this.buffers, outputs, inputs, nodeBuffers };
    return this.lowered;
  }

  /** upstream GraphLowering._update_scheduler: build the Scheduler over the lowered buffers.
   * Patches B and C wrap this method to install their Scheduler methods first, as vLLM does. */
  updateScheduler(options: SchedulerOptions): Scheduler {
    if (!this.lowered) this.run();
    this.scheduler = new Scheduler(this.lowered!, options);
    return this.scheduler;
  }

  realizeCopy(t: TBox): TBox {
    const idx = vars("x", t.shape);
    const b = this.addBuffer({
      shape: [...t.shape],
      dtype: t.dtype,
      def: { kind: "pointwise", ranges: [...t.shape], body: t.load(idx) },
      layout: "fixed",
      target: null,
      originNode: null,
    });
    return bufferBox(b.name, b.shape, b.dtype);
  }

  /** Realization rules: eager realizes every op; fused realizes graph outputs and values with
   * several users (upstream also realizes on too many reads; our bodies stay small). */
  mustRealize(node: Node, out: TBox): boolean {
    if (out.buffer) return false;
    const isView = GraphLowering.isPlainRead(out);
    if (isView) return false;
    if (this.options.mode === "eager") return true;
    if (node.users.length > 1) return true;
    // upstream realize_reads_threshold: a body reading too many buffers would need more
    // storage bindings than a kernel may have (one is kept for the output)
    const body = out.load(vars("x", out.shape));
    // and a body so deep that generating its kernel would exhaust the stack
    return buffersRead(body).size >= this.readsThreshold || exprDepth(body) >= MAX_EXPR_DEPTH;
  }

  /** Most distinct buffers an inlined body may read before it is realized. */
  get readsThreshold(): number {
    return (this.options.bindingLimit ?? DEFAULT_BINDING_LIMIT) - 1;
  }

  box(a: Arg, where: string): TBox {
    if (a && typeof a === "object" && !Array.isArray(a)) {
      const t = this.env.get(a as Node);
      if (!t) throw new UnsupportedOpError(`${where}: argument '${(a as Node).name}' has no value`);
      return t;
    }
    throw new UnsupportedOpError(`${where}: expected a tensor argument, got ${JSON.stringify(a)}`);
  }

  /** A tensor or number operand as a loader broadcast to `shape`. */
  operand(a: Arg, dtype: DType, where: string): (idx: IndexExpr[]) => VExpr {
    if (typeof a === "number" || typeof a === "boolean") {
      const c = vconst(Number(a), dtype);
      return () => c;
    }
    const t = this.box(a, where);
    return (idx) => vcast(t.load(broadcastIndex(idx, t.shape)), dtype);
  }

  lowerNode(node: Node): TBox | null {
    const where = `node '${node.name}' (${node.target})`;
    const m = node.meta;
    const kw = node.kwargs as Record<string, unknown>;
    const t = node.target;
    const arg = (i: number) => this.box(node.args[i], where);
    if (t in UNARY || t === "gelu") {
      const x = arg(0);
      const cdt = m!.dtype;
      const op: UnaryOp = t === "gelu"
        ? (kw.approximate === "tanh" ? "gelu_tanh" : "gelu")
        : UNARY[t];
      return { shape: m!.shape, dtype: cdt, load: (idx) => vun(op, vcast(x.load(idx), cdt)) };
    }
    if (t in BINARY) {
      const out = m!;
      const y = node.args[1];
      if (t === "pow" && (y === 0.5 || y === -0.5)) {
        // torch computes a scalar exponent of ±0.5 as sqrt / rsqrt (fx/ops/elementwise.ts)
        const x = this.operand(node.args[0], out.dtype, where);
        return {
          shape: out.shape,
          dtype: out.dtype,
          load: (idx) => vun(y > 0 ? "sqrt" : "rsqrt", x(idx)),
        };
      }
      const cmp = t === "eq" || t === "lt" || t === "gt";
      // comparisons compute in the promoted operand dtype, then yield bool
      const cdt = cmp ? this.promoteArgs(node.args.slice(0, 2), where) : out.dtype;
      const a = this.operand(node.args[0], cdt, where);
      const b = this.operand(node.args[1], cdt, where);
      return {
        shape: out.shape,
        dtype: out.dtype,
        load: (idx) => vbin(BINARY[t], a(idx), b(idx), out.dtype),
      };
    }
    if (t === "where") {
      const out = m!;
      const c = this.operand(node.args[0], "bool", where);
      const a = this.operand(node.args[1], out.dtype, where);
      const b = this.operand(node.args[2], out.dtype, where);
      return {
        shape: out.shape,
        dtype: out.dtype,
        load: (idx) => vwhere(c(idx), a(idx), b(idx), out.dtype),
      };
    }
    if (t === "cast") {
      const x = arg(0);
      return { shape: m!.shape, dtype: m!.dtype, load: (idx) => vcast(x.load(idx), m!.dtype) };
    }
    if (t === "sum" || t === "mean" || t === "max" || t === "min" || t === "argmax") {
      const x = arg(0);
      const dims = this.reduceDims(kw.dim, x.shape.length);
      const keep = Boolean(kw.keepdim);
      const rtype: ReductionType = t === "mean" ? "sum" : t;
      const acc = t === "argmax" ? "i32" : accDType(x.dtype, rtype);
      let r = this.reduce(x, dims, rtype, acc);
      if (t === "mean") {
        const n = dims.reduce((p, d) => p * x.shape[d], 1);
        const s = r;
        r = {
          ...s,
          buffer: undefined,
          load: (idx) => vbin("div", s.load(idx), vconst(n, acc), acc),
        };
      }
      if (r.dtype !== m!.dtype) {
        const s = r;
        r = { shape: s.shape, dtype: m!.dtype, load: (idx) => vcast(s.load(idx), m!.dtype) };
      }
      return keep ? this.reshapeBox(r, m!.shape) : r;
    }
    if (t === "softmax" || t === "log_softmax") {
      const x = this.f32(arg(0));
      const d = normDim(Number(kw.dim ?? -1), x.shape.length);
      const mx = this.keep(this.reduce(x, [d], "max", "f32"), x.shape, [d]);
      const shifted = (idx: IndexExpr[]) =>
        vbin("sub", x.load(idx), mx.load(broadcastIndex(idx, mx.shape)), "f32");
      const e: TBox = { shape: x.shape, dtype: "f32", load: (idx) => vun("exp", shifted(idx)) };
      const s = this.keep(this.reduce(e, [d], "sum", "f32"), x.shape, [d]);
      const load = t === "softmax"
        ? (idx: IndexExpr[]) =>
          vbin("div", e.load(idx), s.load(broadcastIndex(idx, s.shape)), "f32")
        : (idx: IndexExpr[]) =>
          vbin("sub", shifted(idx), vun("log", s.load(broadcastIndex(idx, s.shape))), "f32");
      return { shape: x.shape, dtype: m!.dtype, load: (idx) => vcast(load(idx), m!.dtype) };
    }
    if (t === "layer_norm" || t === "rms_norm") {
      return this.lowerNorm(node, where);
    }
    if (t === "matmul" || t === "bmm" || t === "linear") return this.lowerMatmul(node, where);
    if (t === "reshape" || t === "view") return this.reshapeBox(arg(0), m!.shape);
    if (t === "permute" || t === "transpose") {
      const x = arg(0);
      const r = x.shape.length;
      let dims: number[];
      if (t === "permute") dims = (kw.dims as number[]).map((d) => normDim(d, r));
      else {
        dims = [...Array(r).keys()];
        const a = normDim(Number(kw.dim0), r), b = normDim(Number(kw.dim1), r);
        [dims[a], dims[b]] = [dims[b], dims[a]];
      }
      return {
        shape: m!.shape,
        dtype: x.dtype,
        load: (idx) => {
          const src = new Array<IndexExpr>(r);
          dims.forEach((d, i) => (src[d] = idx[i]));
          return x.load(src);
        },
      };
    }
    if (t === "expand") {
      const x = arg(0);
      return {
        shape: m!.shape,
        dtype: x.dtype,
        load: (idx) => x.load(broadcastIndex(idx, x.shape)),
      };
    }
    if (t === "slice") {
      const x = arg(0);
      const d = normDim(Number(kw.dim ?? 0), x.shape.length);
      const size = x.shape[d];
      const step = Number(kw.step ?? 1);
      let start = kw.start == null ? 0 : Number(kw.start);
      if (start < 0) start += size;
      start = Math.min(Math.max(start, 0), size);
      return {
        shape: m!.shape,
        dtype: x.dtype,
        load: (idx) =>
          x.load(idx.map((e, i) => (i === d ? iadd(imul(e, step), iconst(start)) : e))),
      };
    }
    if (t === "squeeze" || t === "unsqueeze") return this.reshapeBox(arg(0), m!.shape);
    if (t === "cat") return this.lowerCat(node, where);
    if (t === "embedding") {
      const w = arg(0), ids = arg(1);
      const V = w.shape[0];
      return {
        shape: m!.shape,
        dtype: w.dtype,
        load: (idx) => {
          // an index outside [0, V) reads a row of zeros (README "Semantics": the reference
          // raises; a kernel cannot); the load itself uses a clamped index, so it stays in bounds
          const row = vcast(ids.load(idx.slice(0, -1)), "u32");
          const safe = vbin("minimum", row, vconst(Math.max(V - 1, 0), "u32"), "u32");
          const v = w.load([iind(safe.key, safe, V), idx[idx.length - 1]]);
          const inRange = vbin("lt", row, vconst(V, "u32"), "bool");
          return vwhere(inRange, v, vconst(0, w.dtype), w.dtype);
        },
      };
    }
    if (t === "full") {
      const c = vconst(Number(kw.value), m!.dtype);
      return { shape: m!.shape, dtype: m!.dtype, load: () => c };
    }
    if (t === "empty" || t === "empty_like") {
      const b = this.addBuffer({
        shape: [...m!.shape],
        dtype: m!.dtype,
        def: { kind: "nop" },
        layout: "fixed",
        target: null,
        originNode: node.name,
      });
      return bufferBox(b.name, b.shape, b.dtype);
    }
    if (t === "copy_") return this.lowerCopy(node, where);
    if (t === "index_copy_") return this.lowerIndexCopy(node, where);
    return this.lowerCustom(node, where);
  }

  /** The dtype a pointwise op over `args` computes in (the op rules' computeDType). */
  promoteArgs(args: Arg[], where: string): DType {
    return computeDType(
      args.map((a) =>
        typeof a === "number" || typeof a === "boolean" ? a : { dtype: (a as Node).meta!.dtype }
      ),
      where,
    );
  }

  f32(x: TBox): TBox {
    if (x.dtype === "f32") return x;
    return { shape: x.shape, dtype: "f32", load: (idx) => vcast(x.load(idx), "f32") };
  }

  reduceDims(dim: unknown, rank: number): number[] {
    if (dim === null || dim === undefined) return [...Array(rank).keys()];
    const ds = (Array.isArray(dim) ? dim : [dim]).map((d) => normDim(Number(d), rank));
    return [...new Set(ds)].sort((a, b) => a - b);
  }

  /** A Reduction buffer over `dims` of `x`; the result has x's shape without those dims. */
  reduce(x: TBox, dims: number[], rtype: ReductionType, acc: DType): TBox {
    const outShape = x.shape.filter((_, i) => !dims.includes(i));
    const rShape = dims.map((d) => x.shape[d]);
    const space: string[] = [];
    let xi = 0, ri = 0;
    const idx = x.shape.map((s, d) => {
      const isR = dims.includes(d);
      const name = isR ? `r${ri++}` : `x${xi++}`;
      space.push(name);
      return s === 1 ? iconst(0) : ivar(name, s);
    });
    const body = vcast(x.load(idx), rtype === "argmax" ? x.dtype : acc);
    const b = this.addBuffer({
      shape: outShape,
      dtype: acc,
      def: {
        kind: "reduction",
        ranges: outShape,
        rranges: rShape,
        rtype,
        body,
        space,
        spaceShape: [...x.shape],
      },
      layout: "fixed",
      target: null,
      originNode: null,
    });
    return bufferBox(b.name, b.shape, b.dtype);
  }

  /** View of a reduced value with the reduced dims put back as size 1 (keepdim). */
  keep(r: TBox, fullShape: number[], dims: number[]): TBox {
    return this.reshapeBox(r, fullShape.map((s, i) => (dims.includes(i) ? 1 : s)));
  }

  reshapeBox(x: TBox, shape: number[]): TBox {
    if (shapeStr(shape) === shapeStr(x.shape)) return x;
    const outSt = contiguousStrides(shape);
    return {
      shape,
      dtype: x.dtype,
      load: (idx) => x.load(unravel(ravel(idx, outSt), x.shape)),
    };
  }

  lowerNorm(node: Node, where: string): TBox {
    const kw = node.kwargs as Record<string, unknown>;
    const x = this.f32(this.box(node.args[0], where));
    const ns = (kw.normalized_shape as number[]) ?? [x.shape[x.shape.length - 1]];
    const rank = x.shape.length;
    const dims = ns.map((_, i) => rank - ns.length + i);
    const n = numel(ns);
    const eps = Number(kw.eps ?? (node.target === "layer_norm" ? 1e-5 : 1e-6));
    const w = node.args[1] ? this.operand(node.args[1], "f32", where) : null;
    const bias = node.target === "layer_norm" && node.args[2]
      ? this.operand(node.args[2], "f32", where)
      : null;
    const c = (v: number) => vconst(v, "f32");
    let centered: (idx: IndexExpr[]) => VExpr;
    let meanSq: TBox;
    if (node.target === "layer_norm") {
      const mean = this.keep(this.reduce(x, dims, "sum", "f32"), x.shape, dims);
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
      meanSq = this.keep(this.reduce(sq, dims, "sum", "f32"), x.shape, dims);
    } else {
      centered = (idx) => x.load(idx);
      const sq: TBox = {
        shape: x.shape,
        dtype: "f32",
        load: (idx) => vbin("mul", x.load(idx), x.load(idx), "f32"),
      };
      meanSq = this.keep(this.reduce(sq, dims, "sum", "f32"), x.shape, dims);
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

  /** Make a template operand readable by index: views of buffers stay views; computed values
   * are realized first (upstream realizes template inputs). */
  templateInput(t: TBox, producer: Node | null): TBox {
    if (GraphLowering.isPlainRead(t)) return t;
    // fused mode: a single-use pointwise value is computed inside the template's operand loads
    // (prologue fusion) instead of going through memory
    // only cheap bodies: each operand element is loaded by many invocations, so a prologue is
    // recomputed many times (transcendentals and divisions are cheaper through memory)
    if (
      this.options.mode === "fused" && producer && producer.users.length === 1 &&
      config.bool("inductor.templatePrologue") && isCheap(t.load(vars("x", t.shape)))
    ) return t;
    return this.realize(t);
  }

  lowerMatmul(node: Node, where: string): TBox {
    const out = node.meta!;
    const producer = (
      a: Arg,
    ) => (a && typeof a === "object" && !Array.isArray(a) ? a as Node : null);
    let a = this.templateInput(this.box(node.args[0], where), producer(node.args[0]));
    let b = this.templateInput(this.box(node.args[1], where), producer(node.args[1]));
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
    if (a.shape.length === 1) a = this.reshapeBox(a, [1, a.shape[0]]);
    if (b.shape.length === 1) b = this.reshapeBox(b, [b.shape[0], 1]);
    const M = a.shape[a.shape.length - 2], K = a.shape[a.shape.length - 1];
    const N = b.shape[b.shape.length - 1];
    const ab = a.shape.slice(0, -2), bb = b.shape.slice(0, -2);
    const batchShape = linear ? [] : broadcastShapes(ab, bb);
    let aFinal = a;
    let mTotal = M;
    if (linear) {
      // fold leading dims of x into M
      mTotal = numel(a.shape.slice(0, -1));
      aFinal = this.reshapeBox(a, [mTotal, K]);
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
      const sum = this.reduce(prod, [1], "sum", "f32");
      const bias = linear && node.args[2] ? this.box(node.args[2], where) : null;
      const res: TBox = {
        shape: [mTotal, 1],
        dtype: out.dtype,
        load: (idx) => {
          let v = sum.load([idx[0]]);
          if (bias) v = vbin("add", v, vcast(bias.load([iconst(0)]), "f32"), "f32");
          return vcast(v, out.dtype);
        },
      };
      return this.reshapeBox(res, out.shape);
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
      const partial = this.addBuffer({
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
      const sum = this.reduce(bufferBox(partial.name, partial.shape, "f32"), [0], "sum", "f32");
      const bias = linear && node.args[2] ? this.box(node.args[2], where) : null;
      const res: TBox = {
        shape: [mTotal, N],
        dtype: out.dtype,
        load: (idx) => {
          let v = sum.load(idx);
          if (bias) v = vbin("add", v, vcast(bias.load([idx[1]]), "f32"), "f32");
          return vcast(v, out.dtype);
        },
      };
      return this.reshapeBox(res, out.shape);
    }
    const aBody = vcast(
      linear ? aFinal.load([mv, kv]) : aFinal.load([...broadcastIndex(bIdx, ab), mv, kv]),
      "f32",
    );
    const bBody = vcast(b.load([...broadcastIndex(bIdx, bb), kv, nv]), "f32");
    let epi: VExpr = { k: "reg", key: "reg(acc)", dtype: "f32", name: "acc" };
    if (linear && node.args[2]) {
      const bias = this.box(node.args[2], where);
      epi = vbin("add", epi, vcast(bias.load([nv]), "f32"), "f32");
    }
    const buf = this.addBuffer({
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

  lowerCat(node: Node, where: string): TBox {
    const out = node.meta!;
    const parts = node.args.map((a) => this.box(a, where));
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

  /** Before `buf` is written in place, realize every pending (inlined) value that reads it:
   * it must see the old contents (upstream realizes a mutated buffer's readers too). */
  realizeReadersOf(buf: string): void {
    for (const [node, t] of this.env) {
      if (!t || t.buffer) continue;
      if (buffersRead(t.load(vars("x", t.shape))).has(buf)) {
        if (GraphLowering.isPlainRead(t)) continue; // a view keeps reading the live buffer
        this.env.set(node, this.realize(t, null, node));
      }
    }
  }

  /** The buffer a written value lives in and, for a view, where each of its elements sits in
   * that buffer (a view folds into one load of the base; upstream writes through the view's
   * strides). Unrealized values and broadcast views (several elements, one location) cannot be
   * written. */
  writeTarget(dst: TBox, where: string): { buffer: string; at: (idx: IndexExpr[]) => IndexExpr } {
    if (dst.buffer) {
      const st = contiguousStrides(dst.shape);
      return { buffer: dst.buffer, at: (idx) => ravel(idx, st) };
    }
    const probe = GraphLowering.isPlainRead(dst) ? dst.load(vars("x", dst.shape)) : null;
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

  lowerCopy(node: Node, where: string): TBox {
    const dst = this.box(node.args[0], where);
    const tgt = this.writeTarget(dst, where);
    this.realizeReadersOf(tgt.buffer);
    const src = this.operand(node.args[1], dst.dtype, where);
    const idx = vars("x", dst.shape);
    this.addBuffer({
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
  lowerIndexCopy(node: Node, where: string): TBox {
    const dst = this.box(node.args[0], where);
    const d = node.args[1] as number;
    const dim = d < 0 ? d + dst.shape.length : d;
    const index = this.box(node.args[2], where);
    const srcBox = this.box(node.args[3], where);
    const tgt = this.writeTarget(dst, where);
    this.realizeReadersOf(tgt.buffer);
    const idx = vars("x", srcBox.shape);
    const row = vcast(index.load([idx[dim]]), "u32");
    const size = dst.shape[dim];
    const dstIdx = idx.map((e, i) => (i === dim ? iind(row.key, row, size) : e));
    this.addBuffer({
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

  /** Registered custom ops become FallbackKernels (upstream ir.FallbackKernel): inputs are
   * realized, each mutated argument gets a MutationOutput with NoneLayout. */
  lowerCustom(node: Node, where: string): TBox | null {
    if (!node.target.includes("::")) {
      throw new UnsupportedOpError(`${where}: no lowering for op '${node.target}'`);
    }
    const mutatedIdx = customMutates(node);
    const aliasIdx = customAliasOf(node);
    const args: FallbackArg[] = node.args.map((a, i) => {
      if (a === null || typeof a !== "object" || Array.isArray(a)) return a as FallbackArg;
      let t = this.box(a, where);
      if (mutatedIdx.includes(i) && !t.buffer && GraphLowering.isPlainRead(t)) {
        throw new UnsupportedOpError(
          `${where}: argument ${i} ('${(a as Node).name}') is mutated in place and must be a ` +
            `buffer, not a view`,
        );
      }
      if (!t.buffer) {
        // a computed argument gets its own buffer; later readers of that fx node read it (and
        // see the mutation)
        t = this.realize(t, null, a as Node);
        this.env.set(a as Node, t);
      }
      return { buf: t.buffer! };
    });
    const mutated = mutatedIdx.map((i) => (args[i] as { buf: string }).buf);
    for (const m of mutated) this.realizeReadersOf(m);
    const m = node.meta;
    const kernel = this.addBuffer({
      shape: m ? [...m.shape] : [],
      dtype: m ? m.dtype : "f32",
      def: { kind: "fallback", op: node.target, args, kwargs: { ...node.kwargs }, mutated },
      layout: m ? (aliasIdx !== null ? "alias" : "fixed") : "none",
      target: aliasIdx !== null ? (args[aliasIdx] as { buf: string }).buf : null,
      // set only for a real (non-view) buffer result, as upstream's run_node does
      originNode: m && aliasIdx === null ? node.name : null,
    });
    for (const name of mutated) {
      const real = this.buffers.find((b) => b.name === name)!;
      this.addBuffer({
        shape: [...real.shape],
        dtype: real.dtype,
        def: { kind: "nop" },
        layout: "none",
        target: name,
        originNode: null,
      });
    }
    if (!m) return null;
    return bufferBox(kernel.name, kernel.shape, kernel.dtype);
  }
}

/** `t` with its loads memoised by index: consumers of a value load it at the same indices
 * again and again (every user, every realization check), and without the memo each load
 * rebuilt the whole inlined producer chain — quadratic in the chain's length. */
function memoLoads(t: TBox): TBox {
  if (t.buffer) return t;
  const memo = new Map<string, VExpr>();
  const load = t.load;
  return {
    ...t,
    load: (idx) => {
      const k = idx.map((i) => i.key).join(";");
      let v = memo.get(k);
      if (!v) memo.set(k, v = load(idx));
      return v;
    },
  };
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

/** Accumulator dtype: floats sum in f32 (upstream upcasts half reductions). */
export function accDType(d: DType, rtype: ReductionType): DType {
  if (isFloat(d)) return "f32";
  // bool sums count (i32, torch: int64); bool max/min are any/all, computed on 0/1 in u32
  if (d === "bool") return rtype === "sum" ? "i32" : "u32";
  return d;
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

function customMutates(node: Node): number[] {
  return getOp(node.target).mutates ?? [];
}
function customAliasOf(node: Node): number | null {
  return getOp(node.target).aliasOf ?? null;
}

/** The stock method, for tests that check a skipped patch left it untouched. */
export const STOCK_UPDATE_SCHEDULER = GraphLowering.prototype.updateScheduler;
