// Tracing: run a function on TensorProxy stand-ins and record every op it calls into a Graph.
// Ops find the graph through a module-level stack of running traces, so the functional `ops`
// namespace and the chainable proxy methods work anywhere inside `trace(fn, specs)`.
import { checkDType, type DType } from "../dtype.ts";
import { GraphError, ShapeError } from "../errors.ts";
import { callOp, checkArgDepth, kwargsObject } from "./builder.ts";
import { type Arg, Graph, type Kwargs, type Node } from "./graph.ts";
import { BINARY_NAMES, type BinaryName, UNARY_NAMES, type UnaryName } from "./ops/elementwise.ts";

interface Trace {
  graph: Graph;
  id: number;
}

const running: Trace[] = [];
let nextTraceId = 1;
/** Which trace made each proxy (kept off the public object). */
const owner = new WeakMap<TensorProxy, Trace>();

/** A tensor argument: a proxy, or a number/boolean literal where the op accepts one. */
export type Operand = TensorProxy | number | boolean;
export type Dims = number | number[] | null;

/** One traced input: its shape, dtype (default f32) and placeholder name (default argN). */
export interface InputSpec {
  shape: number[];
  dtype?: DType;
  name?: string;
}

export type TraceFn = (...inputs: TensorProxy[]) => TensorProxy | TensorProxy[];

function toArg(a: unknown, t: Trace, what: string): Arg {
  if (a instanceof TensorProxy) {
    const o = owner.get(a)!;
    if (o !== t) {
      const state = running.includes(o) ? "an outer trace" : "a trace that has finished";
      throw new GraphError(
        `${what}: tensor '${a.node.name}' belongs to ${state} (#${o.id}), not the running ` +
          `trace (#${t.id}); pass it in as an input instead`,
      );
    }
    return a.node;
  }
  if (Array.isArray(a)) return a.map((x) => toArg(x, t, what));
  if (a === undefined) return null;
  if (a === null || ["number", "boolean", "string"].includes(typeof a)) return a as Arg;
  throw new GraphError(`${what}: cannot pass ${typeof a} ${String(a)} as an op argument`);
}

/** Record `target(args, kwargs)` in the running trace; null for ops that return nothing. */
function emit(target: string, args: unknown[], kwargs: Record<string, unknown> = {}) {
  const t = running[running.length - 1];
  if (!t) {
    const p = args.flat().find((a) => a instanceof TensorProxy) as TensorProxy | undefined;
    throw new GraphError(
      p
        ? `tensor '${p.node.name}' used outside trace() (in ${target}); its trace has finished`
        : `op '${target}' called outside trace(); ops record into a running trace`,
    );
  }
  if (!Array.isArray(args)) {
    throw new GraphError(`op '${target}': args must be a list, got ${typeof args}`);
  }
  if (typeof kwargs !== "object" || kwargs === null || Array.isArray(kwargs)) {
    throw new GraphError(`op '${target}': kwargs must be an object, got ${String(kwargs)}`);
  }
  checkArgDepth([args, ...Object.values(kwargs)], `op '${target}'`);
  const kw: Kwargs = kwargsObject();
  for (const [k, v] of Object.entries(kwargs)) if (v !== undefined) kw[k] = toArg(v, t, target);
  const node = callOp(t.graph, target, args.map((a) => toArg(a, t, target)), kw);
  return node.meta ? makeProxy(node, t) : null;
}

/** Built-in ops always return a tensor. */
const emitT = (target: string, args: unknown[], kwargs?: Record<string, unknown>) =>
  emit(target, args, kwargs)!;

function makeProxy(node: Node, t: Trace): TensorProxy {
  const p = new TensorProxy(node);
  owner.set(p, t);
  return p;
}

/** Varargs or one array: reshape(2, 3) and reshape([2, 3]). */
function intList(a: (number | number[])[]): number[] {
  return a.length === 1 && Array.isArray(a[0]) ? a[0] : (a as number[]);
}

const listOf = (s: number | number[]) => (typeof s === "number" ? [s] : s);

type UnaryFns = { [K in UnaryName]: (x: TensorProxy) => TensorProxy };
type BinaryFns = { [K in BinaryName]: (a: Operand, b: Operand) => TensorProxy };

const unaryFns = Object.fromEntries(
  UNARY_NAMES.map((n) => [n, (x: TensorProxy) => emitT(n, [x])]),
) as UnaryFns;
const binaryFns = Object.fromEntries(
  BINARY_NAMES.map((n) => [n, (a: Operand, b: Operand) => emitT(n, [a, b])]),
) as BinaryFns;

/** Functional forms of every op (camelCase for multi-word names). Call only inside trace(). */
export const ops = {
  ...unaryFns,
  ...binaryFns,
  gelu: (x: TensorProxy, approximate: "none" | "tanh" = "none") =>
    emitT("gelu", [x], { approximate }),
  where: (cond: TensorProxy, a: Operand, b: Operand) => emitT("where", [cond, a, b]),
  cast: (x: TensorProxy, dtype: DType) => emitT("cast", [x], { dtype }),
  sum: (x: TensorProxy, dim: Dims = null, keepdim = false) => emitT("sum", [x], { dim, keepdim }),
  mean: (x: TensorProxy, dim: Dims = null, keepdim = false) => emitT("mean", [x], { dim, keepdim }),
  /** Values only (torch's max(dim) also returns indices: use argmax). */
  max: (x: TensorProxy, dim: Dims = null, keepdim = false) => emitT("max", [x], { dim, keepdim }),
  min: (x: TensorProxy, dim: Dims = null, keepdim = false) => emitT("min", [x], { dim, keepdim }),
  argmax: (x: TensorProxy, dim: number | null = null, keepdim = false) =>
    emitT("argmax", [x], { dim, keepdim }),
  softmax: (x: TensorProxy, dim = -1) => emitT("softmax", [x], { dim }),
  logSoftmax: (x: TensorProxy, dim = -1) => emitT("log_softmax", [x], { dim }),
  layerNorm: (
    x: TensorProxy,
    normalizedShape: number | number[],
    weight?: TensorProxy | null,
    bias?: TensorProxy | null,
    eps?: number,
  ) =>
    emitT("layer_norm", [x, weight ?? null, bias ?? null], {
      normalized_shape: listOf(normalizedShape),
      eps,
    }),
  rmsNorm: (
    x: TensorProxy,
    normalizedShape: number | number[],
    weight?: TensorProxy | null,
    eps?: number,
  ) => emitT("rms_norm", [x, weight ?? null], { normalized_shape: listOf(normalizedShape), eps }),
  matmul: (a: TensorProxy, b: TensorProxy) => emitT("matmul", [a, b]),
  bmm: (a: TensorProxy, b: TensorProxy) => emitT("bmm", [a, b]),
  linear: (x: TensorProxy, weight: TensorProxy, bias?: TensorProxy | null) =>
    emitT("linear", [x, weight, bias ?? null]),
  reshape: (x: TensorProxy, shape: number[]) => emitT("reshape", [x], { shape }),
  view: (x: TensorProxy, shape: number[]) => emitT("reshape", [x], { shape }),
  permute: (x: TensorProxy, dims: number[]) => emitT("permute", [x], { dims }),
  transpose: (x: TensorProxy, dim0: number, dim1: number) =>
    emitT("transpose", [x], { dim0, dim1 }),
  /** torch.t: transposes a 2-d tensor; 0-d and 1-d tensors come back unchanged. */
  t(x: TensorProxy): TensorProxy {
    if (x.ndim < 2) return x;
    if (x.ndim > 2) throw new ShapeError(`t() expects a tensor with <= 2 dims, got ${x.ndim}`);
    return ops.transpose(x, 0, 1);
  },
  expand: (x: TensorProxy, shape: number[]) => emitT("expand", [x], { shape }),
  slice: (x: TensorProxy, dim: number, start?: number | null, end?: number | null, step?: number) =>
    emitT("slice", [x], { dim, start, end, step }),
  squeeze: (x: TensorProxy, dim: number | null = null) => emitT("squeeze", [x], { dim }),
  unsqueeze: (x: TensorProxy, dim: number) => emitT("unsqueeze", [x], { dim }),
  cat: (tensors: TensorProxy[], dim = 0) => emitT("cat", tensors, { dim }),
  embedding: (weight: TensorProxy, indices: TensorProxy) => emitT("embedding", [weight, indices]),
  full: (shape: number[], value: number | boolean, dtype: DType = "f32") =>
    emitT("full", [], { shape, value, dtype }),
  empty: (shape: number[], dtype: DType = "f32") => emitT("empty", [], { shape, dtype }),
  emptyLike: (x: TensorProxy, dtype: DType | null = null) => emitT("empty_like", [x], { dtype }),
  copy_: (dst: TensorProxy, src: Operand) => emitT("copy_", [dst, src]),
  /** dst[.., index[i], ..] = src[.., i, ..] along `dim` at runtime indices; returns dst. */
  index_copy_: (dst: TensorProxy, dim: number, index: TensorProxy, src: TensorProxy) =>
    emitT("index_copy_", [dst, dim, index, src]),
  /** Any registered op by name (custom ops included); null when the op returns nothing. */
  call: (target: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}) =>
    emit(target, args, kwargs),
};

type UnaryMethods = { [K in UnaryName]: () => TensorProxy };
type BinaryMethods = { [K in BinaryName]: (other: Operand) => TensorProxy };

/** A traced tensor: shape and dtype are known, values are not. Methods record ops. */
export interface TensorProxy extends UnaryMethods, BinaryMethods {}
// Declaration merging adds the table-generated unary/binary methods defined below the class.
export class TensorProxy {
  constructor(readonly node: Node) {}

  get shape(): number[] {
    return this.node.meta!.shape.slice();
  }
  get dtype(): DType {
    return this.node.meta!.dtype;
  }
  get ndim(): number {
    return this.node.meta!.shape.length;
  }
  numel(): number {
    return this.node.meta!.shape.reduce((a, b) => a * b, 1);
  }

  gelu(approximate: "none" | "tanh" = "none") {
    return ops.gelu(this, approximate);
  }
  /** torch's x.where(cond, other): cond ? x : other. */
  where(cond: TensorProxy, other: Operand) {
    return ops.where(cond, this, other);
  }
  cast(dtype: DType) {
    return ops.cast(this, dtype);
  }
  to(dtype: DType) {
    return ops.cast(this, dtype);
  }
  float() {
    return ops.cast(this, "f32");
  }
  half() {
    return ops.cast(this, "f16");
  }
  int() {
    return ops.cast(this, "i32");
  }
  sum(dim: Dims = null, keepdim = false) {
    return ops.sum(this, dim, keepdim);
  }
  mean(dim: Dims = null, keepdim = false) {
    return ops.mean(this, dim, keepdim);
  }
  max(dim: Dims = null, keepdim = false) {
    return ops.max(this, dim, keepdim);
  }
  min(dim: Dims = null, keepdim = false) {
    return ops.min(this, dim, keepdim);
  }
  argmax(dim: number | null = null, keepdim = false) {
    return ops.argmax(this, dim, keepdim);
  }
  softmax(dim = -1) {
    return ops.softmax(this, dim);
  }
  logSoftmax(dim = -1) {
    return ops.logSoftmax(this, dim);
  }
  layerNorm(
    shape: number | number[],
    weight?: TensorProxy | null,
    bias?: TensorProxy | null,
    eps?: number,
  ) {
    return ops.layerNorm(this, shape, weight, bias, eps);
  }
  rmsNorm(shape: number | number[], weight?: TensorProxy | null, eps?: number) {
    return ops.rmsNorm(this, shape, weight, eps);
  }
  matmul(other: TensorProxy) {
    return ops.matmul(this, other);
  }
  bmm(other: TensorProxy) {
    return ops.bmm(this, other);
  }
  linear(weight: TensorProxy, bias?: TensorProxy | null) {
    return ops.linear(this, weight, bias);
  }
  reshape(...shape: (number | number[])[]) {
    return ops.reshape(this, intList(shape));
  }
  view(...shape: (number | number[])[]) {
    return ops.reshape(this, intList(shape));
  }
  permute(...dims: (number | number[])[]) {
    return ops.permute(this, intList(dims));
  }
  transpose(dim0: number, dim1: number) {
    return ops.transpose(this, dim0, dim1);
  }
  t() {
    return ops.t(this);
  }
  expand(...shape: (number | number[])[]) {
    return ops.expand(this, intList(shape));
  }
  slice(dim: number, start?: number | null, end?: number | null, step?: number) {
    return ops.slice(this, dim, start, end, step);
  }
  squeeze(dim: number | null = null) {
    return ops.squeeze(this, dim);
  }
  unsqueeze(dim: number) {
    return ops.unsqueeze(this, dim);
  }
  copy_(src: Operand) {
    return ops.copy_(this, src);
  }
  index_copy_(dim: number, index: TensorProxy, src: TensorProxy) {
    return ops.index_copy_(this, dim, index, src);
  }
  toString(): string {
    return `TensorProxy(%${this.node.name}: ${this.dtype}[${this.shape.join(", ")}])`;
  }
}

for (const n of UNARY_NAMES) {
  Object.defineProperty(TensorProxy.prototype, n, {
    value(this: TensorProxy) {
      return ops[n](this);
    },
  });
}
for (const n of BINARY_NAMES) {
  Object.defineProperty(TensorProxy.prototype, n, {
    value(this: TensorProxy, other: Operand) {
      return ops[n](this, other);
    },
  });
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function checkSpecs(specs: unknown): InputSpec[] {
  if (!Array.isArray(specs)) {
    throw new GraphError(
      `trace: specs must be a list of {shape, dtype?, name?}, got ${typeof specs}`,
    );
  }
  const names = new Set<string>();
  return specs.map((s, i) => {
    const where = `trace: input ${i}`;
    if (typeof s !== "object" || s === null) {
      throw new GraphError(`${where}: spec must be an object`);
    }
    const { shape, dtype = "f32", name = `arg${i}` } = s as InputSpec;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new ShapeError(
        `${where} ('${name}'): shape must be a list of non-negative integers, got ${
          JSON.stringify(shape)
        }`,
      );
    }
    checkDType(dtype, `${where} ('${name}')`);
    if (typeof name !== "string" || !NAME.test(name) || names.has(name)) {
      throw new GraphError(`${where}: name ${JSON.stringify(name)} is not a fresh identifier`);
    }
    names.add(name);
    return { shape: shape.slice(), dtype, name };
  });
}

/** Trace `fn` on proxies for `specs` (default dtype f32, names arg0, arg1, …) and return the
 * graph; fn must return a proxy or a non-empty array of proxies. */
export function trace(fn: TraceFn, specs: InputSpec[]): Graph {
  const checked = checkSpecs(specs);
  const graph = new Graph();
  const t: Trace = { graph, id: nextTraceId++ };
  const inputs = checked.map((s) =>
    makeProxy(graph.placeholder(s.name!, { shape: s.shape, dtype: s.dtype! }), t)
  );
  running.push(t);
  let result: unknown;
  try {
    result = fn(...inputs);
  } finally {
    running.splice(running.lastIndexOf(t), 1);
  }
  const outs = result instanceof TensorProxy ? [result] : result;
  if (!Array.isArray(outs) || outs.length === 0 || !outs.every((o) => o instanceof TensorProxy)) {
    const got = result instanceof Promise ? "a Promise (fn must be synchronous)" : String(result);
    throw new GraphError(
      `trace: fn must return a TensorProxy or a non-empty array of them, got ${got}`,
    );
  }
  for (const o of outs as TensorProxy[]) toArg(o, t, "trace output");
  graph.output((outs as TensorProxy[]).map((o) => o.node));
  return graph;
}
