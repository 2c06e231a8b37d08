// pow as C99 Annex F and torch (src/codegen/wgsl/ieee.ts lists the cases); WGSL's pow is only
// defined for x > 0. Needs special_floats.wgsl. No slots.
fn pow_f32(x: f32, y: f32) -> f32 {
  let xb = bitcast<u32>(x);
  let xa = xb & 0x7fffffffu;
  let ya = bitcast<u32>(y) & 0x7fffffffu;
  if (ya == 0u || xb == 0x3f800000u) { return 1.0; }
  if (xa > 0x7f800000u || ya > 0x7f800000u) { return bitcast<f32>(F32_NAN_BITS); }
  let inf = bitcast<f32>(F32_POS_INF_BITS);
  if (ya == 0x7f800000u) {
    if (xa == 0x3f800000u) { return 1.0; }
    return select(0.0, inf, (xa > 0x3f800000u) == (y > 0.0));
  }
  let y_int = fract(y) == 0.0;
  let y_odd = y_int && fract(y * 0.5) != 0.0;
  let neg = xb > 0x80000000u;
  if (neg && !y_int && xa < 0x7f800000u) { return bitcast<f32>(F32_NAN_BITS); }
  var m: f32;
  if (xa == 0u) {
    m = select(0.0, inf, y < 0.0);
  } else if (xa == 0x7f800000u) {
    m = select(0.0, inf, y > 0.0);
  } else {
    m = pow(bitcast<f32>(xa), y);
  }
  return select(m, -m, (xb & 0x80000000u) != 0u && y_odd);
}
