// Matmul template, register flavour with lane-strided tiles (CPU adapters such as lavapipe and
// SwiftShader; src/codegen/wgsl/matmul.ts): no workgroup memory and no barriers; each invocation
// reads its rows and columns straight into a THREAD_M x THREAD_N register tile. Register (i, j) of
// invocation (tr, tc) holds row row0 + tr + i * WG_Y and column col0 + tc + j * WG_X: strided by
// the workgroup size, so neighbouring invocations (SIMD lanes on a CPU adapter) hold neighbouring
// columns and their loads are contiguous across lanes. Slots: DECLARATIONS (bindings and IEEE
// declarations, lines), HELPERS (helper functions, lines), WG_X WG_Y, OPAQUE_ZERO_INIT, TILE_ORIGIN
// (the invocation's place and its tile's origin: shaders/matmul_tile_origin.wgsl, lines);
// ACCUMULATORS (`var acc<s>_<i>_<j> = 0.0;` lines), ROWS_AND_COLUMNS (`let mi<i>` / `let nj<j>` per
// register row and column, clamped where a tile can overhang the matrix, lines), MAIN_LOOP (K_MAIN
// > 0: k in steps of TILE_K, MAIN_STEPS the TILE_K unrolled steps, lines), TAIL_LOOP (K_MAIN < K:
// the remaining k one at a time, TAIL_STEP one step, lines), EPILOGUE (one
// shaders/matmul_output_element block per register, lines).
{{DECLARATIONS}}
{{HELPERS}}
@compute @workgroup_size({{WG_X}}, {{WG_Y}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  {{OPAQUE_ZERO_INIT}}
  {{TILE_ORIGIN}}
  {{ACCUMULATORS}}
  {{ROWS_AND_COLUMNS}}
{{#MAIN_LOOP}}
  for (var k0 = 0u; k0 < {{K_MAIN}}u; k0 = k0 + {{TILE_K}}u) {
    {{MAIN_STEPS}}
  }
{{/MAIN_LOOP}}
{{#TAIL_LOOP}}
  for (var k1 = {{K_MAIN}}u; k1 < {{K}}u; k1 = k1 + 1u) {
    {{TAIL_STEP}}
  }
{{/TAIL_LOOP}}
  {{EPILOGUE}}
}
