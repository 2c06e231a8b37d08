// float -> i32: truncate toward zero, saturate, NaN -> 0 (src/codegen/wgsl/ieee.ts). Needs
// is_nan.wgsl. No slots.
fn f32_to_i32(x: f32) -> i32 {
  if (is_nan_f32(x)) { return 0; }
  if (x >= 2147483648.0) { return 2147483647; }
  if (x <= -2147483648.0) { return i32(-2147483647 - 1); }
  return i32(x);
}
