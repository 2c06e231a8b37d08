// cos(±inf) is NaN (WGSL only specifies cos on [-pi, pi]; src/codegen/wgsl/ieee.ts). Needs
// is_nonfinite.wgsl and special_floats.wgsl. No slots.
fn cos_f32(x: f32) -> f32 {
  return select(cos(x), bitcast<f32>(F32_NAN_BITS), is_nonfinite_f32(x));
}
