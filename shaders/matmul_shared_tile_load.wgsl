// One element an invocation stages into workgroup memory in the k loop of
// shaders/matmul_shared.wgsl: element E = lid + FIRST of the ROWS x COLS slice TILE (tileA: rows
// of A from row0, columns from the slice's k; tileB<s>: rows from the slice's k, columns from
// col0), zero outside the matrix (ROW_LIMIT x COL_LIMIT). PARTIAL: the last round of a slice
// that is not a multiple of the workgroup size, where invocations past the slice's TILE_SIZE
// elements load nothing. TO_REGISTER (shaders/matmul_shared_pipelined.wgsl's prefetch): the
// value goes to register REGISTER instead, stored to workgroup memory later.
// Slots: E (the element's register name), FIRST, ROW_BASE COL_BASE (k0, or kp when
// prefetching), COLS, ROW_LIMIT COL_LIMIT, PARTIAL, TILE_SIZE, LOAD (statements computing the
// operand value at (gr, gc), lines), VALUE (the value's expression), TO_REGISTER, REGISTER or
// else TILE.
{
  let {{E}} = lid + {{FIRST}}u;
  let gr = {{ROW_BASE}} + ({{E}} / {{COLS}}u);
  let gc = {{COL_BASE}} + ({{E}} % {{COLS}}u);
  var val = 0.0;
{{#PARTIAL}}
  if ({{E}} < {{TILE_SIZE}}u && gr < {{ROW_LIMIT}}u && gc < {{COL_LIMIT}}u) {
{{/PARTIAL}}
{{^PARTIAL}}
  if (gr < {{ROW_LIMIT}}u && gc < {{COL_LIMIT}}u) {
{{/PARTIAL}}
    {{LOAD}}
    val = {{VALUE}};
  }
{{#TO_REGISTER}}
  {{REGISTER}} = val;
{{/TO_REGISTER}}
{{^TO_REGISTER}}
{{#PARTIAL}}
  if ({{E}} < {{TILE_SIZE}}u) { {{TILE}}[{{E}}] = val; }
{{/PARTIAL}}
{{^PARTIAL}}
  { {{TILE}}[{{E}}] = val; }
{{/PARTIAL}}
{{/TO_REGISTER}}
}
