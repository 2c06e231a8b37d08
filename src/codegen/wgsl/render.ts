// Render loop bodies to straight-line WGSL with common-subexpression elimination. Floats are
// computed in f32 registers whatever their storage type (upstream inductor upcasts half too);
// casts to f16 round through f16 so results match what storing would give.
import type { DType } from "../../dtype.ts";
import { type IndexExpr, istr } from "../../inductor/index_expr.ts";
import type { VExpr } from "../../inductor/value_expr.ts";

// Chromium's WGSL compiler rejects any constant expression that evaluates to ±inf or NaN
// ("value -inf cannot be represented as 'f32'"), so special floats are bitcast from module-scope
// vars, which are not constant expressions. Every generated kernel declares them.
export const SPECIAL_FLOAT_DECLS = [
  "var<private> F32_POS_INF_BITS: u32 = 0x7f800000u;",
  "var<private> F32_NEG_INF_BITS: u32 = 0xff800000u;",
  "var<private> F32_NAN_BITS: u32 = 0x7fc00000u;",
].join("\n");
export const F32_POS_INF = "bitcast<f32>(F32_POS_INF_BITS)";
export const F32_NEG_INF = "bitcast<f32>(F32_NEG_INF_BITS)";
export const F32_NAN = "bitcast<f32>(F32_NAN_BITS)";

/** Register type used to compute a dtype. */
export function regType(d: DType): string {
  return d === "f32" || d === "f16" ? "f32" : d === "bool" ? "bool" : d;
}

export function literal(v: number, d: DType): string {
  switch (d) {
    case "f32":
    case "f16": {
      if (Number.isNaN(v)) return F32_NAN;
      if (v === Infinity) return F32_POS_INF;
      if (v === -Infinity) return F32_NEG_INF;
      const f = Math.fround(v);
      if (!Number.isFinite(f)) {
        return f > 0 ? F32_POS_INF : F32_NEG_INF;
      }
      const s = String(f);
      return /[.eE]/.test(s) ? `f32(${s})` : `f32(${s}.0)`;
    }
    case "i32": {
      const i = Math.trunc(v) | 0;
      return i === -2147483648 ? "i32(-2147483647 - 1)" : `i32(${i})`;
    }
    case "u32":
      return `${Math.trunc(v) >>> 0}u`;
    case "bool":
      return v ? "true" : "false";
  }
}

/** A WGSL expression converting register value `s` of dtype `from` to dtype `to`. */
export function convert(s: string, from: DType, to: DType): string {
  if (from === to) return s;
  if (to === "bool") {
    return from === "bool" ? s : `(${s} != ${regType(from)}(0))`;
  }
  if (from === "bool") return `select(${literal(0, to)}, ${literal(1, to)}, ${s})`;
  // round to half precision without needing `enable f16` (registers stay f32)
  if (to === "f16") {
    return `unpack2x16float(pack2x16float(vec2<f32>(${convert(s, from, "f32")}, 0.0))).x`;
  }
  if (from === "f16" && to === "f32") return s;
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

/** Tanh that stays finite for large |x| (some drivers return NaN from tanh(±large)). */
export const TANH_HELPER = `fn tanh_f32(x: f32) -> f32 {
  return tanh(clamp(x, -20.0, 20.0));
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
    if (e.k === "const") return literal(e.v, e.dtype);
    const hit = this.lookup(e.key);
    if (hit) return hit;
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
        expr = convert(this.value(e.a), e.a.dtype, e.dtype);
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
        return `log(${a})`;
      case "sqrt":
        return `sqrt(${a})`;
      case "rsqrt":
        return `inverseSqrt(${a})`;
      case "sin":
        return `sin(${a})`;
      case "cos":
        return `cos(${a})`;
      case "tanh":
        this.helpers.add(TANH_HELPER);
        return `tanh_f32(${a})`;
      case "sigmoid":
        return `(1.0 / (1.0 + exp(-${a})))`;
      case "relu":
        return `max(${a}, ${t}(0))`;
      case "silu":
        return `(${a} / (1.0 + exp(-${a})))`;
      case "gelu":
        this.helpers.add(ERF_HELPER);
        return `(0.5 * ${a} * (1.0 + erf_f32(${a} * 0.7071067811865476)))`;
      case "gelu_tanh":
        this.helpers.add(TANH_HELPER);
        return `(0.5 * ${a} * (1.0 + tanh_f32(0.7978845608028654 * (${a} + 0.044715 * ${a} * ${a} * ${a}))))`;
      case "reciprocal":
        return `(1.0 / ${a})`;
      case "not":
        return `!${a}`;
    }
    throw new Error(`codegen: unknown unary op ${op}`);
  }

  binary(op: string, a: string, b: string, operand: DType, d: DType): string {
    switch (op) {
      case "add":
        return `(${a} + ${b})`;
      case "sub":
        return `(${a} - ${b})`;
      case "mul":
        return `(${a} * ${b})`;
      case "div":
        // WGSL defines integer a / 0 (and i32 MIN / -1) as a, but naga's GLSL output divides
        // as is (wrong results on wgpu's GL adapter, a trap on x86): divide by 1 there instead
        if (operand === "i32") {
          return `(${a} / select(${b}, 1i, ${b} == 0i || (${a} == i32(-2147483647 - 1) && ${b} == -1i)))`;
        }
        if (operand === "u32") return `(${a} / select(${b}, 1u, ${b} == 0u))`;
        return `(${a} / ${b})`;
      case "pow":
        this.helpers.add(POW_HELPER);
        return `pow_f32(${a}, ${b})`;
      case "maximum":
        return `max(${a}, ${b})`;
      case "minimum":
        return `min(${a}, ${b})`;
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

/** pow with torch semantics for negative bases and integral exponents (WGSL pow is NaN for
 * x < 0). */
export const POW_HELPER = `fn pow_f32(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  if (x >= 0.0) { return pow(x, y); }
  if (fract(y) != 0.0) { return bitcast<f32>(F32_NAN_BITS); }
  let m = pow(-x, y);
  return select(m, -m, fract(y * 0.5) != 0.0);
}`;

/** Expression storing register value `v` of dtype `from` into a buffer of dtype `to`. */
export function storeValue(v: string, from: DType, to: DType): string {
  if (to === "bool") return `select(0u, 1u, ${convert(v, from, "bool")})`;
  if (to === "f16") return `f16(${convert(v, from, "f32")})`;
  return convert(v, from, to);
}
