// NaN test on the bits (src/codegen/wgsl/ieee.ts): `x != x` may be folded away. No slots.
fn is_nan_f32(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}
