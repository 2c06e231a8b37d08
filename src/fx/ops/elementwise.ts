// Pointwise ops from two tables (unary, binary) plus gelu, where and cast.
//
// Literals: a number next to a tensor adopts the tensor's dtype and is converted to it first
// (`i32 + 0.5` is `i32 + 0`, and `i32_x.lt(0.5)` compares with 0) — what a typed WGSL constant
// does; next to a bool tensor a number promotes as in torch (`mask + 1` is i32, `mask * 0.5` is
// f32; a boolean literal stays bool). Integer division truncates toward zero like C and WGSL,
// and an integer divided by zero gives the dividend (WGSL's rule). Integer add/sub/mul/neg wrap
// modulo 2^32. On bool tensors add is or, mul is and, maximum/minimum are or/and (torch).
// Special values follow torch: NaN propagates through maximum/minimum and relu, relu(-0) is -0,
// pow is C99's (pow(1, NaN) = 1) with torch's sqrt/rsqrt for a literal exponent of ±0.5.
import { convertFrom, convertScalar, type DType, isFloat, promote } from "../../dtype.ts";
import { DTypeError, GraphError } from "../../errors.ts";
import type { RefTensor } from "../ref_tensor.ts";
import type { MetaArg, OpDef, OpKwargs, RefArg } from "../op_def.ts";
import { broadcastShapes, broadcastTo } from "./broadcast.ts";
import { kwChoice, kwDType, newRef, refAt, REQUIRED, tensorAt } from "./common.ts";
import { geluErf, geluTanh, powC, sigmoid } from "./math.ts";

type Fn1 = (x: number) => number;

const UNARY = {
  neg: [(x) => -x, true],
  abs: [Math.abs, true],
  exp: [Math.exp, false],
  log: [Math.log, false],
  sqrt: [Math.sqrt, false],
  rsqrt: [(x) => 1 / Math.sqrt(x), false],
  sin: [Math.sin, false],
  cos: [Math.cos, false],
  tanh: [Math.tanh, false],
  sigmoid: [sigmoid, false],
  // torch.relu is clamp_min(x, 0): x < 0 ? 0 : x (NaN and -0 pass through)
  relu: [(x) => (x < 0 ? 0 : x), true],
  silu: [(x) => x * sigmoid(x), false],
  reciprocal: [(x) => 1 / x, false],
} satisfies Record<string, [Fn1, boolean]>;

export type UnaryName = keyof typeof UNARY;
/** Unary ops taking only a tensor (gelu, with its kwarg, is separate). */
export const UNARY_NAMES = Object.keys(UNARY) as UnaryName[];

type Fn2 = (a: number, b: number, dt: DType) => number;
interface BinarySpec {
  fn: Fn2;
  /** Result is bool (comparisons) instead of the promoted dtype. */
  compare?: boolean;
  floatOnly?: boolean;
  noBool?: boolean;
}

const isInt = (dt: DType) => dt === "i32" || dt === "u32";

const BINARY = {
  add: { fn: (a, b) => a + b },
  sub: { fn: (a, b) => a - b, noBool: true },
  // Math.imul keeps integer products exact where a float64 product would lose the low bits.
  mul: { fn: (a, b, dt) => (isInt(dt) ? Math.imul(a, b) : a * b) },
  div: {
    fn: (a, b, dt) => (isInt(dt) ? (b === 0 ? a : Math.trunc(a / b)) : a / b),
    noBool: true,
  },
  pow: { fn: powC, floatOnly: true },
  // NaN-propagating like torch.maximum/minimum; a tie (-0 vs 0) keeps a, as torch's CPU does.
  maximum: { fn: (a, b) => (Number.isNaN(b) ? b : a >= b || Number.isNaN(a) ? a : b) },
  minimum: { fn: (a, b) => (Number.isNaN(b) ? b : a <= b || Number.isNaN(a) ? a : b) },
  eq: { fn: (a, b) => (a === b ? 1 : 0), compare: true },
  lt: { fn: (a, b) => (a < b ? 1 : 0), compare: true },
  gt: { fn: (a, b) => (a > b ? 1 : 0), compare: true },
} satisfies Record<string, BinarySpec>;

export type BinaryName = keyof typeof BINARY;
export const BINARY_NAMES = Object.keys(BINARY) as BinaryName[];

const shapeOf = (a: number | boolean | { shape: number[] }) => typeof a === "object" ? a.shape : [];

/** A tensor or a number/boolean literal, kept as given (a boolean literal promotes differently
 * from a number). */
function rawOperand(args: MetaArg[], i: number, name: string, where: string) {
  const a = args[i];
  return typeof a === "number" || typeof a === "boolean" ? a : tensorAt(args, i, name, where);
}

function mapUnary(x: RefTensor, fn: Fn1): RefTensor {
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = fn(x.data[i]);
  return newRef(x.shape.slice(), x.dtype, out);
}

function unaryOp(
  name: string,
  fnOf: (kw: OpKwargs) => Fn1,
  ints: boolean,
  kwargs: Record<string, unknown> = {},
  checkKw: (kw: OpKwargs, where: string) => void = () => {},
): OpDef {
  return {
    name,
    kind: "pointwise",
    signature: `${name}(x)`,
    minArgs: 1,
    maxArgs: 1,
    kwargs,
    shape(args, kw, where) {
      checkKw(kw, where);
      return tensorAt(args, 0, "x", where).shape.slice();
    },
    dtype(args, _kw, where) {
      const x = tensorAt(args, 0, "x", where);
      if (!(isFloat(x.dtype) || (ints && x.dtype === "i32"))) {
        throw new DTypeError(
          `${where}: dtype ${x.dtype} is not supported; ${name} accepts ` +
            (ints ? "f32, f16, i32" : "f32, f16"),
        );
      }
      return x.dtype;
    },
    reference: (args, kw) => mapUnary(refAt(args, 0), fnOf(kw)),
  };
}

const GELU_MODES = ["none", "tanh"] as const;

const gelu: OpDef = {
  ...unaryOp(
    "gelu",
    (kw) => (kw.approximate === "tanh" ? geluTanh : geluErf),
    false,
    { approximate: "none" },
    (kw, where) => kwChoice(kw, "approximate", GELU_MODES, where),
  ),
  signature: 'gelu(x, approximate="none" (erf) | "tanh")',
};

/** The dtype a pointwise op computes in: the tensors' promoted dtype, which number literals
 * adopt — except next to bool tensors only, where an integral number makes it i32 and any other
 * number f32 (torch's category promotion: `mask + 1` is an integer tensor). Boolean literals
 * never change it. The lowering computes with the same rule. */
export function computeDType(
  ops: readonly (number | boolean | { dtype: DType })[],
  where: string,
): DType {
  let dt: DType | null = null;
  for (const o of ops) {
    if (typeof o === "object") dt = dt === null ? o.dtype : promote(dt, o.dtype);
  }
  if (dt === null) throw new GraphError(`${where}: at least one operand must be a tensor`);
  if (dt === "bool") {
    for (const o of ops) {
      if (typeof o === "number") dt = promote(dt, Number.isInteger(o) ? "i32" : "f32");
    }
  }
  return dt;
}

function binaryOp(name: BinaryName, spec: BinarySpec): OpDef {
  const operands = (args: MetaArg[], where: string) => [
    rawOperand(args, 0, "a", where),
    rawOperand(args, 1, "b", where),
  ];
  return {
    name,
    kind: "pointwise",
    signature: `${name}(a, b): tensors or numbers, broadcast`,
    minArgs: 2,
    maxArgs: 2,
    kwargs: {},
    shape(args, _kw, where) {
      const [a, b] = operands(args, where);
      return broadcastShapes(shapeOf(a), shapeOf(b), where);
    },
    dtype(args, _kw, where) {
      const dt = computeDType(operands(args, where), where);
      if (spec.floatOnly && !isFloat(dt)) {
        throw new DTypeError(`${where}: ${name} needs float operands, got ${dt}`);
      }
      if (spec.noBool && dt === "bool") {
        throw new DTypeError(`${where}: ${name} does not accept bool operands`);
      }
      return spec.compare ? "bool" : dt;
    },
    reference(args, _kw, out) {
      const raw = [args[0], args[1]] as (number | boolean | RefTensor)[];
      const dt = computeDType(raw, name);
      const ops = raw.map((x) => (typeof x === "object" ? x : Number(x)));
      // torch computes pow with a scalar exponent of 0.5 / -0.5 as sqrt / rsqrt (which differ
      // from C's pow at -0 and -inf); the lowering does the same
      const y = raw[1];
      const fn: Fn2 = name === "pow" && y === 0.5
        ? (a) => Math.sqrt(a)
        : name === "pow" && y === -0.5
        ? (a) => 1 / Math.sqrt(a)
        : spec.fn;
      return zipWith(ops, out!.shape, out!.dtype, dt, (v) => fn(v[0], v[1], dt));
    },
  };
}

/** Apply `fn` to broadcast operands element by element; tensors of another dtype and
 * literals are converted to the compute dtype `dt` first, as the kernels do (an i32 compared
 * with an f32 is compared as f32: 2147483647 == 2147483648.0). */
function zipWith(
  ops: (number | RefTensor)[],
  shape: number[],
  outDType: DType,
  dt: DType,
  fn: (v: number[]) => number,
): RefTensor {
  const n = shape.reduce((p, s) => p * s, 1);
  const datas = ops.map((o) => {
    if (typeof o === "number") return null;
    const d = broadcastTo(o, shape);
    return o.dtype === dt ? d : d.map((x) => convertFrom(x, o.dtype, dt));
  });
  const consts = ops.map((o) => (typeof o === "number" ? convertScalar(o, dt) : 0));
  const v = new Array<number>(ops.length);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < ops.length; k++) v[k] = datas[k] ? datas[k]![i] : consts[k];
    out[i] = fn(v);
  }
  return newRef(shape.slice(), outDType, out);
}

const where: OpDef = {
  name: "where",
  kind: "pointwise",
  signature: "where(cond, a, b): cond ? a : b, broadcast; a and b tensors or numbers",
  minArgs: 3,
  maxArgs: 3,
  kwargs: {},
  shape(args, _kw, w) {
    const c = tensorAt(args, 0, "cond", w);
    const s = broadcastShapes(c.shape, shapeOf(rawOperand(args, 1, "a", w)), w);
    return broadcastShapes(s, shapeOf(rawOperand(args, 2, "b", w)), w);
  },
  dtype(args, _kw, w) {
    const c = tensorAt(args, 0, "cond", w);
    if (c.dtype !== "bool") {
      throw new DTypeError(`${w}: cond must be bool, got ${c.dtype}`);
    }
    const a = rawOperand(args, 1, "a", w);
    const b = rawOperand(args, 2, "b", w);
    // Two literals: f32, as torch.where(c, 1.0, 0.0) gives the default float dtype.
    return typeof a !== "object" && typeof b !== "object" ? "f32" : computeDType([a, b], w);
  },
  reference(args, _kw, out) {
    const ops = args.map((x) => (typeof x === "object" ? x : Number(x))) as (
      | number
      | RefTensor
    )[];
    return zipWith(ops, out!.shape, out!.dtype, out!.dtype, (v) => (v[0] ? v[1] : v[2]));
  },
};

const cast: OpDef = {
  name: "cast",
  kind: "pointwise",
  signature: "cast(x, dtype)",
  minArgs: 1,
  maxArgs: 1,
  kwargs: { dtype: REQUIRED },
  shape: (args, _kw, w) => tensorAt(args, 0, "x", w).shape.slice(),
  dtype: (args, kw, w) => (tensorAt(args, 0, "x", w), kwDType(kw, "dtype", w)),
  reference(args: RefArg[], _kw, out) {
    const x = refAt(args, 0);
    const to = out!.dtype;
    return newRef(x.shape.slice(), to, x.data.map((v) => convertFrom(v, x.dtype, to)));
  },
};

export const ELEMENTWISE_OPS: OpDef[] = [
  ...UNARY_NAMES.map((n) => unaryOp(n, () => UNARY[n][0], UNARY[n][1])),
  gelu,
  ...BINARY_NAMES.map((n) => binaryOp(n, BINARY[n])),
  where,
  cast,
];
