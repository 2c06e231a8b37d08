// The start of both paged-attention kernels (shaders/paged_attention.wgsl, _rows.wgsl), once row
// g (a token and query head) is known: the token, its query head h and kv head kvh, the row's
// output offset obase, the sequence s the token belongs to (by the query start locations qsl;
// -1: a padding token) and kEnd, how many of the sequence's keys it attends to.
// Slots: HQ, KV_GROUP (query heads per kv head), D, S (sequences), K_END (pos + 1 when causal,
// else sl[s]).
let tok = i32(g / {{HQ}}u);
let h = g % {{HQ}}u;
let kvh = h / {{KV_GROUP}}u;
let obase = g * {{D}}u;
var s = -1;
for (var i = 0; i < {{S}}; i++) {
  if (tok >= qsl[i] && tok < qsl[i + 1]) { s = i; break; }
}
var kEnd = 0;
if (s >= 0) {
  let qlen = qsl[s + 1] - qsl[s];
  let pos = sl[s] - qlen + (tok - qsl[s]);
  kEnd = {{K_END}};
}
