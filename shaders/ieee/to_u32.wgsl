// float -> u32: truncate toward zero, saturate, NaN and negatives -> 0 (src/codegen/wgsl/ieee.ts).
// Needs is_nan.wgsl. No slots.
fn f32_to_u32(x: f32) -> u32 {
  if (is_nan_f32(x) || x <= 0.0) { return 0u; }
  if (x >= 4294967296.0) { return 4294967295u; }
  return u32(x);
}
