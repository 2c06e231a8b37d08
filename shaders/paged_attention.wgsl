// Paged attention for few query rows (decode; src/custom_ops/paged_attention.ts, vLLM's
// unified_attention_with_output over a paged KV cache): one workgroup per (token, query head). Each
// tile of WG keys: every invocation scores one key (dot product from the cache through the block
// table), the tile's maximum rescales the running sum (online softmax, as in flash attention), and
// invocations then accumulate the output dims they own (d = lid, lid + WG, ...). Slots: ENABLE_F16
// ("enable f16;" and a newline, or nothing), the element types Q_TYPE O_TYPE KC_TYPE VC_TYPE,
// RES_DECL (the workgroup row of a packed f16 output, or nothing), F16_HELPERS, the sizes WG GROUPS
// D PER_INV MAX_BLOCKS BLOCK_SIZE HKV, SEQUENCE (shaders/paged_attention_sequence.wgsl, lines),
// SCALE (f32-rounded), the loads LOAD_Q (element obase + d), LOAD_K (kb + d), LOAD_V (of slot
// slots[i]), STORE (one result r of dim d) and PACKED_STORE (the whole row as f16 words after a
// barrier, or nothing).
{{ENABLE_F16}}
@group(0) @binding(0) var<storage, read> q: array<{{Q_TYPE}}>;
@group(0) @binding(1) var<storage, read_write> o: array<{{O_TYPE}}>;
@group(0) @binding(2) var<storage, read> kc: array<{{KC_TYPE}}>;
@group(0) @binding(3) var<storage, read> vc: array<{{VC_TYPE}}>;
@group(0) @binding(4) var<storage, read> bt: array<i32>;
@group(0) @binding(5) var<storage, read> sl: array<i32>;
@group(0) @binding(6) var<storage, read> qsl: array<i32>;
var<workgroup> qs: array<f32, {{D}}>;
var<workgroup> ps: array<f32, {{WG}}>;
var<workgroup> slots: array<u32, {{WG}}>;
{{RES_DECL}}
{{F16_HELPERS}}
// Chromium rejects constant expressions that evaluate to -inf: bitcast a module-scope var
var<private> NEG_INF_BITS: u32 = 0xff800000u;
@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= {{GROUPS}}u) { return; }
  {{SEQUENCE}}
  for (var d = lid; d < {{D}}u; d += {{WG}}u) { qs[d] = {{LOAD_Q}}; }
  workgroupBarrier();
  var acc: array<f32, {{PER_INV}}>;
  var m = bitcast<f32>(NEG_INF_BITS);
  var l = 0.0;
  let neg = bitcast<f32>(NEG_INF_BITS);
  for (var base = 0; base < kEnd; base += {{WG}}) {
    let j = base + i32(lid);
    var sc = neg;
    var slot = 0u;
    if (j < kEnd) {
      let blk = bt[s * {{MAX_BLOCKS}} + j / {{BLOCK_SIZE}}];
      slot = u32(blk * {{BLOCK_SIZE}} + j % {{BLOCK_SIZE}});
      let kb = (slot * {{HKV}}u + kvh) * {{D}}u;
      var dot = 0.0;
      for (var d = 0u; d < {{D}}u; d++) { dot = fma(qs[d], {{LOAD_K}}, dot); }
      sc = dot * {{SCALE}};
    }
    ps[lid] = sc;
    slots[lid] = slot;
    workgroupBarrier();
    var mt = neg;
    for (var i = 0u; i < {{WG}}u; i++) { mt = max(mt, ps[i]); }
    let mn = max(m, mt);
    let corr = exp(m - mn);
    workgroupBarrier();
    ps[lid] = exp(sc - mn);
    workgroupBarrier();
    var lt = 0.0;
    for (var i = 0u; i < {{WG}}u; i++) { lt += ps[i]; }
    l = l * corr + lt;
    let n = min({{WG}}, kEnd - base);
    for (var c = 0u; c < {{PER_INV}}u; c++) {
      let d = lid + c * {{WG}}u;
      if (d < {{D}}u) {
        var a = acc[c] * corr;
        for (var i = 0; i < n; i++) {
          a = fma(ps[i], {{LOAD_V}}, a);
        }
        acc[c] = a;
      }
    }
    m = mn;
    workgroupBarrier();
  }
  for (var c = 0u; c < {{PER_INV}}u; c++) {
    let d = lid + c * {{WG}}u;
    if (d < {{D}}u) {
      var r = 0.0;
      if (kEnd > 0) { r = acc[c] / l; }
      {{STORE}}
    }
  }
  {{PACKED_STORE}}
}

