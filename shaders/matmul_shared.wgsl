// Matmul template, workgroup-memory flavour (GPUs; src/codegen/wgsl/matmul.ts, upstream inductor's
// mm template): a workgroup of WG_X x WG_Y invocations computes a TILE_M x TILE_N block of out[b],
// each invocation a THREAD_M x THREAD_N register tile (rows tr * THREAD_M + i, columns tc *
// THREAD_N + j). The k loop stages a TILE_M x TILE_K slice of A (tileA) and, per paired matmul s, a
// TILE_K x TILE_N slice of B (tileB<s>) through workgroup memory, then multiplies the staged slices
// fully unrolled. Slots: DECLARATIONS (bindings and IEEE declarations, lines), TILE_A_SIZE,
// TILE_B_DECLS (one `var<workgroup> tileB<s>` per B operand, lines), HELPERS (helper functions,
// lines), WG_X WG_Y, OPAQUE_ZERO_INIT, TILE_ORIGIN (the invocation's place and its tile's origin:
// shaders/matmul_tile_origin.wgsl, lines); ACCUMULATORS (`var acc<s>_<i>_<j> = 0.0;` lines), K
// TILE_K, LOAD_TILES (one shaders/matmul_shared_tile_load block per element an invocation stages,
// lines), TILE_PRODUCT (the unrolled register-tile product over the staged slice, lines), EPILOGUE
// (one shaders/matmul_output_element block per register, lines).
{{DECLARATIONS}}
var<workgroup> tileA: array<f32, {{TILE_A_SIZE}}>;
{{TILE_B_DECLS}}
{{HELPERS}}
@compute @workgroup_size({{WG_X}}, {{WG_Y}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  {{OPAQUE_ZERO_INIT}}
  {{TILE_ORIGIN}}
  {{ACCUMULATORS}}
  for (var k0 = 0u; k0 < {{K}}u; k0 = k0 + {{TILE_K}}u) {
    {{LOAD_TILES}}
    workgroupBarrier();
    {{TILE_PRODUCT}}
    workgroupBarrier();
  }
  {{EPILOGUE}}
}
