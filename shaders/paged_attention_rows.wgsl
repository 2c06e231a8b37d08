// Paged attention for many query rows (prefill; src/custom_ops/paged_attention_rows.ts): one
// invocation per (token, query head), an online softmax over the token's keys read through the
// block table, no workgroup memory and no barriers. Slots: ENABLE_F16 ("enable f16;" and a newline,
// or nothing), the element types Q_TYPE O_TYPE KC_TYPE VC_TYPE, F16_HELPERS, the sizes WG ROWS D
// MAX_BLOCKS BLOCK_SIZE HKV, SEQUENCE (shaders/paged_attention_sequence.wgsl, lines), SCALE
// (f32-rounded), the loads LOAD_Q (element obase + d), LOAD_K and LOAD_V (element kb + d), and
// STORE (writes acc[d] * inv into row obase).
{{ENABLE_F16}}
@group(0) @binding(0) var<storage, read> q: array<{{Q_TYPE}}>;
@group(0) @binding(1) var<storage, read_write> o: array<{{O_TYPE}}>;
@group(0) @binding(2) var<storage, read> kc: array<{{KC_TYPE}}>;
@group(0) @binding(3) var<storage, read> vc: array<{{VC_TYPE}}>;
@group(0) @binding(4) var<storage, read> bt: array<i32>;
@group(0) @binding(5) var<storage, read> sl: array<i32>;
@group(0) @binding(6) var<storage, read> qsl: array<i32>;
// Chromium rejects constant expressions that evaluate to -inf: bitcast a module-scope var
var<private> NEG_INF_BITS: u32 = 0xff800000u;
{{F16_HELPERS}}
@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.x + gid.y * nwg.x * {{WG}}u;
  if (g >= {{ROWS}}u) { return; }
  {{SEQUENCE}}
  var qr: array<f32, {{D}}>;
  var acc: array<f32, {{D}}>;
  for (var d = 0u; d < {{D}}u; d++) { qr[d] = {{LOAD_Q}}; acc[d] = 0.0; }
  var m = bitcast<f32>(NEG_INF_BITS);
  var l = 0.0;
  for (var j = 0; j < kEnd; j++) {
    let slot = u32(bt[s * {{MAX_BLOCKS}} + j / {{BLOCK_SIZE}}] * {{BLOCK_SIZE}} + j % {{BLOCK_SIZE}});
    let kb = (slot * {{HKV}}u + kvh) * {{D}}u;
    var dot = 0.0;
    for (var d = 0u; d < {{D}}u; d++) { dot = fma(qr[d], {{LOAD_K}}, dot); }
    let sc = dot * {{SCALE}};
    let mn = max(m, sc);
    let corr = exp(m - mn);
    let pr = exp(sc - mn);
    l = l * corr + pr;
    for (var d = 0u; d < {{D}}u; d++) { acc[d] = fma(pr, {{LOAD_V}}, acc[d] * corr); }
    m = mn;
  }
  var inv = 0.0;
  if (kEnd > 0) { inv = 1.0 / l; }
  {{STORE}}
}

