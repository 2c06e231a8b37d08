// The lowering's shared vocabulary (upstream torch/_inductor/ir.py TensorBox and the helpers of
// torch/_inductor/lowering.py): a lowered value (TBox), index helpers, and the part of
// GraphLowering the per-family lowerings in src/inductor/lowering/ call.
import { contiguousStrides, type DType, isFloat } from "../dtype.ts";
import type { Arg, Node } from "../fx/graph.ts";
import { iconst, type IndexExpr, ivar, ravel } from "./index_expr.ts";
import type { IRBuffer, ReductionType } from "./ir.ts";
import { buffersRead, type VExpr, vload } from "./value_expr.ts";

/** A lowered value: possibly unrealized (upstream TensorBox over a Pointwise or a view). */
export interface TBox {
  shape: number[];
  dtype: DType;
  load: (idx: IndexExpr[]) => VExpr;
  /** Set when this value is exactly a realized buffer, read contiguously. */
  buffer?: string;
}

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

export const normDim = (d: number, rank: number): number => (d < 0 ? d + rank : d);

/** True when loading `t` costs nothing but a read (a view of a realized buffer). */
export function isPlainRead(t: TBox): boolean {
  if (t.buffer) return true;
  const e = t.load(vars("x", t.shape));
  // a gather (embedding) is a single load too, but it reads its index buffer: not a view
  return e.k === "load" && buffersRead(e).size === 1;
}

/** Accumulator dtype: floats sum in f32 (upstream upcasts half reductions). */
export function accDType(d: DType, rtype: ReductionType): DType {
  if (isFloat(d)) return "f32";
  // bool sums count (i32, torch: int64); bool max/min are any/all, computed on 0/1 in u32
  if (d === "bool") return rtype === "sum" ? "i32" : "u32";
  return d;
}

/** What the per-family lowerings (src/inductor/lowering/) use of GraphLowering. */
export interface LoweringContext {
  readonly options: LoweringOptions;
  readonly buffers: IRBuffer[];
  readonly env: Map<Node, TBox | null>;
  addBuffer(
    b: Omit<IRBuffer, "name" | "origins"> & { name?: string; origins?: string[] },
  ): IRBuffer;
  realize(t: TBox, originNode?: string | null, producer?: Node): TBox;
  box(a: Arg, where: string): TBox;
  operand(a: Arg, dtype: DType, where: string): (idx: IndexExpr[]) => VExpr;
  f32(x: TBox): TBox;
  reduce(x: TBox, dims: number[], rtype: ReductionType, acc: DType): TBox;
  keep(r: TBox, fullShape: number[], dims: number[]): TBox;
  reshapeBox(x: TBox, shape: number[]): TBox;
  realizeReadersOf(buf: string): void;
}
