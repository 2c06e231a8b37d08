// Matmul template, pipelined workgroup-memory flavour (GPUs; src/codegen/wgsl/matmul.ts, the
// `pipelined` tile configs): shaders/matmul_shared.wgsl with register double buffering. Each
// invocation first reads its elements of the first k slice into registers (pa<i> for A, pb<s>_<i>
// for B operand s); each turn of the k loop stores them to workgroup memory and, after the barrier,
// issues the reads of the next slice (kp = k0 + TILE_K) before multiplying the current one, so
// memory latency overlaps the arithmetic. An invocation's columns are strided by the workgroup
// width (register (i, j) of invocation (tr, tc): row tr * THREAD_M + i, column tc + j * WG_X):
// neighbouring invocations read neighbouring words of tileB<s> (no bank conflicts) and store
// neighbouring output columns. Slots: DECLARATIONS (bindings and IEEE declarations, lines),
// TILE_A_SIZE, TILE_B_DECLS (one `var<workgroup> tileB<s>` per B operand, lines), HELPERS (helper
// functions, lines), WG_X WG_Y, OPAQUE_ZERO_INIT, TILE_ORIGIN (the invocation's place and its
// tile's origin: shaders/matmul_tile_origin.wgsl, lines); ACCUMULATORS (`var acc<s>_<i>_<j> = 0.0;`
// lines), PREFETCH_REGISTERS (`var pa<i> = 0.0;`, `var pb<s>_<i> = 0.0;` lines), PREFETCH_FIRST and
// PREFETCH_NEXT (one shaders/matmul_shared_tile_load block per register, TO_REGISTER, reading slice
// kp, lines), K TILE_K, STORE_TILES (the registers' stores into tileA and tileB<s>, lines),
// TILE_PRODUCT (the unrolled register-tile product over the staged slice, lines), EPILOGUE (one
// shaders/matmul_output_element block per register, lines).
{{DECLARATIONS}}
var<workgroup> tileA: array<f32, {{TILE_A_SIZE}}>;
{{TILE_B_DECLS}}
{{HELPERS}}
@compute @workgroup_size({{WG_X}}, {{WG_Y}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  {{OPAQUE_ZERO_INIT}}
  {{TILE_ORIGIN}}
  {{ACCUMULATORS}}
  {{PREFETCH_REGISTERS}}
  {
    let kp = 0u;
    {{PREFETCH_FIRST}}
  }
  for (var k0 = 0u; k0 < {{K}}u; k0 = k0 + {{TILE_K}}u) {
    {{STORE_TILES}}
    workgroupBarrier();
    if (k0 + {{TILE_K}}u < {{K}}u) {
      let kp = k0 + {{TILE_K}}u;
      {{PREFETCH_NEXT}}
    }
    {{TILE_PRODUCT}}
    workgroupBarrier();
  }
  {{EPILOGUE}}
}
