// Matmul template, register flavour with vec4 tiles (CPU adapters; src/codegen/wgsl/matmul.ts):
// no workgroup memory and no barriers; each invocation holds a THREAD_M x THREAD_N register tile
// of contiguous columns in groups of four (nq<g>: the index of column group g in vec4 units) and
// steps k by four (k = 4 * kq + kk), so an operand contiguous along n or along k is read as
// vec4s. Measured on lavapipe, matmul 1024: 296 ms with 8x8 vec4-loaded tiles against 574 ms
// with the lane-strided scalar tile (shaders/matmul_register.wgsl).
// Slots: DECLARATIONS (bindings and IEEE declarations, lines), HELPERS (helper functions,
// lines), WG_X WG_Y, OPAQUE_ZERO_INIT, the tile origin: FOLDED (a grid past 65535 workgroups in
// a dimension is laid out linearly and unfolded here: TILES workgroups, GRID_X x GRID_Y per
// batch) or else wid.xyz; TILE_M TILE_N; ACCUMULATORS (`var acc<s>_<i>_<j> = 0.0;` lines),
// ROWS_AND_COLUMNS (`let mi<i>` per register row, clamped where a tile can overhang, and
// `let nq<g>` per column group, lines), K_QUADS (K / 4), K_STEPS (the four unrolled k steps,
// sharing their vector loads, lines), EPILOGUE (one shaders/matmul_output_element block per
// register, lines).
{{DECLARATIONS}}
{{HELPERS}}
@compute @workgroup_size({{WG_X}}, {{WG_Y}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  {{OPAQUE_ZERO_INIT}}
  let lid = lid3.y * {{WG_X}}u + lid3.x;
  let tc = lid3.x;
  let tr = lid3.y;
{{#FOLDED}}
  let wlin = wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y;
  if (wlin >= {{TILES}}u) { return; }
  let b = wlin / {{GRID_XY}}u;
  let row0 = ((wlin / {{GRID_X}}u) % {{GRID_Y}}u) * {{TILE_M}}u;
  let col0 = (wlin % {{GRID_X}}u) * {{TILE_N}}u;
{{/FOLDED}}
{{^FOLDED}}
  let b = wid.z;
  let row0 = wid.y * {{TILE_M}}u;
  let col0 = wid.x * {{TILE_N}}u;
{{/FOLDED}}
  {{ACCUMULATORS}}
  {{ROWS_AND_COLUMNS}}
  for (var kq = 0u; kq < {{K_QUADS}}u; kq = kq + 1u) {
    {{K_STEPS}}
  }
  {{EPILOGUE}}
}
