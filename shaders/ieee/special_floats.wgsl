// Module-scope bit patterns of ±inf and NaN, and OPAQUE_ZERO (src/codegen/wgsl/ieee.ts): Chromium
// rejects constant expressions that evaluate to ±inf or NaN, so special floats are bitcast from
// these vars, which are not constant expressions. No slots.
var<private> F32_POS_INF_BITS: u32 = 0x7f800000u;
var<private> F32_NEG_INF_BITS: u32 = 0xff800000u;
var<private> F32_NAN_BITS: u32 = 0x7fc00000u;
// zero at runtime (t0 is never empty), unknown to the shader compiler: see OPAQUE_ZERO_INIT
var<private> OPAQUE_ZERO: u32;
