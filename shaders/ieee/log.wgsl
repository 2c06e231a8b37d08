// log: log(±0) = -inf, log of a negative number is NaN (WGSL leaves both undefined;
// src/codegen/wgsl/ieee.ts). Needs special_floats.wgsl. No slots.
fn log_f32(x: f32) -> f32 {
  let b = bitcast<u32>(x);
  if ((b & 0x7fffffffu) == 0u) { return bitcast<f32>(F32_NEG_INF_BITS); }
  return select(log(x), bitcast<f32>(F32_NAN_BITS), b > 0x80000000u);
}
