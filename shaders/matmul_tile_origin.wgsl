// The start of every matmul flavour's main (shaders/matmul_shared.wgsl, _shared_pipelined,
// _register, _register_vec4): the invocation's linear id and its place (tc, tr) in the
// WG_X-wide workgroup, then the tile origin — batch b, first row row0 and first column col0 of
// the workgroup's TILE_M x TILE_N output tile. FOLDED: a grid past 65535 workgroups in a
// dimension is laid out linearly and unfolded here (TILES workgroups, GRID_X x GRID_Y per
// batch; returning early is allowed, the workgroup id is uniform); else wid.xyz.
// Slots: WG_X, FOLDED, TILES, GRID_XY, GRID_X, GRID_Y, TILE_M, TILE_N.
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
