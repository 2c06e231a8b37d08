// torch.minimum: NaN if either operand is NaN; a tie keeps the first operand (src/codegen/wgsl/
// ieee.ts). Needs is_nan.wgsl. No slots.
fn minimum_f32(a: f32, b: f32) -> f32 {
  if (is_nan_f32(a)) { return a; }
  if (is_nan_f32(b)) { return b; }
  return select(b, a, a <= b);
}
