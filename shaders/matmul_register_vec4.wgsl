// Matmul template, register flavour with vec4 tiles (CPU adapters; src/codegen/wgsl/matmul.ts): no
// workgroup memory and no barriers; each invocation holds a THREAD_M x THREAD_N register tile of
// contiguous columns in groups of four (nq<g>: the index of column group g in vec4 units) and steps
// k by four (k = 4 * kq + kk), so an operand contiguous along n or along k is read as vec4s.
// Measured on lavapipe, matmul 1024: 296 ms with 8x8 vec4-loaded tiles against 574 ms with the
// lane-strided scalar tile (shaders/matmul_register.wgsl). Slots: DECLARATIONS (bindings and IEEE
// declarations, lines), HELPERS (helper functions, lines), WG_X WG_Y, OPAQUE_ZERO_INIT, TILE_ORIGIN
// (the invocation's place and its tile's origin: shaders/matmul_tile_origin.wgsl, lines);
// ACCUMULATORS (`var acc<s>_<i>_<j> = 0.0;` lines), ROWS_AND_COLUMNS (`let mi<i>` per register row,
// clamped where a tile can overhang, and `let nq<g>` per column group, lines), K_QUADS (K / 4),
// K_STEPS (the four unrolled k steps, sharing their vector loads, lines), EPILOGUE (one
// shaders/matmul_output_element block per register, lines).
{{DECLARATIONS}}
{{HELPERS}}
@compute @workgroup_size({{WG_X}}, {{WG_Y}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  {{OPAQUE_ZERO_INIT}}
  {{TILE_ORIGIN}}
  {{ACCUMULATORS}}
  {{ROWS_AND_COLUMNS}}
  for (var kq = 0u; kq < {{K_QUADS}}u; kq = kq + 1u) {
    {{K_STEPS}}
  }
  {{EPILOGUE}}
}
