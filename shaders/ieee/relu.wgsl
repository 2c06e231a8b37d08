// torch.relu: x < 0 ? 0 : x, NaN and -0 pass through (src/codegen/wgsl/ieee.ts). Negative
// non-zero, non-NaN floats are the bit patterns 0x80000001..0xff800000. No slots.
fn relu_f32(x: f32) -> f32 {
  return select(x, 0.0, bitcast<u32>(x) - 0x80000001u < 0x7f800000u);
}
