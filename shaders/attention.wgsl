// Dense softmax attention, flash-style (src/custom_ops/attention.ts; vLLM's
// unified_attention_with_output on dense q, k, v): one invocation per query row, an online
// softmax over the keys in one pass (running max m, running sum l, the accumulator rescaled by
// exp(m_old - m_new)). Slots: ENABLE_F16 ("enable f16;" and a newline, or nothing), the element
// types Q_TYPE K_TYPE V_TYPE O_TYPE, F16_HELPERS (shaders/f16_bits.wgsl on the emulated path), the
// sizes WG ROWS S D, SCALE, J_END (i + 1u when causal, else S), the loads LOAD_Q LOAD_K LOAD_V of
// element `row * D + d` / `base + j * D + d` as f32, and STORE (writes acc / l into row `row`).
{{ENABLE_F16}}
@group(0) @binding(0) var<storage, read> q: array<{{Q_TYPE}}>;
@group(0) @binding(1) var<storage, read> k: array<{{K_TYPE}}>;
@group(0) @binding(2) var<storage, read> v: array<{{V_TYPE}}>;
@group(0) @binding(3) var<storage, read_write> o: array<{{O_TYPE}}>;
// Chromium rejects constant expressions that evaluate to -inf: bitcast a module-scope var
var<private> NEG_INF_BITS: u32 = 0xff800000u;
{{F16_HELPERS}}
@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * {{WG}}u;
  if (row >= {{ROWS}}u) { return; }
  let i = row % {{S}}u;
  let base = (row - i) * {{D}}u;
  var qr: array<f32, {{D}}>;
  var acc: array<f32, {{D}}>;
  for (var d = 0u; d < {{D}}u; d++) { qr[d] = {{LOAD_Q}}; acc[d] = 0.0; }
  var m = bitcast<f32>(NEG_INF_BITS);
  var l = 0.0;
  let jEnd = {{J_END}};
  for (var j = 0u; j < jEnd; j++) {
    var s = 0.0;
    for (var d = 0u; d < {{D}}u; d++) { s = fma(qr[d], {{LOAD_K}}, s); }
    s = s * {{SCALE}};
    let mn = max(m, s);
    let corr = exp(m - mn);
    let p = exp(s - mn);
    l = l * corr + p;
    for (var d = 0u; d < {{D}}u; d++) { acc[d] = fma(p, {{LOAD_V}}, acc[d] * corr); }
    m = mn;
  }
  {{STORE}}
}

