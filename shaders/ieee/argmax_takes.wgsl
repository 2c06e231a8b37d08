// argmax's combine: does (v, i) replace (c, ci)? NaN is largest and the first NaN wins, as in
// torch.argmax; then the larger value, then the smaller index (src/codegen/wgsl/ieee.ts). Needs
// is_nan.wgsl. No slots.
fn argmax_takes_f32(v: f32, i: u32, c: f32, ci: u32) -> bool {
  let vn = is_nan_f32(v);
  if (is_nan_f32(c)) { return vn && i < ci; }
  return vn || v > c || (v == c && i < ci);
}
