// IEEE-754 results in generated WGSL, matching torch where WGSL leaves them open.
//
// WGSL lets an implementation assume that no NaN or infinity occurs at runtime, and the shader
// compilers behind it (Mesa's NIR, LLVM, vendor drivers) use that freedom: `x * 0.0` folds to 0,
// `x / 0.0` to 0, `x + 0.0` to x, `x != x` to false, and min/max/clamp drop NaN operands. Three
// rules keep results exact here:
//  - float literals are OR-ed with OPAQUE_ZERO, a zero computed from a builtin the compiler
//    cannot see through, so no algebraic fold sees a constant; so are float sums and
//    differences, which compilers otherwise reassociate ((x + y) - y -> x, wrong for ±inf), and
//    the second of two identical operands (x - x, x == x);
//  - NaN, infinity and sign tests look at bit patterns (integer ops are never "fast");
//  - ops whose WGSL builtin is not NaN-safe (relu, maximum, minimum, the max/min/argmax
//    reductions, tanh, pow, float -> int/bool casts) are written out with such tests.
// Every generated kernel declares SPECIAL_FLOAT_DECLS and runs OPAQUE_ZERO_INIT first.

// Chromium's WGSL compiler rejects any constant expression that evaluates to ±inf or NaN
// ("value -inf cannot be represented as 'f32'"), so special floats are bitcast from module-scope
// vars, which are not constant expressions.
export const SPECIAL_FLOAT_DECLS = [
  "var<private> F32_POS_INF_BITS: u32 = 0x7f800000u;",
  "var<private> F32_NEG_INF_BITS: u32 = 0xff800000u;",
  "var<private> F32_NAN_BITS: u32 = 0x7fc00000u;",
  "// zero at runtime, unknown to the shader compiler: see OPAQUE_ZERO_INIT",
  "var<private> OPAQUE_ZERO: u32;",
].join("\n");
export const F32_POS_INF = "bitcast<f32>(F32_POS_INF_BITS)";
export const F32_NEG_INF = "bitcast<f32>(F32_NEG_INF_BITS)";
export const F32_NAN = "bitcast<f32>(F32_NAN_BITS)";

/** First statement of every generated `main` (which binds `@builtin(num_workgroups) nwg`):
 * dispatches never exceed 65535 workgroups per dimension (the device's
 * maxComputeWorkgroupsPerDimension, never raised), so `nwg.x >> 16u` is 0 — but no compiler can
 * prove it (drivers bound x by 2^31 - 1, y and z by 65535, hence x). */
export const OPAQUE_ZERO_INIT = "OPAQUE_ZERO = nwg.x >> 16u;";

/** A float literal the compiler cannot fold into the arithmetic around it. */
export function opaqueF32(v: number): string {
  const bits = new Uint32Array(new Float32Array([v]).buffer)[0];
  return `bitcast<f32>(OPAQUE_ZERO | 0x${bits.toString(16).padStart(8, "0")}u)`;
}

/** A copy of `x` the compiler cannot prove equal to `x` (so `x - x`, `x == x` are not folded). */
export function opaqueCopy(x: string): string {
  return `bitcast<f32>(bitcast<u32>(${x}) | OPAQUE_ZERO)`;
}

export const IS_NAN = `fn is_nan_f32(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}`;

/** NaN or ±inf. */
export const IS_NONFINITE = `fn is_nonfinite_f32(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) >= 0x7f800000u;
}`;

/** torch.relu: x < 0 ? 0 : x (NaN and -0 pass through). Negative non-zero, non-NaN floats are
 * the bit patterns 0x80000001..0xff800000. */
export const RELU = `fn relu_f32(x: f32) -> f32 {
  return select(x, 0.0, bitcast<u32>(x) - 0x80000001u < 0x7f800000u);
}`;

/** torch.maximum/minimum: NaN if either operand is NaN; a tie keeps the first operand (as
 * torch's CPU kernel does for -0 vs 0). Also the max/min reduction combine (acc first). */
export const MAXIMUM = `fn maximum_f32(a: f32, b: f32) -> f32 {
  if (is_nan_f32(a)) { return a; }
  if (is_nan_f32(b)) { return b; }
  return select(b, a, a >= b);
}`;
export const MINIMUM = `fn minimum_f32(a: f32, b: f32) -> f32 {
  if (is_nan_f32(a)) { return a; }
  if (is_nan_f32(b)) { return b; }
  return select(b, a, a <= b);
}`;

/** argmax's combine: does candidate (v, i) replace the current (c, ci)? NaN is the largest
 * value and the first NaN wins (torch.argmax); otherwise the larger value, then the smaller
 * index. */
export const ARGMAX_TAKES = `fn argmax_takes_f32(v: f32, i: u32, c: f32, ci: u32) -> bool {
  let vn = is_nan_f32(v);
  if (is_nan_f32(c)) { return vn && i < ci; }
  return vn || v > c || (v == c && i < ci);
}`;

/** tanh: NaN stays NaN; |x| > 20 is clamped first (some drivers return NaN from tanh of large
 * values); tiny |x| returns x (tanh(x) = x within half an ulp below 4e-4; some drivers lose all
 * relative precision there). */
export const TANH = `fn tanh_f32(x: f32) -> f32 {
  let y = tanh(clamp(x, -20.0, 20.0));
  return select(y, x, is_nan_f32(x) || abs(x) < 0.0004);
}`;

/** sqrt and log of negative numbers are NaN, log(±0) is -inf: WGSL leaves both undefined. */
export const SQRT = `fn sqrt_f32(x: f32) -> f32 {
  return select(sqrt(x), bitcast<f32>(F32_NAN_BITS), bitcast<u32>(x) > 0x80000000u);
}`;
export const LOG = `fn log_f32(x: f32) -> f32 {
  let b = bitcast<u32>(x);
  if ((b & 0x7fffffffu) == 0u) { return bitcast<f32>(F32_NEG_INF_BITS); }
  return select(log(x), bitcast<f32>(F32_NAN_BITS), b > 0x80000000u);
}`;

/** sin and cos of ±inf are NaN (WGSL only specifies them on [-pi, pi]). */
export const SIN = `fn sin_f32(x: f32) -> f32 {
  return select(sin(x), bitcast<f32>(F32_NAN_BITS), is_nonfinite_f32(x));
}`;
export const COS = `fn cos_f32(x: f32) -> f32 {
  return select(cos(x), bitcast<f32>(F32_NAN_BITS), is_nonfinite_f32(x));
}`;

/** pow as C99 Annex F and torch: pow(x, ±0) = 1 and pow(1, y) = 1 even for NaN; pow(-1, ±inf) =
 * 1; ±0 and ±inf bases give 0 or inf by the sign of y (negative for odd integer y and a
 * negative base); a negative finite base with a non-integer exponent is NaN. WGSL's pow is only
 * defined for x > 0. */
export const POW = `fn pow_f32(x: f32, y: f32) -> f32 {
  let xb = bitcast<u32>(x);
  let xa = xb & 0x7fffffffu;
  let ya = bitcast<u32>(y) & 0x7fffffffu;
  if (ya == 0u || xb == 0x3f800000u) { return 1.0; }
  if (xa > 0x7f800000u || ya > 0x7f800000u) { return bitcast<f32>(F32_NAN_BITS); }
  let inf = bitcast<f32>(F32_POS_INF_BITS);
  if (ya == 0x7f800000u) {
    if (xa == 0x3f800000u) { return 1.0; }
    return select(0.0, inf, (xa > 0x3f800000u) == (y > 0.0));
  }
  let y_int = fract(y) == 0.0;
  let y_odd = y_int && fract(y * 0.5) != 0.0;
  let neg = xb > 0x80000000u;
  if (neg && !y_int && xa < 0x7f800000u) { return bitcast<f32>(F32_NAN_BITS); }
  var m: f32;
  if (xa == 0u) {
    m = select(0.0, inf, y < 0.0);
  } else if (xa == 0x7f800000u) {
    m = select(0.0, inf, y > 0.0);
  } else {
    m = pow(bitcast<f32>(xa), y);
  }
  return select(m, -m, (xb & 0x80000000u) != 0u && y_odd);
}`;

/** float -> i32/u32: truncate toward zero, saturate out-of-range values and ±inf, NaN -> 0 (the
 * rule of torch on CUDA and of WGSL's own conversion, made explicit because drivers differ on NaN
 * and infinities). The reference interpreter uses the same rule (dtype.ts convertScalar). */
export const TO_I32 = `fn f32_to_i32(x: f32) -> i32 {
  if (is_nan_f32(x)) { return 0; }
  if (x >= 2147483648.0) { return 2147483647; }
  if (x <= -2147483648.0) { return i32(-2147483647 - 1); }
  return i32(x);
}`;
export const TO_U32 = `fn f32_to_u32(x: f32) -> u32 {
  if (is_nan_f32(x) || x <= 0.0) { return 0u; }
  if (x >= 4294967296.0) { return 4294967295u; }
  return u32(x);
}`;

/** Helpers each helper needs declared with it. */
const NEEDS: Record<string, string[]> = {
  [MAXIMUM]: [IS_NAN],
  [MINIMUM]: [IS_NAN],
  [ARGMAX_TAKES]: [IS_NAN],
  [TANH]: [IS_NAN],
  [SIN]: [IS_NONFINITE],
  [COS]: [IS_NONFINITE],
  [TO_I32]: [IS_NAN],
  [TO_U32]: [IS_NAN],
};

/** Add `helper` and what it uses to a kernel's helper set. */
export function useHelper(helpers: Set<string>, helper: string): void {
  for (const h of NEEDS[helper] ?? []) helpers.add(h);
  helpers.add(helper);
}
