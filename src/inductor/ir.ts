// Inductor IR: the buffers and operations GraphLowering produces (mirrors torch/_inductor/ir.py
// in spirit: ComputedBuffer with Pointwise/Reduction bodies, TemplateBuffer, FallbackKernel,
// MutationOutput, NopKernel, InputBuffer).
import type { DType } from "../dtype.ts";
import type { IndexExpr } from "./index_expr.ts";
import type { VExpr } from "./value_expr.ts";

export type ReductionType = "sum" | "max" | "min" | "argmax";

/** out[x0..] = body, with vars x0..x{n-1} over `ranges`. */
export interface PointwiseDef {
  kind: "pointwise";
  ranges: number[];
  body: VExpr;
  /** An in-place write that does not land at the loop's flat index (copy_ into a view,
   * index_copy_ at runtime indices): the element of the target's storage written, in the same
   * vars, and a condition under which the write happens (out-of-range runtime indices are
   * skipped, never written out of bounds). */
  store?: { index: IndexExpr; guard: VExpr | null };
}

/** out[x0..] = reduce over r0..{m-1} of body(x.., r..). `space` places each var in the source
 * iteration space (the shape being reduced): fused kernels iterate that space. */
export interface ReductionDef {
  kind: "reduction";
  ranges: number[];
  rranges: number[];
  rtype: ReductionType;
  body: VExpr;
  /** For each dim of the source space: the var that indexes it ("x0", "r1", …). */
  space: string[];
  spaceShape: number[];
}

/** Batched matmul template: out[b, m, n] = epilogue(sum_k a(b, m, k) * b(b, k, n)).
 * Operand bodies use vars b, m, k / b, k, n; the epilogue uses vars b, m, n and reg "acc". */
export interface MatmulDef {
  kind: "matmul";
  batch: number;
  m: number;
  n: number;
  k: number;
  a: VExpr;
  b: VExpr;
  epilogue: VExpr;
}

/** A registered custom op run as an opaque kernel (upstream FallbackKernel). */
export interface FallbackDef {
  kind: "fallback";
  op: string;
  /** Positional args: tensors as `{ buf }`, everything else as the literal. */
  args: FallbackArg[];
  kwargs: Record<string, unknown>;
  /** Buffer names this op writes in place. */
  mutated: string[];
}

export type FallbackArg = { buf: string } | number | boolean | string | null | unknown[];

/** Allocation only (empty, empty_like): upstream NopKernel. */
export interface NopDef {
  kind: "nop";
}

/** A graph input. */
export interface InputDef {
  kind: "input";
  index: number;
}

export type BufferDef = PointwiseDef | ReductionDef | MatmulDef | FallbackDef | NopDef | InputDef;

export type LayoutKind =
  | "fixed" // owns storage
  | "none" // NoneLayout: MutationOutput / ops that return nothing
  | "alias"; // a view of another buffer's storage (view-like custom ops)

export interface IRBuffer {
  /** buf0, buf1, … in creation order; graph inputs keep their placeholder names. */
  name: string;
  shape: number[];
  dtype: DType;
  def: BufferDef;
  layout: LayoutKind;
  /** For MutationOutput (layout "none"): the buffer whose storage is written. For "alias": the
   * buffer whose storage this aliases. For pointwise mutations (copy_): the written buffer. */
  target: string | null;
  /** The fx node that produced it — nullable, set only where upstream's run_node sets it: when
   * the lowering result is a plain (non-view) buffer. Mutating custom ops returning nothing get
   * none (this matters for patch B). */
  originNode: string | null;
  /** Every fx node whose lowering contributed to this buffer (for explain and eager grouping). */
  origins: string[];
}

/** Index of a contiguous buffer at a multi-index. */
export type Loader = (idx: IndexExpr[]) => VExpr;

/** The lowered graph the scheduler takes (upstream: GraphLowering's buffers and graph I/O). */
export interface LoweredGraph {
  buffers: IRBuffer[];
  /** Graph output buffer names, in order (a graph output that is a view is realized). */
  outputs: string[];
  inputs: string[];
  /** fx node name -> buffer that holds its value (when realized). */
  nodeBuffers: Map<string, string>;
}
