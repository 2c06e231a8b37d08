// IEEE-754 results in generated WGSL, matching torch where WGSL leaves them open.
//
// WGSL lets an implementation assume that no NaN or infinity occurs at runtime, and the shader
// compilers behind it (Mesa's NIR, LLVM, vendor drivers) use that freedom: `x * 0.0` folds to 0,
// `x / 0.0` to 0, `x + 0.0` to x, `x != x` to false, and min/max/clamp drop NaN operands. Three
// rules keep results exact here (four, counting the per-step copies):
//  - float literals are OR-ed with OPAQUE_ZERO, a zero the compiler cannot prove is zero, so no
//    algebraic fold sees a constant; float sums and differences, which compilers otherwise
//    reassociate ((x + y) - y -> x, wrong for ±inf), and the second of two identical operands
//    (x - x, x == x) have OPAQUE_ZERO added to their bits (an add, not an OR: see opaqueCopy);
//  - a matmul or float-sum operand that is the same at every k step gets a different opaque
//    copy per step (opaqueStep), so the unrolled a*b0 + a*b1 is not factored to a*(b0 + b1);
//  - NaN, infinity and sign tests look at bit patterns (integer ops are never "fast");
//  - ops whose WGSL builtin is not NaN-safe (relu, maximum, minimum, the max/min/argmax
//    reductions, tanh, pow, float -> int/bool casts) are written out with such tests.
// Every generated kernel declares SPECIAL_FLOAT_DECLS and runs OPAQUE_ZERO_INIT first.
// The helper functions' WGSL is in shaders/ieee/*.wgsl (carried by shaders.generated.ts).
import { SHADERS } from "./shaders.generated.ts";

// Chromium's WGSL compiler rejects any constant expression that evaluates to ±inf or NaN
// ("value -inf cannot be represented as 'f32'"), so special floats are bitcast from module-scope
// vars, which are not constant expressions.
export const SPECIAL_FLOAT_DECLS: string = SHADERS["ieee/special_floats"];
export const F32_POS_INF = "bitcast<f32>(F32_POS_INF_BITS)";
export const F32_NEG_INF = "bitcast<f32>(F32_NEG_INF_BITS)";
export const F32_NAN = "bitcast<f32>(F32_NAN_BITS)";

/** First statement of every generated `main`. OPAQUE_ZERO is 0 because a bound buffer is never
 * empty (WebGPU requires a runtime-sized array binding to hold at least one element, and every
 * generated kernel binds t0) — something no shader compiler can know: buffer sizes reach the
 * driver with the bind group, after compilation (Tint on D3D/Metal reads them from a uniform).
 * It used to be `nwg.x >> 16u`, which relies on compilers not bounding num_workgroups: GL caps
 * dispatches at 65535 per dimension, so a GL compiler may prove it zero (Mesa's llvmpipe, tried
 * 2026-11-30, did not; the inf - inf it was blamed for came from opaqueCopy's OR). */
export const OPAQUE_ZERO_INIT = opaqueZeroInitFrom("t0");

/** OPAQUE_ZERO_INIT reading the length of storage binding `id` (where t0 is a texture). */
export function opaqueZeroInitFrom(id: string): string {
  return `OPAQUE_ZERO = u32(arrayLength(&${id}) == 0u);`;
}

/** A float literal the compiler cannot fold into the arithmetic around it. */
export function opaqueF32(v: number): string {
  const bits = new Uint32Array(new Float32Array([v]).buffer)[0];
  return `bitcast<f32>(OPAQUE_ZERO | 0x${bits.toString(16).padStart(8, "0")}u)`;
}

/** A copy of `x` the compiler cannot prove equal to `x` (so `x - x`, `x == x` are not folded).
 * An integer add, not an OR: `x` is often opaque already (a sum, a literal: bits | OPAQUE_ZERO),
 * and OR is idempotent — `(s | Z) | Z` is `s | Z` to any compiler, so the "copy" was the same
 * value again and `x - x` folded to 0 where inf - inf is NaN (seen on lavapipe and on GL
 * llvmpipe). `(s | Z) + Z` is not provably `s | Z`. */
export function opaqueCopy(x: string): string {
  return `bitcast<f32>(bitcast<u32>(${x}) + OPAQUE_ZERO)`;
}

/** A copy of `x` that differs, for the compiler, at each value of the u32 expression `step`
 * (equal to `x` at runtime). For a value reused at every step of an unrolled sum of products:
 * with one `a`, fast-math compilers factor a*b0 + a*b1 + ... into a*(b0 + b1 + ...), which is
 * -inf for a = -inf and b = (1, 0) where torch gives NaN (-inf * 0); both Mesa paths did it. */
export function opaqueStep(x: string, step: string): string {
  return `bitcast<f32>(bitcast<u32>(${x}) + (OPAQUE_ZERO & (${step})))`;
}

export const IS_NAN: string = SHADERS["ieee/is_nan"];

/** NaN or ±inf. */
export const IS_NONFINITE: string = SHADERS["ieee/is_nonfinite"];

/** torch.relu: x < 0 ? 0 : x (NaN and -0 pass through). Negative non-zero, non-NaN floats are
 * the bit patterns 0x80000001..0xff800000. */
export const RELU: string = SHADERS["ieee/relu"];

/** torch.maximum/minimum: NaN if either operand is NaN; a tie keeps the first operand (as
 * torch's CPU kernel does for -0 vs 0). Also the max/min reduction combine (acc first). */
export const MAXIMUM: string = SHADERS["ieee/maximum"];
export const MINIMUM: string = SHADERS["ieee/minimum"];

/** argmax's combine: does candidate (v, i) replace the current (c, ci)? NaN is the largest
 * value and the first NaN wins (torch.argmax); otherwise the larger value, then the smaller
 * index. */
export const ARGMAX_TAKES: string = SHADERS["ieee/argmax_takes"];

/** tanh: NaN stays NaN; |x| > 20 is clamped first (some drivers return NaN from tanh of large
 * values); tiny |x| returns x (tanh(x) = x within half an ulp below 4e-4; some drivers lose all
 * relative precision there). */
export const TANH: string = SHADERS["ieee/tanh"];

/** sqrt and log of negative numbers are NaN, log(±0) is -inf: WGSL leaves both undefined. */
export const SQRT: string = SHADERS["ieee/sqrt"];
export const LOG: string = SHADERS["ieee/log"];

/** sin and cos of ±inf are NaN (WGSL only specifies them on [-pi, pi]). */
export const SIN: string = SHADERS["ieee/sin"];
export const COS: string = SHADERS["ieee/cos"];

/** pow as C99 Annex F and torch: pow(x, ±0) = 1 and pow(1, y) = 1 even for NaN; pow(-1, ±inf) =
 * 1; ±0 and ±inf bases give 0 or inf by the sign of y (negative for odd integer y and a
 * negative base); a negative finite base with a non-integer exponent is NaN. WGSL's pow is only
 * defined for x > 0. */
export const POW: string = SHADERS["ieee/pow"];

/** float -> i32/u32: truncate toward zero, saturate out-of-range values and ±inf, NaN -> 0 (the
 * rule of torch on CUDA and of WGSL's own conversion, made explicit because drivers differ on NaN
 * and infinities). The reference interpreter uses the same rule (dtype.ts convertScalar). */
export const TO_I32: string = SHADERS["ieee/to_i32"];
export const TO_U32: string = SHADERS["ieee/to_u32"];

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
