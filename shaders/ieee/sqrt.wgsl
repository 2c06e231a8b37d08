// sqrt of a negative number is NaN (WGSL leaves it undefined; src/codegen/wgsl/ieee.ts). Needs
// special_floats.wgsl. No slots.
fn sqrt_f32(x: f32) -> f32 {
  return select(sqrt(x), bitcast<f32>(F32_NAN_BITS), bitcast<u32>(x) > 0x80000000u);
}
