// tanh: NaN stays NaN, |x| > 20 clamped first, tiny |x| returns x (src/codegen/wgsl/ieee.ts
// says why). Needs is_nan.wgsl. No slots.
fn tanh_f32(x: f32) -> f32 {
  let y = tanh(clamp(x, -20.0, 20.0));
  return select(y, x, is_nan_f32(x) || abs(x) < 0.0004);
}
