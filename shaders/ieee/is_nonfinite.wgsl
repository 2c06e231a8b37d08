// NaN or ±inf, on the bits (src/codegen/wgsl/ieee.ts). No slots.
fn is_nonfinite_f32(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) >= 0x7f800000u;
}
