// vllm::reshape_and_cache_flash (src/custom_ops/reshape_and_cache.ts): writes this step's keys
// and values into the paged KV cache, one invocation per element (per pair of elements for an
// emulated f16 cache, so each u32 word is written whole). A negative slot (padding) or one past
// the cache's end writes nothing. Slots: ENABLE_F16 ("enable f16;" and a newline, or nothing),
// the element types K_TYPE V_TYPE CACHE_TYPE, F16_HELPERS, the sizes WG N (invocations that
// work) PER (elements per invocation) ROW (kv_heads * head_size) SLOTS (cache slots), and STORE
// (writes element(s) of invocation i into slot `slot`).
{{ENABLE_F16}}
@group(0) @binding(0) var<storage, read> k: array<{{K_TYPE}}>;
@group(0) @binding(1) var<storage, read> v: array<{{V_TYPE}}>;
@group(0) @binding(2) var<storage, read_write> kc: array<{{CACHE_TYPE}}>;
@group(0) @binding(3) var<storage, read_write> vc: array<{{CACHE_TYPE}}>;
@group(0) @binding(4) var<storage, read> sm: array<i32>;
{{F16_HELPERS}}
@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  if (i >= {{N}}u) { return; }
  let t = i * {{PER}}u / {{ROW}}u;
  let slot = sm[t];
  if (slot < 0 || slot >= {{SLOTS}}) { return; }
  {{STORE}}
}

