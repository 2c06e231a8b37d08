// A seeded random-graph generator for differential tests (DESIGN.md §7): pointwise chains,
// broadcasts, views, reductions, norms, matmuls, cat/embedding, copy_ and custom ops (one
// returning a tensor, one with a different output shape, one writing an `out!` argument),
// built from a pool of live tensors so values get several users (what fusion has to respect).
//
// `randomGraph(seed)` is deterministic: the same seed gives the same program, inputs and
// tolerances. Shapes and dtypes are inferred as the program grows with the op registry's own
// rules (`callOp` on a scratch graph), and `fn` replays the program through `ops.call` inside
// `trace`/`compile`, so the traced graph has the same node names as the scratch one.
//
// Numerics: the generator keeps an upper bound on |value| for every tensor and only composes
// ops that stay finite and well-conditioned: log/sqrt/rsqrt/reciprocal/pow/div see
// abs(x)+0.5, exp sees tanh(x) unless |x| <= 3, products that would exceed the cap are
// squashed with tanh first. Discontinuous ops (comparisons, argmax, float->int/bool casts)
// only see "exact" tensors — inputs and values every backend computes bit-identically
// (views, neg/abs/relu, maximum/minimum, max/min, integer arithmetic) — so a rounding
// difference never flips a branch. Tolerances are derived per output (see `toleranceFor`).
//
// Special values: about a third of the float graphs are "special": their float inputs get NaN,
// ±inf, ±0, huge (±1e30) and tiny (±1e-30) elements (randomInputs), and their literals include
// 0, -0, ±1, ±inf and NaN. Bounds and tolerances ignore special values (they must match exactly:
// NaN for NaN, the same infinity); values that may hold huge finite elements go through tanh
// before ops whose f32 result depends on summation order or range reduction (sum, mean, norms,
// matmul, sin, cos, f16 casts), where float64 and f32 legitimately differ. Each output says
// whether the sign of its zeros must match (`zeroSign`: not after reductions, norms, matmuls
// and maximum/minimum, whose zero ties and summation order torch does not pin down).
import { type DType, isFloat, numel } from "../../src/dtype.ts";
import { ShapeError } from "../../src/errors.ts";
import { callOp } from "../../src/fx/builder.ts";
import { registerCustomOp } from "../../src/fx/custom_ops.ts";
import { type Arg, Graph, type Kwargs, type Node, type TensorMeta } from "../../src/fx/graph.ts";
import type { MetaArg, RefArg } from "../../src/fx/op_def.ts";
import { type InputSpec, ops, type TensorProxy, type TraceFn } from "../../src/fx/tracer.ts";
import type { TypedArray } from "../../src/dtype.ts";
import type { RefTensor } from "../../src/reference/tensor.ts";
import { randomArray, rng, type Tolerance } from "../helpers.ts";

// ---------------------------------------------------------------------------------------------
// Tolerances
// ---------------------------------------------------------------------------------------------

/** Base tolerances per precision class. An output's tolerance is
 *    atol = base.atol * max(1, scale) * (1 + depth/4),   rtol = base.rtol * (1 + depth/4)
 * where `scale` bounds |value| over every tensor the output depends on (errors are relative to
 * the largest intermediate, e.g. after cancellation) and `depth` is the longest chain of
 * arithmetic ops. Integer and bool outputs must match exactly. "f16" applies to any output
 * whose inputs passed through f16 (an f16 rounding boundary may fall either way). */
export const BASE_TOLERANCE: Record<"f32" | "f16", Tolerance> = {
  f32: { atol: 1e-4, rtol: 1e-3 },
  f16: { atol: 1e-2, rtol: 1e-2 },
};

/** Largest |value| a float tensor may reach (f16 keeps well inside its range). */
const BOUND_CAP = { f32: 1000, f16: 200 };
/** Element caps: inputs and any intermediate (lavapipe is a CPU: keep sizes small). */
const MAX_INPUT_NUMEL = 256;
const MAX_NUMEL = 2048;

// ---------------------------------------------------------------------------------------------
// Custom ops (registered once, at import)
// ---------------------------------------------------------------------------------------------

/** Custom ops the generator uses; none has `js`/`wgsl`, so all run on the host through their
 * float64 reference (the CPU fallback step between kernels). */
export const CUSTOM_OPS = {
  /** rg::scale_add(x, y) = 2x + y, same shapes: returns a new tensor. */
  scaleAdd: "rg::scale_add",
  /** rg::row_absmax(x) = max |x| over the last dim: a result of another shape. */
  rowAbsmax: "rg::row_absmax",
  /** rg::cumsum_out(x, out!) writes the running sum of x along the last dim into out and
   * returns nothing (vLLM's `op(..., out!)` style). */
  cumsumOut: "rg::cumsum_out",
} as const;

function metaAt(args: MetaArg[], i: number, op: string): TensorMeta {
  const a = args[i];
  if (typeof a !== "object" || a === null || Array.isArray(a)) {
    throw new ShapeError(`${op}: argument ${i} must be a tensor`);
  }
  return a;
}
function sameShapeOrThrow(a: TensorMeta, b: TensorMeta, op: string) {
  if (a.shape.length !== b.shape.length || a.shape.some((s, i) => s !== b.shape[i])) {
    throw new ShapeError(`${op}: shapes [${a.shape}] and [${b.shape}] must match`);
  }
}
const refArg = (args: RefArg[], i: number) => args[i] as RefTensor;

registerCustomOp({
  name: CUSTOM_OPS.scaleAdd,
  args: ["x", "y"],
  shape(args) {
    const x = metaAt(args, 0, CUSTOM_OPS.scaleAdd), y = metaAt(args, 1, CUSTOM_OPS.scaleAdd);
    sameShapeOrThrow(x, y, CUSTOM_OPS.scaleAdd);
    return x.shape.slice();
  },
  reference(args) {
    const x = refArg(args, 0), y = refArg(args, 1);
    return {
      shape: x.shape.slice(),
      dtype: x.dtype,
      data: x.data.map((v, i) => 2 * v + y.data[i]),
    };
  },
  replace: true,
});

registerCustomOp({
  name: CUSTOM_OPS.rowAbsmax,
  args: ["x"],
  shape(args) {
    const x = metaAt(args, 0, CUSTOM_OPS.rowAbsmax);
    if (x.shape.length < 1 || x.shape[x.shape.length - 1] < 1) {
      throw new ShapeError(`${CUSTOM_OPS.rowAbsmax}: needs a non-empty last dim`);
    }
    return x.shape.slice(0, -1);
  },
  reference(args) {
    const x = refArg(args, 0);
    const n = x.shape[x.shape.length - 1];
    const out = new Float64Array(x.data.length / n);
    for (let r = 0; r < out.length; r++) {
      let m = 0;
      for (let j = 0; j < n; j++) m = Math.max(m, Math.abs(x.data[r * n + j]));
      out[r] = m;
    }
    return { shape: x.shape.slice(0, -1), dtype: x.dtype, data: out };
  },
  replace: true,
});

registerCustomOp({
  name: CUSTOM_OPS.cumsumOut,
  args: ["x", "out!"],
  shape(args) {
    const x = metaAt(args, 0, CUSTOM_OPS.cumsumOut), o = metaAt(args, 1, CUSTOM_OPS.cumsumOut);
    sameShapeOrThrow(x, o, CUSTOM_OPS.cumsumOut);
    return null;
  },
  reference(args) {
    const x = refArg(args, 0), o = refArg(args, 1);
    const n = x.shape.length ? x.shape[x.shape.length - 1] : 1;
    for (let r = 0; r * n < x.data.length; r++) {
      let acc = 0;
      for (let j = 0; j < n; j++) {
        acc += x.data[r * n + j];
        o.data[r * n + j] = acc;
      }
    }
    return null;
  },
  replace: true,
});

// ---------------------------------------------------------------------------------------------
// Generator
// ---------------------------------------------------------------------------------------------

export type GraphKind = "f32" | "i32" | "f16";

/** One input of a generated graph, with the range its random values are drawn from. */
export interface GenInput extends InputSpec {
  name: string;
  shape: number[];
  dtype: DType;
  lo: number;
  hi: number;
  /** Special values to sprinkle into this float input (randomInputs). */
  specials?: readonly number[];
}

/** Special input values per float dtype (f16: no huge or tiny values, which f16 cannot hold). */
export const SPECIAL_INPUTS: Record<"f32" | "f16", readonly number[]> = {
  f32: [NaN, Infinity, -Infinity, -0, 0, 1e30, -1e30, 1e-30, -1e-30],
  f16: [NaN, Infinity, -Infinity, -0, 0],
};
/** Literals of special graphs. */
const SPECIAL_LITERALS = [0, -0, 1, -1, Infinity, -Infinity, NaN];
/** Fraction of a special input's elements replaced by special values. */
const SPECIAL_RATE = 0.15;
/** A literal's contribution to bounds: special ones produce special values, compared exactly. */
const litBound = (v: number) => (Number.isFinite(v) ? Math.abs(v) : 0);

export interface RandomGraph {
  seed: number;
  kind: GraphKind;
  /** Replays the program; pass to `compile(fn, { inputs })` or `trace(fn, inputs)`. */
  fn: TraceFn;
  inputs: GenInput[];
  /** Header line plus one line per node with its bound, depth and exactness. */
  describe: string;
  /** One per output. */
  tolerances: Tolerance[];
  /** One per output: must the signs of zeros match the reference? */
  zeroSign: boolean[];
  /** Inputs hold special values and literals may be special (see the header). */
  special: boolean;
  /** Generator features used (op families, e.g. "matmul", "custom:rg::cumsum_out"). */
  features: string[];
}

export interface RandomGraphOptions {
  /** Op-generator invocations per graph (each may add a few nodes). Default 3..12. */
  minOps?: number;
  maxOps?: number;
  /** Force a graph kind (default: ~78% f32, ~12% i32, ~10% f16). */
  kind?: GraphKind;
  /** Force special values on or off (default: about a third of the float graphs). */
  special?: boolean;
  /** false: no f16 anywhere (an adapter without shader-f16); f16 graphs become f32 ones. */
  f16?: boolean;
  /** false: no ±inf among the special inputs and literals (NaN, ±0, huge, tiny stay). */
  infinities?: boolean;
  /** Generator features to leave out (names as in `RandomGraph.features`, or a family such
   * as "mutate" or "custom"): a switch for temporarily excluding a construct. */
  exclude?: string[];
}

interface Val {
  id: number;
  node: Node;
  shape: number[];
  dtype: DType;
  /** Upper bound on |value|. */
  bound: number;
  /** Upper bound on |value| over this tensor and everything it depends on. */
  scale: number;
  /** Longest chain of arithmetic ops from an input. */
  depth: number;
  /** Bit-identical on every backend (safe to compare, argmax or truncate). */
  exact: boolean;
  /** Passed through f16 somewhere. */
  lowp: boolean;
  /** The buffer (an input or an empty_like) this value is or views; null for computed
   * values. Writes into that buffer update every value sharing it. */
  storage: number | null;
  /** i32 values known to lie in [0, indexMax) (argmax results, index inputs). */
  indexMax?: number;
  /** A cat result or a view of one. */
  fromCat?: boolean;
  /** May hold huge finite values (from special inputs) beyond `bound`. */
  huge: boolean;
  /** Zeros have the reference's sign (no reduction, norm, matmul, maximum/minimum on the way). */
  signedZeros: boolean;
}

type GArg = Val | number | boolean | null | GArg[];

interface Step {
  target: string;
  args: GArg[];
  kwargs: Record<string, unknown>;
  out: Val | null;
}

interface Est {
  bound: number;
  exact?: boolean;
  view?: boolean;
  indexMax?: number;
}

/** Ops whose float result stays bounded whatever their input (no huge values out). */
const BOUNDED_OPS = new Set(["tanh", "sigmoid", "sin", "cos", "softmax", "log"]);
/** Ops after which the sign of a zero result is not pinned down (summation order, ties). */
const ZERO_SIGN_LOST = new Set([
  "sum",
  "mean",
  "max",
  "min",
  "softmax",
  "log_softmax",
  "layer_norm",
  "rms_norm",
  "matmul",
  "bmm",
  "linear",
  "maximum",
  "minimum",
]);

/** Ops that move or select values (or flip a sign): a zero keeps the sign it had. Other ops
 * give zeros of a definite sign only from bit-exact operands (rounding noise near 0 may have
 * either sign). */
const PASS_ZERO_SIGN = new Set(["neg", "abs", "relu", "where", "cat", "embedding", "cast"]);

const isVal = (a: unknown): a is Val =>
  typeof a === "object" && a !== null && !Array.isArray(a) && "node" in a;
const isIntD = (d: DType) => d === "i32" || d === "u32";

class Gen {
  readonly r: () => number;
  readonly g = new Graph();
  readonly pool: Val[] = [];
  readonly inputs: { val: Val; spec: GenInput }[] = [];
  readonly steps: Step[] = [];
  readonly features = new Set<string>();
  /** Writable buffers by storage id: inputs, and empty_like buffers once written. */
  readonly bases = new Map<number, Val>();
  /** Storages read by some op since their last write. */
  readonly readSince = new Map<number, boolean>();
  #nextId = 0;
  #nextStorage = 0;

  constructor(
    seed: number,
    readonly kind: GraphKind,
    readonly exclude: Set<string>,
    readonly special = false,
    readonly f16 = true,
    readonly infinities = true,
  ) {
    this.r = rng(seed);
  }
  /** Special literals, without ±inf when the adapter cannot be trusted with them. */
  get specialLiterals(): readonly number[] {
    return this.infinities ? SPECIAL_LITERALS : SPECIAL_LITERALS.filter(Number.isFinite);
  }

  // --- randomness -----------------------------------------------------------------------------
  rand(): number {
    return this.r();
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  choice<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)];
  }
  weighted<T>(xs: readonly [T, number][]): T {
    const total = xs.reduce((s, [, w]) => s + w, 0);
    let u = this.r() * total;
    for (const [x, w] of xs) {
      if ((u -= w) < 0) return x;
    }
    return xs[xs.length - 1][0];
  }
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.r() * (i + 1));
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }
  /** Record a feature about to be used; false when it is excluded. */
  use(feature: string): boolean {
    if (!this.allowed(feature)) return false;
    this.features.add(feature);
    return true;
  }
  allowed(feature: string): boolean {
    const family = feature.split(":")[0];
    return !this.exclude.has(feature) && !this.exclude.has(family);
  }

  // --- pool -----------------------------------------------------------------------------------
  /** A pool value satisfying `pred`: half the time the newest one (chains), else any. */
  pick(pred: (v: Val) => boolean): Val | null {
    const c = this.pool.filter(pred);
    if (!c.length) return null;
    return this.chance(0.5) ? c[c.length - 1] : this.choice(c);
  }
  floatCap(d: DType): number {
    return d === "f16" ? BOUND_CAP.f16 : BOUND_CAP.f32;
  }
  /** The float dtype of this graph. */
  get fdt(): DType {
    return this.kind === "f16" ? "f16" : "f32";
  }

  // --- shapes ---------------------------------------------------------------------------------
  dim(): number {
    return this.chance(0.25) ? 1 : this.int(2, 9);
  }
  randShape(rank = this.weighted([[1, 2], [2, 4], [3, 3], [4, 1]] as [number, number][])) {
    for (;;) {
      const s = Array.from({ length: rank }, () => this.dim());
      if (numel(s) <= MAX_INPUT_NUMEL) return s;
    }
  }
  /** A shape that broadcasts with `s`: a suffix of it with some dims set to 1 (or, where `s`
   * has a 1, a larger size), sometimes with an extra leading dim. */
  partnerShape(s: number[]): number[] {
    const k = this.chance(0.7) ? s.length : this.int(0, s.length);
    const out = s.slice(s.length - k).map((d) =>
      d === 1 ? (this.chance(0.3) ? this.int(2, 4) : 1) : this.chance(0.3) ? 1 : d
    );
    if (k === s.length && out.length < 4 && this.chance(0.12)) out.unshift(this.int(2, 3));
    return out;
  }
  /** A shape that broadcasts to exactly `s`: a suffix of it with some dims set to 1. */
  shapeInto(s: number[]): number[] {
    const k = this.chance(0.7) ? s.length : this.int(0, s.length);
    return s.slice(s.length - k).map((d) => (this.chance(0.3) ? 1 : d));
  }
  bcast(a: number[], b: number[]): number[] | null {
    const n = Math.max(a.length, b.length);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const x = a[a.length - n + i] ?? 1, y = b[b.length - n + i] ?? 1;
      if (x !== y && x !== 1 && y !== 1) return null;
      out.push(x === 1 ? y : x);
    }
    return numel(out) <= MAX_NUMEL ? out : null;
  }

  // --- building -------------------------------------------------------------------------------
  input(shape: number[], dtype: DType, lo?: number, hi?: number, indexMax?: number): Val {
    const name = `x${this.inputs.length}`;
    const [l, h] = lo !== undefined && hi !== undefined
      ? [lo, hi]
      : isIntD(dtype)
      ? [-9, 10]
      : [-2, 2];
    const node = this.g.placeholder(name, { shape, dtype });
    const bound = dtype === "bool" ? 1 : Math.max(Math.abs(l), Math.abs(h));
    // special values go into float inputs of special graphs (not into explicit ranges)
    const specials = this.special && isFloat(dtype) && lo === undefined
      ? SPECIAL_INPUTS[dtype === "f16" ? "f16" : "f32"].filter((x) =>
        this.infinities || Number.isNaN(x) || Number.isFinite(x)
      )
      : undefined;
    const v: Val = {
      id: this.#nextId++,
      node,
      shape: shape.slice(),
      dtype,
      bound,
      scale: bound,
      depth: 0,
      exact: true,
      lowp: dtype === "f16",
      storage: this.#nextStorage++,
      indexMax,
      huge: specials?.some((x) => Math.abs(x) > 1e6 && Number.isFinite(x)) ?? false,
      signedZeros: true,
    };
    this.bases.set(v.storage!, v);
    this.inputs.push({
      val: v,
      spec: { name: node.name, shape: shape.slice(), dtype, lo: l, hi: h, specials },
    });
    if (numel(shape) <= MAX_NUMEL) this.pool.push(v);
    return v;
  }

  /** Append target(args, kwargs); returns the result value (added to the pool unless
   * `hidden`) or null for ops that return nothing. */
  call(target: string, args: GArg[], kwargs: Record<string, unknown>, est: Est, hidden = false) {
    const toArg = (a: GArg): Arg => (isVal(a) ? a.node : Array.isArray(a) ? a.map(toArg) : a);
    const node = callOp(this.g, target, args.map(toArg), kwargs as Kwargs);
    const tensors: Val[] = [];
    const walk = (a: GArg) => {
      if (isVal(a)) tensors.push(a);
      else if (Array.isArray(a)) a.forEach(walk);
    };
    args.forEach(walk);
    // Reads of buffers (views read nothing until used; copy_ reads its src).
    if ((!est.view || target === "copy_") && target !== "empty_like") {
      for (const t of tensors) if (t.storage !== null) this.readSince.set(t.storage, true);
    }
    if (!node.meta) {
      this.steps.push({ target, args, kwargs, out: null });
      return null;
    }
    const m = node.meta;
    const depth = Math.max(0, ...tensors.map((t) => t.depth)) + (est.view ? 0 : 1);
    const isIntOut = !isFloat(m.dtype);
    const exact = est.exact ?? (isIntOut && tensors.every((t) => t.exact));
    const v: Val = {
      id: this.#nextId++,
      node,
      shape: m.shape.slice(),
      dtype: m.dtype,
      bound: est.bound,
      scale: Math.max(est.bound, ...tensors.map((t) => t.scale)),
      depth,
      exact,
      lowp: m.dtype === "f16" || tensors.some((t) => t.lowp),
      storage: est.view && tensors[0] ? tensors[0].storage : null,
      indexMax: est.indexMax,
      fromCat: target === "cat" || (est.view && tensors[0]?.fromCat),
      huge: !BOUNDED_OPS.has(target) && isFloat(m.dtype) && tensors.some((t) => t.huge),
      signedZeros: !ZERO_SIGN_LOST.has(target) &&
        tensors.every((t) => t.signedZeros && (t.exact || est.view || PASS_ZERO_SIGN.has(target))),
    };
    this.steps.push({ target, args, kwargs, out: v });
    if (!hidden && numel(v.shape) <= MAX_NUMEL) this.pool.push(v);
    return v;
  }

  /** call() for ops that always return a tensor. */
  callT(target: string, args: GArg[], kwargs: Record<string, unknown>, est: Est, hidden = false) {
    return this.call(target, args, kwargs, est, hidden)!;
  }

  // --- numeric guards -------------------------------------------------------------------------
  toFloat(v: Val): Val {
    if (isFloat(v.dtype)) return v;
    return this.callT("cast", [v], { dtype: this.fdt }, { bound: v.bound, exact: v.exact }, true);
  }
  /** abs(v) + 0.5 as a float: positive, away from 0. */
  positive(v: Val): Val {
    const f = this.toFloat(v);
    const a = this.callT("abs", [f], {}, { bound: f.bound, exact: f.exact }, true);
    return this.callT("add", [a, 0.5], {}, { bound: f.bound + 0.5 }, true);
  }
  /** A float value with |v| <= 1 when `v` is large (or may hold huge special values). */
  squash(v: Val, limit: number): Val {
    if (v.bound <= limit && !v.huge) return v;
    const f = this.toFloat(v);
    return this.callT("tanh", [f], {}, { bound: 1 }, true);
  }
  /** `v`, through tanh when it may hold huge finite values: before an op whose f32 result
   * depends on summation order or range reduction (float64 and f32 differ there). */
  tame(v: Val): Val {
    return v.huge ? this.callT("tanh", [this.toFloat(v)], {}, { bound: 1 }, true) : v;
  }
  /** A float literal from `normal`, or in special graphs sometimes a special one. */
  literal(normal: readonly number[]): number {
    if (this.special && this.chance(0.35)) return this.choice(this.specialLiterals);
    return this.choice(normal);
  }
  /** A scalar literal suited to `v`'s dtype. */
  scalar(v: Val, nonzero = false): number {
    // only next to bit-exact values: 0 * (rounding noise) has the noise's sign, inf * noise is
    // inf where the reference's exact 0 gives NaN
    if (
      isFloat(v.dtype) && v.exact && this.special && this.allowed("binary:special-literal") &&
      this.chance(0.35)
    ) {
      this.use("binary:special-literal");
      return this.choice(this.specialLiterals);
    }
    if (isIntD(v.dtype)) {
      const k = this.int(-5, 5);
      return nonzero && k === 0 ? 3 : k;
    }
    const x = this.choice([0.5, -1.5, 2, 0.25, -0.75, 1, 3, -2]);
    return x;
  }

  // --- op generators (each returns false when the pool cannot serve it) ------------------------

  unary(): boolean {
    const x = this.pick((v) => v.dtype !== "bool" && v.dtype !== "u32");
    if (!x) return false;
    if (isIntD(x.dtype)) {
      const op = this.choice(["neg", "abs", "relu"]);
      if (!this.use(`unary:${op}`)) return false;
      this.callT(op, [x], {}, { bound: x.bound });
      return true;
    }
    const op = this.weighted<string>([
      ["neg", 1],
      ["abs", 1],
      ["relu", 2],
      ["sin", 1],
      ["cos", 1],
      ["tanh", 2],
      ["sigmoid", 2],
      ["silu", 2],
      ["gelu", 2],
      ["exp", 2],
      ["log", 1.5],
      ["sqrt", 1.5],
      ["rsqrt", 1.5],
      ["reciprocal", 1.5],
    ]);
    const B = x.bound;
    if (!this.use(`unary:${op}`)) return false;
    switch (op) {
      case "neg":
      case "abs":
      case "relu":
        this.callT(op, [x], {}, { bound: B, exact: x.exact });
        return true;
      case "sin":
      case "cos":
        // WGSL specifies sin/cos on [-pi, pi] only: no huge arguments (README "Semantics")
        this.callT(op, [this.tame(x)], {}, { bound: 1 });
        return true;
      case "tanh":
      case "sigmoid":
        this.callT(op, [x], {}, { bound: 1 });
        return true;
      case "silu":
        this.callT(op, [x], {}, { bound: B });
        return true;
      case "gelu":
        this.callT("gelu", [x], { approximate: this.choice(["none", "tanh"]) }, { bound: B });
        return true;
      case "exp": {
        const y = this.squash(x, 3);
        this.callT("exp", [y], {}, { bound: Math.exp(y.bound) });
        return true;
      }
      default: {
        const p = this.positive(x);
        const bound = op === "log"
          ? Math.max(0.7, Math.log(p.bound))
          : op === "sqrt"
          ? Math.sqrt(p.bound)
          : op === "rsqrt"
          ? 1.42
          : 2;
        this.callT(op, [p], {}, { bound });
        return true;
      }
    }
  }

  /** A second operand broadcastable with `a`: a pool tensor, a fresh input or a full(). */
  partner(a: Val, pred: (v: Val) => boolean, freshDType: DType): Val {
    const pool = this.pool.filter((v) => pred(v) && this.bcast(a.shape, v.shape) !== null);
    const u = this.rand();
    if (pool.length && u < 0.55) {
      return this.chance(0.3) ? pool[pool.length - 1] : this.choice(pool);
    }
    if (u < 0.62 && this.allowed("binary:full-operand")) {
      this.features.add("binary:full-operand");
      let s = this.partnerShape(a.shape);
      if (!this.bcast(a.shape, s)) s = [];
      const value = isIntD(freshDType) ? this.int(-4, 4) : this.choice([0.5, -1.25, 2]);
      return this.callT("full", [], { shape: s, value, dtype: freshDType }, {
        bound: Math.abs(value),
        exact: true,
      }, true);
    }
    for (let i = 0; i < 20; i++) {
      const s = this.partnerShape(a.shape);
      if (this.bcast(a.shape, s)) return this.input(s, freshDType);
    }
    return this.input(this.shapeInto(a.shape), freshDType);
  }

  binary(): boolean {
    const a = this.pick((v) => v.dtype !== "bool");
    if (!a) return false;
    const isF = isFloat(a.dtype);
    const op = this.weighted<string>([
      ["add", 3],
      ["sub", 2],
      ["mul", 3],
      ["div", 2],
      ["maximum", 1.5],
      ["minimum", 1.5],
      ["pow", isF ? 1.5 : 0],
    ]);
    if (!this.use(`binary:${op}`)) return false;
    const freshDType = a.dtype === "u32" ? "i32" : a.dtype;
    let b: Val | number = this.chance(0.25)
      ? this.scalar(a, op === "div")
      : this.partner(a, (v) => v.dtype !== "bool", freshDType);
    if (typeof b === "number") {
      if (!this.use("binary:scalar-operand")) return false;
    }
    const Bb = typeof b === "number" ? litBound(b) : b.bound;
    const outF = isF || (typeof b !== "number" && isFloat(b.dtype));
    const cap = this.floatCap(this.fdt);
    const swap = typeof b === "number" ? this.chance(0.3) : this.chance(0.5);
    const ordered = (
      x: Val,
      y: Val | number,
    ): GArg[] => (swap && op !== "div" && op !== "pow" ? [y, x] : [x, y]);
    switch (op) {
      case "add":
      case "sub":
        this.callT(op, ordered(a, b), {}, { bound: a.bound + Bb });
        return true;
      case "maximum":
      case "minimum": {
        const exact = a.exact && (typeof b === "number" || b.exact);
        this.callT(op, ordered(a, b), {}, { bound: Math.max(a.bound, Bb), exact });
        return true;
      }
      case "mul": {
        let x = a;
        // a huge or infinite factor turns the other's rounding noise (a GPU's 1e-8 where the
        // reference has 0) into a difference of 1e22, or inf against NaN: tame it
        if (typeof b !== "number") {
          if (x.huge && !b.exact) x = this.tame(x);
          if (b.huge && !x.exact) b = this.tame(b);
        }
        if (outF && a.bound * Bb > cap) {
          x = this.squash(a, 1);
          if (typeof b !== "number" && x.bound * b.bound > cap) b = this.squash(b, 1);
        }
        const xb = x.bound * (typeof b === "number" ? litBound(b) : b.bound);
        if (!outF && xb > 1e6) {
          this.callT("add", ordered(x, b), {}, { bound: x.bound + Bb });
          return true;
        }
        this.callT("mul", ordered(x, b), {}, { bound: xb });
        return true;
      }
      case "div": {
        if (!outF) {
          // Integer division: any divisor, zero included (WGSL: x / 0 == x).
          if (!this.use("binary:div-int")) return false;
          this.callT("div", [a, b], {}, { bound: a.bound });
          return true;
        }
        const d = typeof b === "number" ? b : this.positive(b);
        // a special literal divisor (0, ±inf, NaN) gives special values, compared exactly
        const minD = typeof d === "number" ? (litBound(d) || 1) : 0.5;
        this.callT("div", [a, d], {}, { bound: a.bound / minD });
        return true;
      }
      case "pow": {
        if (this.chance(0.2) && a.bound <= 10) {
          // Integer exponent on a base of any sign.
          const e = this.choice([2, 3]);
          if (!this.use("binary:pow-int-exponent")) return false;
          this.callT("pow", [a, e], {}, { bound: a.bound ** e });
          return true;
        }
        const base = this.positive(this.squash(a, 8));
        if (typeof b === "number" || this.chance(0.4)) {
          const e = this.choice([2, 0.5, -1, 1.5, 3, -0.5]);
          const bound = e > 0 ? base.bound ** e : 0.5 ** e;
          this.callT("pow", [base, e], {}, { bound });
        } else {
          const e = this.callT("tanh", [this.toFloat(b)], {}, { bound: 1 }, true);
          if (!this.bcast(base.shape, e.shape)) return false;
          this.callT("pow", [base, e], {}, { bound: Math.max(base.bound, 2) });
        }
        return true;
      }
    }
    return false;
  }

  compare(): boolean {
    const a = this.pick((v) => v.exact && v.dtype !== "bool");
    if (!a) return false;
    const op = isIntD(a.dtype)
      ? this.choice(["eq", "lt", "gt"])
      : this.choice(["lt", "gt", "lt", "gt", "eq"]);
    if (!this.use(`compare:${op}`)) return false;
    let b: GArg;
    if (this.chance(0.4)) b = isIntD(a.dtype) ? this.int(-3, 3) : this.literal([0, 0.5, -0.25]);
    else {
      const p = this.pool.filter((v) =>
        v.exact && v.dtype !== "bool" && this.bcast(a.shape, v.shape)
      );
      b = p.length ? this.choice(p) : this.input(this.partnerShape(a.shape), a.dtype);
      if (!this.bcast(a.shape, b.shape)) return false;
    }
    this.callT(op, [a, b], {}, { bound: 1, exact: true });
    return true;
  }

  where(): boolean {
    let c = this.pick((v) => v.dtype === "bool");
    if (!c || this.chance(0.3)) {
      if (this.chance(0.3)) {
        c = this.input(this.randShape(this.int(1, 3)), "bool", 0, 1);
      } else {
        const a = this.pick((v) => v.exact && v.dtype !== "bool");
        if (!a) return false;
        c = this.callT(this.choice(["lt", "gt"]), [a, isIntD(a.dtype) ? 0 : 0.25], {}, {
          bound: 1,
          exact: true,
        }, true);
      }
    }
    const cond = c;
    const opnd = (): Val | number => {
      if (this.chance(0.25)) return this.literal([0, 1.5, -2]);
      const p = this.pool.filter((v) => v.dtype !== "bool" && this.bcast(cond.shape, v.shape));
      return p.length ? this.choice(p) : this.input(this.partnerShape(cond.shape), this.fdt);
    };
    const a = opnd(), b = opnd();
    const sa = typeof a === "number" ? [] : a.shape, sb = typeof b === "number" ? [] : b.shape;
    const s1 = this.bcast(cond.shape, sa);
    if (!s1 || !this.bcast(s1, sb)) return false;
    const bnd = (x: Val | number) => (typeof x === "number" ? litBound(x) : x.bound);
    const ex = (x: Val | number) => typeof x === "number" || x.exact;
    if (!this.use("where")) return false;
    this.callT("where", [cond, a, b], {}, {
      bound: Math.max(bnd(a), bnd(b)),
      exact: ex(a) && ex(b),
    });
    return true;
  }

  cast(): boolean {
    const x = this.pick(() => true);
    if (!x) return false;
    let to: DType;
    if (x.dtype === "bool") to = this.choice(["f32", "i32"]);
    else if (isIntD(x.dtype)) {
      if (x.bound > this.floatCap(this.fdt)) return false;
      to = this.chance(0.8) ? this.fdt : "f16";
    } else if (x.dtype === "f16") to = this.chance(0.7) ? "f32" : (x.exact ? "i32" : "f32");
    else if (x.exact) to = this.weighted<DType>([["i32", 2], ["bool", 1], ["f16", 1]]);
    else to = "f16";
    if (to === "f16" && (x.bound > BOUND_CAP.f16 || x.huge || !this.f16)) return false;
    if (!this.use(`cast:${x.dtype}->${to}`)) return false;
    this.callT("cast", [x], { dtype: to }, {
      bound: to === "bool" ? 1 : x.bound,
      exact: x.exact,
      view: false,
    });
    return true;
  }

  reduce(): boolean {
    const x = this.pick((v) => numel(v.shape) >= 1);
    if (!x) return false;
    const isF = isFloat(x.dtype);
    let op = this.weighted<string>([
      ["sum", 3],
      ["mean", isF ? 2 : 0],
      ["max", 2],
      ["min", 1.5],
      ["argmax", x.exact && x.dtype !== "bool" ? 1.5 : 0],
    ]);
    if (x.dtype === "bool") op = "sum";
    const rank = x.shape.length;
    const keepdim = this.chance(0.4);
    let dims: number | number[] | null;
    if (op === "argmax") {
      dims = rank === 0 || this.chance(0.2) ? null : this.int(-rank, rank - 1);
    } else if (rank === 0 || this.chance(0.15)) dims = null;
    else if (rank >= 2 && this.chance(0.3)) {
      const k = this.int(2, rank);
      dims = this.shuffle([...Array(rank).keys()]).slice(0, k).map((
        d,
      ) => (this.chance(0.3) ? d - rank : d));
    } else dims = this.int(-rank, rank - 1);
    const reduced = dims === null
      ? numel(x.shape)
      : [dims].flat().reduce((p, d) => p * x.shape[(d + rank) % rank], 1);
    if (op === "sum" && isF && x.bound * reduced > this.floatCap(x.dtype)) {
      op = this.chance(0.5) ? "mean" : "max";
    }
    if (!this.use(`reduce:${op}`)) return false;
    if (x.lowp && isFloat(x.dtype) && !this.use("lowp-reduction")) return false;
    if (op === "argmax") {
      this.callT("argmax", [x], { dim: dims, keepdim }, {
        bound: reduced,
        exact: true,
        indexMax: reduced,
      });
      return true;
    }
    const bound = op === "sum" ? x.bound * reduced : x.dtype === "bool" ? 1 : x.bound;
    const exact = op === "max" || op === "min" ? x.exact : undefined;
    // summation order matters for huge values (max and min are exact)
    const src = op === "sum" || op === "mean" ? this.tame(x) : x;
    this.callT(op, [src], { dim: dims, keepdim }, {
      bound: op === "sum" && x.dtype === "bool" ? reduced : bound,
      exact,
    });
    return true;
  }

  norm(): boolean {
    const picked = this.pick((v) => isFloat(v.dtype) && v.shape.length >= 1 && numel(v.shape) >= 1);
    if (!picked) return false;
    const x = this.tame(picked);
    const rank = x.shape.length;
    const op = this.weighted<string>([["softmax", 2], ["log_softmax", 1.5], ["layer_norm", 2], [
      "rms_norm",
      1.5,
    ]]);
    if (x.lowp && !this.use("lowp-reduction")) return false;
    if (op === "softmax" || op === "log_softmax") {
      const dim = this.int(-rank, rank - 1);
      const n = x.shape[(dim + rank) % rank];
      if (!this.use(`norm:${op}`)) return false;
      const bound = op === "softmax" ? 1 : 2 * x.bound + Math.log(n) + 1;
      this.callT(op, [x], { dim }, { bound });
      return true;
    }
    const k = rank >= 2 && this.chance(0.3) ? 2 : 1;
    const ns = x.shape.slice(rank - k);
    const n = numel(ns);
    if (n < 2) return false;
    if (!this.use(`norm:${op}`)) return false;
    const param = (): Val | null => {
      const u = this.rand();
      if (u < 0.3) return null;
      const p = this.pool.filter((v) =>
        v.dtype === x.dtype && v.shape.length === ns.length && v.shape.every((s, i) => s === ns[i])
      );
      if (p.length && u < 0.5) return this.choice(p);
      return this.input(ns, x.dtype);
    };
    // Default eps (1e-5) only where rows are random data; a larger eps elsewhere keeps
    // near-constant rows (broadcasts, relu'd rows) from amplifying rounding by 1/sqrt(eps).
    const eps = x.exact && n >= 4 && this.chance(0.5) ? undefined : this.choice([1e-3, 1e-2]);
    // a huge weight would scale the centring's rounding noise (see mul)
    const w0 = param();
    const w = w0 && this.tame(w0);
    const wb = w ? w.bound : 1;
    if (op === "layer_norm") {
      const b = param();
      this.callT("layer_norm", [x, w, b], { normalized_shape: ns, eps }, {
        bound: Math.sqrt(n) * wb + (b ? b.bound : 0),
      });
    } else {
      this.callT("rms_norm", [x, w], { normalized_shape: ns, eps }, { bound: Math.sqrt(n) * wb });
    }
    return true;
  }

  matmul(): boolean {
    let a = this.pick((v) =>
      isFloat(v.dtype) && v.shape.length >= 1 && v.shape[v.shape.length - 1] >= 1
    );
    if (!a) return false;
    a = this.tame(a); // sums of products: summation order matters for huge values
    const dt = a.dtype;
    const rank = a.shape.length;
    const K = a.shape[rank - 1];
    const cap = this.floatCap(dt);
    const variant = this.weighted<string>([["matmul", 5], ["linear", 2], [
      "bmm",
      rank === 3 ? 2 : 0,
    ]]);
    if (!this.use(`matmul:${variant}`)) return false;
    const N = Math.max(
      1,
      Math.min(this.chance(0.1) ? this.int(16, 40) : this.int(1, 9), Math.floor(MAX_NUMEL / 4 / K)),
    );
    let b: Val;
    if (variant === "linear") {
      const p = this.pool.filter((v) => v.dtype === dt && v.shape.length === 2 && v.shape[1] === K);
      b = this.tame(p.length && this.chance(0.4) ? this.choice(p) : this.input([N, K], dt));
      const Nn = b.shape[0];
      const bias = this.chance(0.5) ? this.input([Nn], dt) : null;
      if (numel([...a.shape.slice(0, -1), Nn]) > MAX_NUMEL) return false;
      if (a.bound * b.bound * K > cap) a = this.squash(a, 1);
      if (a.bound * b.bound * K > cap) return false;
      this.callT("linear", [a, b, bias], {}, {
        bound: a.bound * b.bound * K + (bias ? bias.bound : 0),
      });
      return true;
    }
    if (variant === "bmm") {
      const p = this.pool.filter((v) =>
        v.dtype === dt && v.shape.length === 3 && v.shape[0] === a!.shape[0] && v.shape[1] === K
      );
      b = p.length && this.chance(0.4) ? this.choice(p) : this.input([a.shape[0], K, N], dt);
    } else {
      const p = this.pool.filter((v) =>
        v.dtype === dt && v.shape.length >= 1 &&
        (v.shape.length === 1 ? v.shape[0] === K : v.shape[v.shape.length - 2] === K)
      );
      if (p.length && this.chance(0.35)) b = this.choice(p);
      else {
        const form = this.weighted<string>([["vec", 1], ["2d", 4], ["batched", 2], [
          "transposed",
          2,
        ]]);
        if (form === "vec") b = this.input([K], dt);
        else if (form === "2d") b = this.input([K, N], dt);
        else if (form === "transposed") {
          if (!this.use("matmul:transposed-operand")) return false;
          const t = this.input([N, K], dt);
          b = this.callT("transpose", [t], { dim0: -1, dim1: -2 }, {
            bound: t.bound,
            exact: true,
            view: true,
          }, true);
        } else {
          const batch = rank >= 3 ? this.partnerShape(a.shape.slice(0, -2)) : [this.int(2, 3)];
          b = this.input(numel([...batch, K, N]) <= MAX_NUMEL ? [...batch, K, N] : [K, N], dt);
        }
      }
    }
    const aa = a;
    const bb = this.tame(b);
    // Output size check via the shape rule itself is done by callOp; pre-check the cap.
    const batchA = aa.shape.length > 2 ? aa.shape.slice(0, -2) : [];
    const batchB = bb.shape.length > 2 ? bb.shape.slice(0, -2) : [];
    const batch = this.bcast(batchA, batchB);
    if (!batch) return false;
    const m = aa.shape.length > 1 ? aa.shape[aa.shape.length - 2] : 1;
    const n = bb.shape.length > 1 ? bb.shape[bb.shape.length - 1] : 1;
    if (numel([...batch, m, n]) > MAX_NUMEL) return false;
    if (aa.bound * bb.bound * K > cap) a = this.squash(aa, 1);
    if (a.bound * bb.bound * K > cap) return false;
    this.callT(variant, [a, bb], {}, { bound: a.bound * bb.bound * K });
    return true;
  }

  view(): boolean {
    const x = this.pick(() => true);
    if (!x) return false;
    const rank = x.shape.length;
    const n = numel(x.shape);
    const choices: [string, number][] = [
      ["reshape", n >= 1 ? 3 : 0],
      ["permute", rank >= 2 ? 2 : 0],
      ["transpose", rank >= 2 ? 2 : 0],
      ["expand", x.shape.some((s) => s === 1) || rank < 4 ? 2 : 0],
      ["slice", x.shape.some((s) => s >= 2) ? 2.5 : 0],
      ["squeeze", x.shape.includes(1) ? 1 : 0],
      ["unsqueeze", rank < 4 ? 1 : 0],
    ];
    if (!choices.some(([, w]) => w > 0)) return false;
    const op = this.weighted(choices);
    const est: Est = { bound: x.bound, exact: x.exact, view: true, indexMax: x.indexMax };
    let kw: Record<string, unknown>;
    switch (op) {
      case "reshape": {
        const shape = this.factorize(n);
        if (shape.length > 1 && this.chance(0.25)) shape[this.int(0, shape.length - 1)] = -1;
        kw = { shape };
        break;
      }
      case "permute": {
        const dims = this.shuffle([...Array(rank).keys()]);
        kw = { dims: dims.map((d) => (this.chance(0.2) ? d - rank : d)) };
        break;
      }
      case "transpose": {
        const [d0, d1] = this.shuffle([...Array(rank).keys()]).slice(0, 2);
        kw = { dim0: d0, dim1: this.chance(0.3) ? d1 - rank : d1 };
        break;
      }
      case "expand": {
        const shape = x.shape.map((
          s,
        ) => (s === 1 && this.chance(0.7) ? this.int(2, 4) : this.chance(0.3) ? -1 : s));
        if (rank < 4 && (this.chance(0.3) || shape.every((s, i) => s === -1 || s === x.shape[i]))) {
          shape.unshift(this.int(2, 3));
        }
        const real = shape.map((s, i) => (s === -1 ? x.shape[i - (shape.length - rank)] : s));
        if (numel(real) > MAX_NUMEL) return false;
        kw = { shape };
        break;
      }
      case "slice": {
        const ds = x.shape.flatMap((s, i) => (s >= 2 ? [i] : []));
        const d = this.choice(ds);
        const len = x.shape[d];
        const start = this.int(0, len - 1);
        // Rarely an empty slice: zero-element tensors flow through everything after it.
        const empty = this.chance(0.08) && this.allowed("view:slice-empty");
        const end = empty ? start : this.chance(0.2) ? null : this.int(start + 1, len);
        if (empty) this.use("view:slice-empty");
        const step = this.weighted([[1, 3], [2, 2], [3, 1]] as [number, number][]);
        if (x.fromCat && Math.ceil(((end ?? len) - start) / step) <= 1) {
          if (!this.use("view:slice-one-of-cat")) return false;
        }
        kw = {
          dim: this.chance(0.3) ? d - rank : d,
          start: this.chance(0.3) ? start - len : start,
          end,
          step,
        };
        break;
      }
      case "squeeze": {
        const ones = x.shape.flatMap((s, i) => (s === 1 ? [i] : []));
        kw = { dim: this.chance(0.3) ? null : this.choice(ones) };
        break;
      }
      default:
        kw = { dim: this.int(-(rank + 1), rank) };
    }
    if (!this.use(`view:${op}`)) return false;
    this.callT(op, [x], kw, est);
    return true;
  }

  /** A random shape with `n` elements (rank 0..4, ones sprinkled in). */
  factorize(n: number): number[] {
    const primes: number[] = [];
    let m = n;
    for (let p = 2; p * p <= m; p++) while (m % p === 0) (primes.push(p), (m /= p));
    if (m > 1) primes.push(m);
    const rank = Math.max(1, Math.min(4, this.int(1, Math.max(1, primes.length + 1))));
    const shape = Array(rank).fill(1);
    for (const p of primes) shape[this.int(0, rank - 1)] *= p;
    if (rank < 4 && this.chance(0.2)) shape.splice(this.int(0, rank), 0, 1);
    return shape;
  }

  cat(): boolean {
    const x = this.pick((v) => v.shape.length >= 1);
    if (!x) return false;
    const rank = x.shape.length;
    const d = this.int(0, rank - 1);
    const parts: Val[] = [x];
    const k = this.int(1, 2);
    if ((numel(x.shape) / x.shape[d] || 0) * (x.shape[d] + 10) > MAX_NUMEL) return false;
    for (let i = 0; i < k; i++) {
      const p = this.pool.filter((v) =>
        v.dtype === x.dtype && v.shape.length === rank &&
        v.shape.every((s, j) => j === d || s === x.shape[j])
      );
      const u = this.rand();
      if (p.length && u < 0.5) parts.push(this.choice(p));
      else {
        const s = x.shape.slice();
        s[d] = this.int(1, 5);
        parts.push(this.input(s, x.dtype));
      }
    }
    const total = parts.reduce((s, p) => s + p.shape[d], 0);
    if ((numel(x.shape) / x.shape[d] || 0) * total > MAX_NUMEL) return false;
    if (!this.use("cat")) return false;
    this.callT("cat", this.shuffle(parts), { dim: this.chance(0.3) ? d - rank : d }, {
      bound: Math.max(...parts.map((p) => p.bound)),
      exact: parts.every((p) => p.exact),
      indexMax: parts.every((p) => p.indexMax !== undefined)
        ? Math.max(...parts.map((p) => p.indexMax!))
        : undefined,
    });
    return true;
  }

  embedding(): boolean {
    const wp = this.pool.filter((v) => isFloat(v.dtype) && v.shape.length === 2 && v.shape[0] >= 2);
    const w = wp.length && this.chance(0.5)
      ? this.choice(wp)
      : this.input([this.int(2, 9), this.int(1, 8)], this.fdt);
    const V = w.shape[0];
    const ip = this.pool.filter((v) =>
      v.dtype === "i32" && v.indexMax !== undefined && v.indexMax <= V && v.shape.length <= 2
    );
    const idx = ip.length && this.chance(0.6)
      ? this.choice(ip)
      : this.input(this.randShape(this.int(1, 2)), "i32", 0, V, V);
    if (numel(idx.shape) * w.shape[1] > MAX_NUMEL) return false;
    if (!this.use(ip.includes(idx) ? "embedding:computed-indices" : "embedding")) return false;
    this.callT("embedding", [w, idx], {}, { bound: w.bound, exact: w.exact });
    return true;
  }

  custom(): boolean {
    const op = this.choice(["scale_add", "row_absmax", "cumsum_out"]);
    const x = this.pick((v) => isFloat(v.dtype) && v.shape.length >= 1 && numel(v.shape) >= 1);
    if (!x) return false;
    if (op === "scale_add") {
      if (!this.allowed(`custom:${CUSTOM_OPS.scaleAdd}`)) return false;
      const p = this.pool.filter((v) =>
        v !== x && v.dtype === x.dtype && v.shape.length === x.shape.length &&
        v.shape.every((s, i) => s === x.shape[i])
      );
      const y = p.length && this.chance(0.6) ? this.choice(p) : this.input(x.shape, x.dtype);
      if (!this.use(`custom:${CUSTOM_OPS.scaleAdd}`)) return false;
      this.callT(CUSTOM_OPS.scaleAdd, [x, y], {}, { bound: 2 * x.bound + y.bound });
      return true;
    }
    if (op === "row_absmax") {
      if (!this.allowed(`custom:${CUSTOM_OPS.rowAbsmax}`)) return false;
      if (!this.use(`custom:${CUSTOM_OPS.rowAbsmax}`)) return false;
      this.callT(CUSTOM_OPS.rowAbsmax, [x], {}, { bound: x.bound, exact: x.exact });
      return true;
    }
    if (!this.allowed(`custom:${CUSTOM_OPS.cumsumOut}`) || !this.allowed("mutate")) return false;
    const n = x.shape[x.shape.length - 1];
    if (x.bound * n > this.floatCap(x.dtype)) return false;
    // Into a fresh empty_like buffer, or into an existing buffer (an input, or an empty_like
    // already written) of the same shape.
    const reuse = this.writable().filter((b) =>
      b.storage !== x.storage && b.dtype === x.dtype && b.shape.length === x.shape.length &&
      b.shape.every((s, i) => s === x.shape[i])
    );
    const out = reuse.length && this.chance(0.35) ? this.choice(reuse) : this.emptyLike(x);
    if (reuse.includes(out) && !this.useRewrite(out)) return false;
    if (!this.use(`custom:${CUSTOM_OPS.cumsumOut}`)) return false;
    this.call(CUSTOM_OPS.cumsumOut, [x, out], {}, { bound: 0 });
    this.mutated(out, {
      bound: x.bound * n,
      scale: x.scale,
      depth: x.depth + 1,
      exact: false,
      lowp: x.lowp,
      huge: x.huge,
      signedZeros: x.signedZeros,
    });
    return true;
  }

  /** A new mutable buffer, not readable until something writes it. */
  emptyLike(x: Val, dtype: DType | null = null): Val {
    const v = this.callT("empty_like", [x], { dtype }, { bound: 0, exact: true }, true);
    v.depth = 0;
    v.scale = 0;
    v.storage = this.#nextStorage++;
    return v;
  }

  /** Buffers that may be written again: inputs and written empty_like buffers. Without the
   * "mutate:war" feature, only those not read since their last write. */
  writable(): Val[] {
    const all = [...this.bases.values()];
    return this.allowed("mutate:war") ? all : all.filter((b) => !this.readSince.get(b.storage!));
  }

  /** Features of a write into an existing buffer: into an input, and write-after-read (a
   * value read from the buffer earlier must not see this write) or write-after-write. */
  useRewrite(dst: Val): boolean {
    if (dst.node.kind === "placeholder" && !this.use("mutate:input")) return false;
    return this.use(this.readSince.get(dst.storage!) ? "mutate:war" : "mutate:waw");
  }

  /** After a write into `base`'s storage: `base` and every value aliasing it now hold the new
   * values (their bounds cover old and new, for views taken earlier too). */
  mutated(
    base: Val,
    w: {
      bound: number;
      scale: number;
      depth: number;
      exact: boolean;
      lowp: boolean;
      huge: boolean;
      signedZeros: boolean;
      /** The written values lie in [0, indexMax) (copy_ of an index tensor); absent: unknown. */
      indexMax?: number;
    },
  ) {
    const first = !this.bases.has(base.storage!);
    const aliases = this.pool.filter((v) => v.storage === base.storage);
    for (const v of [base, ...aliases]) {
      v.bound = first && v === base ? w.bound : Math.max(v.bound, w.bound);
      v.scale = Math.max(first && v === base ? 0 : v.scale, w.scale, w.bound);
      v.depth = Math.max(first && v === base ? 0 : v.depth, w.depth);
      v.exact = (first && v === base ? true : v.exact) && w.exact;
      v.lowp = v.lowp || w.lowp;
      v.huge = (first && v === base ? false : v.huge) || w.huge;
      v.signedZeros = (first && v === base ? true : v.signedZeros) && w.signedZeros;
      // An index range survives only if old and new values both have one: a copy_ of
      // out-of-range values into an index input must keep embedding from picking it.
      v.indexMax = first && v === base
        ? w.indexMax
        : v.indexMax !== undefined && w.indexMax !== undefined
        ? Math.max(v.indexMax, w.indexMax)
        : undefined;
    }
    this.readSince.set(base.storage!, false);
    if (first) {
      this.bases.set(base.storage!, base);
      this.pool.push(base);
    }
  }

  copy(): boolean {
    if (!this.allowed("mutate")) return false;
    const rewrite = this.writable();
    let dst: Val;
    if (rewrite.length && this.chance(0.4)) {
      dst = this.choice(rewrite);
      if (!this.useRewrite(dst)) return false;
    } else {
      const x = this.pick((v) => numel(v.shape) >= 1);
      if (!x) return false;
      const dt = this.chance(0.2) ? this.choice<DType>(["f32", "i32"]) : null;
      dst = this.emptyLike(x, dt);
    }
    // src: anything broadcasting to dst's shape.
    const fits = (v: Val) => {
      const b = this.bcast(dst.shape, v.shape);
      return b !== null && b.length === dst.shape.length && b.every((s, i) => s === dst.shape[i]);
    };
    const p = this.pool.filter((v) => fits(v) && v.storage !== dst.storage);
    const src = p.length && this.chance(0.8)
      ? this.choice(p)
      : this.input(this.shapeInto(dst.shape), isIntD(dst.dtype) ? "i32" : this.fdt);
    if (!isFloat(dst.dtype) && isFloat(src.dtype) && !src.exact) return false; // truncation
    if (dst.dtype === "f16" && (src.bound > BOUND_CAP.f16 || src.huge)) return false;
    if (dst.dtype === "bool" && isFloat(src.dtype) && !src.exact) return false;
    if (!this.use(`mutate:copy_`)) return false;
    const res = this.callT("copy_", [dst, src], {}, {
      bound: src.bound,
      view: true,
      exact: src.exact,
    }, true);
    res.storage = dst.storage;
    this.mutated(dst, {
      bound: dst.dtype === "bool" ? 1 : src.bound,
      scale: src.scale,
      depth: src.depth + 1,
      exact: src.exact,
      lowp: src.lowp || dst.dtype === "f16",
      huge: src.huge,
      signedZeros: src.signedZeros,
      indexMax: dst.dtype === "i32" ? src.indexMax : undefined,
    });
    if (this.chance(0.5)) this.pool.push(res);
    return true;
  }
}

/** Deterministic per-seed graph kind: mostly f32, some i32, a few f16. */
function kindFor(r: () => number): GraphKind {
  const u = r();
  return u < 0.78 ? "f32" : u < 0.9 ? "i32" : "f16";
}

/** Tolerance for one output value (see BASE_TOLERANCE). */
function toleranceFor(v: Val): Tolerance {
  if (!isFloat(v.dtype)) return { atol: 0, rtol: 0 };
  const base = v.lowp ? BASE_TOLERANCE.f16 : BASE_TOLERANCE.f32;
  const k = 1 + v.depth / 4;
  return { atol: base.atol * Math.max(1, v.scale) * k, rtol: base.rtol * k };
}

/** Generate the random graph for `seed`. */
export function randomGraph(seed: number, opts: RandomGraphOptions = {}): RandomGraph {
  const head = rng(seed ^ 0x5bd1e995);
  const drawn = opts.kind ?? kindFor(head);
  const f16 = opts.f16 ?? true;
  const kind = drawn === "f16" && !f16 ? "f32" : drawn;
  const special = opts.special ?? (kind !== "i32" && head() < 0.35);
  const gen = new Gen(
    seed,
    kind,
    new Set(opts.exclude ?? []),
    special,
    f16,
    opts.infinities ?? true,
  );
  const dt: DType = kind;
  const nInputs = gen.int(1, 3);
  // A few graphs start from long rows (multi-phase reductions, matmuls with a large K).
  const long = gen.chance(0.06) && gen.use("long-rows");
  const first = long ? [gen.int(1, 3), gen.int(100, 600)] : gen.randShape();
  gen.input(first, dt);
  for (let i = 1; i < nInputs; i++) {
    gen.input(gen.chance(0.6) ? gen.partnerShape(first) : gen.randShape(), dt);
  }
  const families: [() => boolean, number, string][] = [
    [() => gen.unary(), 18, "unary"],
    [() => gen.binary(), 22, "binary"],
    [() => gen.compare(), 4, "compare"],
    [() => gen.where(), 5, "where"],
    [() => gen.cast(), 5, "cast"],
    [() => gen.reduce(), 12, "reduce"],
    [() => gen.norm(), 7, "norm"],
    [() => gen.matmul(), 9, "matmul"],
    [() => gen.view(), 16, "view"],
    [() => gen.cat(), 4, "cat"],
    [() => gen.embedding(), 2.5, "embedding"],
    [() => gen.custom(), 5, "custom"],
    [() => gen.copy(), 3, "mutate"],
  ];
  const usable = families.filter(([, , name]) => gen.allowed(name));
  const target = gen.int(opts.minOps ?? 3, opts.maxOps ?? 12);
  let done = 0;
  for (let tries = 0; done < target && tries < 200; tries++) {
    const f = gen.weighted(usable.map(([fn, w]) => [fn, w] as [() => boolean, number]));
    const before = [...gen.features];
    if (f()) done++;
    else {
      // An attempt that gave up (maybe after adding dead nodes) does not count as a use.
      gen.features.clear();
      before.forEach((x) => gen.features.add(x));
    }
  }
  // Outputs: usually the newest value (so the whole chain matters), plus any others.
  const nOut = gen.weighted([[1, 4], [2, 4], [3, 2]] as [number, number][]);
  const outs: Val[] = [];
  const newest = gen.pool[gen.pool.length - 1];
  if (gen.chance(0.8)) outs.push(newest);
  while (outs.length < nOut) outs.push(gen.choice(gen.pool));

  const steps = gen.steps.slice();
  const inputVals = gen.inputs.map((i) => i.val);
  const fn: TraceFn = (...xs: TensorProxy[]) => {
    const env = new Map<number, TensorProxy>();
    inputVals.forEach((v, i) => env.set(v.id, xs[i]));
    const res = (
      a: GArg,
    ): unknown => (isVal(a) ? env.get(a.id)! : Array.isArray(a) ? a.map(res) : a);
    for (const s of steps) {
      const out = ops.call(s.target, s.args.map(res), s.kwargs);
      if (s.out) env.set(s.out.id, out!);
    }
    return outs.map((v) => env.get(v.id)!);
  };

  const tolerances = outs.map(toleranceFor);
  const zeroSign = outs.map((v) => v.signedZeros);
  const fmt = (a: GArg): string =>
    isVal(a)
      ? `%${a.node.name}`
      : Array.isArray(a)
      ? `[${a.map(fmt).join(", ")}]`
      : typeof a === "number"
      ? fmtNum(a)
      : JSON.stringify(a);
  const lines = [
    `randomGraph(seed=${seed}): kind ${kind}${special ? " with special values" : ""}, ` +
    `${gen.inputs.length} input(s), ${steps.length} node(s), ` +
    `outputs ${outs.map((o) => `%${o.node.name}`).join(", ")}`,
    ...gen.inputs.map(({ spec }) =>
      `  %${spec.name}: ${spec.dtype}[${spec.shape}] in [${spec.lo}, ${spec.hi})` +
      (spec.specials ? ` with specials ${spec.specials.map(fmtNum).join(" ")}` : "")
    ),
    ...steps.map((s) => {
      const parts = s.args.map(fmt);
      for (const [k, v] of Object.entries(s.kwargs)) {
        if (v !== undefined) parts.push(`${k}=${JSON.stringify(v)}`);
      }
      const lhs = s.out ? `%${s.out.node.name} = ` : "";
      const info = s.out
        ? `  # ${s.out.dtype}[${s.out.shape}] |v|<=${+s.out.bound.toPrecision(
          3,
        )} depth ${s.out.depth}` +
          (s.out.exact ? " exact" : "")
        : "";
      return `  ${lhs}${s.target}(${parts.join(", ")})${info}`;
    }),
    `  tolerances: ${
      tolerances.map((t) => `{atol ${+t.atol.toPrecision(3)}, rtol ${+t.rtol.toPrecision(3)}}`)
        .join(", ")
    }`,
  ];
  return {
    seed,
    kind,
    fn,
    inputs: gen.inputs.map((i) => i.spec),
    describe: lines.join("\n"),
    tolerances,
    zeroSign,
    special,
    features: [...gen.features].sort(),
  };
}

const fmtNum = (v: number) => (Object.is(v, -0) ? "-0" : String(v));

/** Random input arrays for a generated graph (deterministic in `seed`); inputs with
 * `specials` get about SPECIAL_RATE of their elements replaced by them (a separate stream, so
 * the other values are those of the same graph without specials). */
export function randomInputs(g: RandomGraph, seed: number): TypedArray[] {
  const r = rng(seed);
  const rs = rng(seed ^ 0x6a09e667);
  return g.inputs.map((s) => {
    const a = randomArray(s.shape, s.dtype, r, s.lo, s.hi);
    if (s.specials) {
      for (let i = 0; i < a.length; i++) {
        if (rs() < SPECIAL_RATE) a[i] = s.specials[Math.floor(rs() * s.specials.length)];
      }
    }
    return a;
  });
}
