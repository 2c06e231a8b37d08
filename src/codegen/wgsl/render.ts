// Render loop bodies to straight-line WGSL with common-subexpression elimination. Floats are
// computed in f32 registers whatever their storage type (upstream inductor upcasts half too);
// casts to f16 round through f16 so results match what storing would give.
import { convertScalar, type DType } from "../../dtype.ts";
import { type IndexExpr, istr } from "../../inductor/index_expr.ts";
import type { VExpr } from "../../inductor/value_expr.ts";
import {
  COS,
  F32_NAN,
  F32_NEG_INF,
  F32_POS_INF,
  LOG,
  MAXIMUM,
  MINIMUM,
  opaqueCopy,
  opaqueF32,
  POW,
  RELU,
  SIN,
  SQRT,
  TANH,
  TO_I32,
  TO_U32,
  useHelper,
} from "./ieee.ts";

export {
  F32_NAN,
  F32_NEG_INF,
  F32_POS_INF,
  OPAQUE_ZERO_INIT,
  SPECIAL_FLOAT_DECLS,
} from "./ieee.ts";

/** Register type used to compute a dtype. */
export function regType(d: DType): string {
  return d === "f32" || d === "f16" ? "f32" : d === "bool" ? "bool" : d;
}

/** A WGSL literal of dtype `d` for `v` (rounded or converted as storing `v` would: floats to
 * f32, other dtypes by convertScalar's saturating rule). For constants the compiler may fold:
 * operands of arithmetic go through Scope.value, which hides float literals (ieee.ts). */
export function literal(v: number, d: DType): string {
  switch (d) {
    case "f32":
    case "f16": {
      if (Number.isNaN(v)) return F32_NAN;
      if (v === Infinity) return F32_POS_INF;
      if (v === -Infinity) return F32_NEG_INF;
      const f = d === "f16" ? Math.f16round(v) : Math.fround(v);
      if (!Number.isFinite(f)) {
        return f > 0 ? F32_POS_INF : F32_NEG_INF;
      }
      if (Object.is(f, -0)) return "f32(-0.0)";
      const s = String(f);
      return /[.eE]/.test(s) ? `f32(${s})` : `f32(${s}.0)`;
    }
    case "i32": {
      const i = convertScalar(v, d);
      return i === -2147483648 ? "i32(-2147483647 - 1)" : `i32(${i})`;
    }
    case "u32":
      return `${convertScalar(v, d)}u`;
    case "bool":
      return convertScalar(v, d) ? "true" : "false";
  }
}

const isF = (d: DType) => d === "f32" || d === "f16";

/** A WGSL expression converting register value `s` of dtype `from` to dtype `to`. Floats become
 * integers by convertScalar's rule (truncate, saturate, NaN -> 0) and bools by their bits (NaN
 * and -0 included: torch's bool(NaN) is True, bool(-0.0) False); `helpers` receives what the
 * expression calls. */
export function convert(s: string, from: DType, to: DType, helpers?: Set<string>): string {
  if (from === to) return s;
  if (to === "bool") {
    if (from === "bool") return s;
    return isF(from)
      ? `((bitcast<u32>(${s}) & 0x7fffffffu) != 0u)`
      : `(${s} != ${regType(from)}(0))`;
  }
  if (from === "bool") return `select(${literal(0, to)}, ${literal(1, to)}, ${s})`;
  // round to half precision without needing `enable f16` (registers stay f32)
  if (to === "f16") {
    return `unpack2x16float(pack2x16float(vec2<f32>(${convert(s, from, "f32")}, 0.0))).x`;
  }
  if (from === "f16" && to === "f32") return s;
  if (isF(from) && (to === "i32" || to === "u32")) {
    const h = to === "i32" ? TO_I32 : TO_U32;
    if (!helpers) throw new Error("codegen: a float to integer conversion needs a helper set");
    useHelper(helpers, h);
    return `f32_to_${to}(${s})`;
  }
  return `${regType(to)}(${s})`;
}

/** erf for f32 (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7): WGSL has no erf builtin. */
export const ERF_HELPER = `fn erf_f32(x: f32) -> f32 {
  let s = sign(x);
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return s * y;
}`;

export interface BufferAccess {
  /** WGSL identifier of the storage array bound for an IR buffer. */
  ident(buf: string): string;
  /** Storage dtype of an IR buffer. */
  dtype(buf: string): DType;
  /** A register-typed load of element `index` when the storage is not a plain array of its
   * dtype (f16 without shader-f16: two halves per u32, see f16_storage.ts). */
  loadExpr?(buf: string, index: string): string | undefined;
}

/** One lexical scope of generated code: emitted lines plus a memo of computed subexpressions.
 * Child scopes (loop bodies) see the parent's values but keep their own lines. */
export class Scope {
  readonly lines: string[] = [];
  readonly memo = new Map<string, string>();
  helpers: Set<string>;
  readonly counter: { n: number };

  constructor(
    readonly access: BufferAccess,
    readonly parent: Scope | null = null,
    /** Values for `reg` leaves and for index variables (by name). */
    readonly regs: Map<string, string> = new Map(),
    counter?: { n: number },
    helpers?: Set<string>,
  ) {
    this.counter = counter ?? parent?.counter ?? { n: 0 };
    this.helpers = helpers ?? parent?.helpers ?? new Set();
  }

  child(): Scope {
    return new Scope(this.access, this, new Map(), this.counter, this.helpers);
  }

  fresh(prefix = "v"): string {
    return `${prefix}${this.counter.n++}`;
  }

  lookup(key: string): string | undefined {
    return this.memo.get(key) ?? this.parent?.lookup(key);
  }
  reg(name: string): string | undefined {
    return this.regs.get(name) ?? this.parent?.reg(name);
  }

  emit(line: string): void {
    this.lines.push(line);
  }

  /** Bind `expr` to a fresh `let` and return its name. */
  bind(expr: string, prefix = "v"): string {
    const n = this.fresh(prefix);
    this.emit(`let ${n} = ${expr};`);
    return n;
  }

  index(e: IndexExpr): string {
    // index variables are WGSL `let`s of the same name, declared by the kernel
    return istr(e, (v) => `u32(${this.value(v as VExpr)})`);
  }

  /** Emit (once) the computation of `e`; returns a WGSL expression (a name or a literal). */
  value(e: VExpr): string {
    if (e.k === "const" && !isF(e.dtype)) return literal(e.v, e.dtype);
    const hit = this.lookup(e.key);
    if (hit) return hit;
    if (e.k === "const") {
      // a float literal the compiler cannot fold into IEEE-changing simplifications (ieee.ts)
      const name = this.fresh();
      const v = e.dtype === "f16" ? Math.f16round(e.v) : e.v; // a constant of its dtype
      this.emit(`let ${name} = ${opaqueF32(v)}; // ${literal(v, "f32")}`);
      this.memo.set(e.key, name);
      return name;
    }
    let expr: string;
    switch (e.k) {
      case "load": {
        const src = this.access.dtype(e.buf);
        const at = this.index(e.index);
        const raw = `${this.access.ident(e.buf)}[${at}]`;
        expr = this.access.loadExpr?.(e.buf, at) ??
          (src === "bool" ? `(${raw} != 0u)` : src === "f16" ? `f32(${raw})` : raw);
        break;
      }
      case "reg": {
        const r = this.reg(e.name);
        if (!r) throw new Error(`codegen: register '${e.name}' is not defined here`);
        return r;
      }
      case "index":
        expr = convert(this.index(e.e), "u32", e.dtype);
        break;
      case "cast":
        expr = convert(this.value(e.a), e.a.dtype, e.dtype, this.helpers);
        break;
      case "un":
        expr = this.unary(e.op, this.value(e.a), e.dtype);
        break;
      case "bin":
        expr = this.binary(e.op, this.value(e.a), this.value(e.b), e.a.dtype, e.dtype);
        break;
      case "where":
        expr = `select(${this.value(e.b)}, ${this.value(e.a)}, ${this.value(e.c)})`;
        break;
    }
    const name = this.bind(expr);
    this.memo.set(e.key, name);
    return name;
  }

  /** A helper function for this kernel (and the helpers it calls); returns its name. */
  use(helper: string, name: string): string {
    useHelper(this.helpers, helper);
    return name;
  }

  unary(op: string, a: string, d: DType): string {
    const t = regType(d);
    switch (op) {
      case "neg":
        return `-${a}`;
      case "abs":
        return `abs(${a})`;
      case "exp":
        return `exp(${a})`;
      case "log":
        return `${this.use(LOG, "log_f32")}(${a})`;
      case "sqrt":
        return `${this.use(SQRT, "sqrt_f32")}(${a})`;
      case "rsqrt":
        // 1/sqrt rather than inverseSqrt, which WGSL leaves undefined for x <= 0 (torch:
        // rsqrt(-0) = -inf, rsqrt(0) = inf, rsqrt(x < 0) = NaN)
        return `(1.0 / ${this.use(SQRT, "sqrt_f32")}(${a}))`;
      case "sin":
        return `${this.use(SIN, "sin_f32")}(${a})`;
      case "cos":
        return `${this.use(COS, "cos_f32")}(${a})`;
      case "tanh":
        return `${this.use(TANH, "tanh_f32")}(${a})`;
      case "sigmoid":
        return `(1.0 / (1.0 + exp(-${a})))`;
      case "relu":
        return isF(d) ? `${this.use(RELU, "relu_f32")}(${a})` : `max(${a}, ${t}(0))`;
      case "silu":
        return `(${a} / (1.0 + exp(-${a})))`;
      case "gelu":
        this.helpers.add(ERF_HELPER);
        return `(0.5 * ${a} * (1.0 + erf_f32(${a} * 0.7071067811865476)))`;
      case "gelu_tanh":
        this.use(TANH, "tanh_f32");
        return `(0.5 * ${a} * (1.0 + tanh_f32(0.7978845608028654 * (${a} + 0.044715 * ${a} * ${a} * ${a}))))`;
      case "reciprocal":
        return `(1.0 / ${a})`;
      case "not":
        return `!${a}`;
    }
    throw new Error(`codegen: unknown unary op ${op}`);
  }

  /** `operand` is the dtype both operands are computed in, `d` the result's. */
  binary(op: string, a: string, b0: string, operand: DType, d: DType): string {
    const float = isF(operand);
    // the same register on both sides: hide the second so `x - x`, `x / x`, `x == x`, `x < x`
    // are not folded to 0, 1, true, false (wrong for NaN and ±inf)
    const b = float && a === b0 ? opaqueCopy(b0) : b0;
    if (operand === "bool") {
      // torch on bool tensors: add is or, mul is and, maximum/minimum are or/and, and
      // comparisons order false < true (WGSL has no arithmetic or ordering on bool)
      switch (op) {
        case "add":
        case "maximum":
          return `(${a} || ${b})`;
        case "mul":
        case "minimum":
          return `(${a} && ${b})`;
        case "eq":
          return `(${a} == ${b})`;
        case "lt":
          return `(!${a} && ${b})`;
        case "gt":
          return `(${a} && !${b})`;
      }
    }
    switch (op) {
      // a float sum or difference is opaque to the ops around it: shader compilers reassociate
      // ((x + y) - y -> x, x - (x + y) -> -y), which is wrong for ±inf and NaN (ieee.ts)
      case "add":
        return float ? opaqueCopy(`(${a} + ${b})`) : `(${a} + ${b})`;
      case "sub":
        return float ? opaqueCopy(`(${a} - ${b})`) : `(${a} - ${b})`;
      case "mul":
        return `(${a} * ${b})`;
      case "div": {
        if (float) return `(${a} / ${b})`;
        // integers: WGSL defines x / 0 = x and INT_MIN / -1 = INT_MIN, but not every backend
        // implements it (GLSL leaves both undefined): divide by 1 instead and select x
        const keep = operand === "i32"
          ? `(${b} == 0i || (${a} == i32(-2147483647 - 1) && ${b} == -1i))`
          : `(${b} == 0u)`;
        const one = operand === "i32" ? "1i" : "1u";
        return `select(${a} / select(${b}, ${one}, ${keep}), ${a}, ${keep})`;
      }
      case "pow":
        return `${this.use(POW, "pow_f32")}(${a}, ${b})`;
      case "maximum":
        return float ? `${this.use(MAXIMUM, "maximum_f32")}(${a}, ${b})` : `max(${a}, ${b})`;
      case "minimum":
        return float ? `${this.use(MINIMUM, "minimum_f32")}(${a}, ${b})` : `min(${a}, ${b})`;
      case "eq":
        return `(${a} == ${b})`;
      case "lt":
        return `(${a} < ${b})`;
      case "gt":
        return `(${a} > ${b})`;
      case "and":
        return `(${a} && ${b})`;
      case "or":
        return `(${a} || ${b})`;
    }
    throw new Error(`codegen: unknown binary op ${op} (${operand} -> ${d})`);
  }
}

/** Expression storing register value `v` of dtype `from` into a buffer of dtype `to`. */
export function storeValue(v: string, from: DType, to: DType, helpers?: Set<string>): string {
  if (to === "bool") return `select(0u, 1u, ${convert(v, from, "bool")})`;
  if (to === "f16") return `f16(${convert(v, from, "f32")})`;
  return convert(v, from, to, helpers);
}
