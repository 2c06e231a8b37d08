// The paged attention kernel for many query rows (prefill): one invocation per (token, query
// head), an online softmax over the token's keys read through the block table, no workgroup
// memory and no barriers. With hundreds of rows this fills a GPU and runs well on CPU adapters,
// where barriers are costly; a few rows (decode) use the workgroup kernel of
// paged_attention.ts, whose invocations split the keys.
import type { CustomKernelTarget } from "../fx/custom_ops.ts";
import type { TensorMeta } from "../fx/graph.ts";
import type { StorageIO } from "./storage_io.ts";

export interface RowsKernelParts {
  dims: {
    T: number;
    Hq: number;
    Hkv: number;
    D: number;
    blockSize: number;
    maxBlocks: number;
    S: number;
  };
  q: TensorMeta;
  out: TensorMeta;
  io: { q: StorageIO; o: StorageIO; kc: StorageIO; vc: StorageIO };
  native16: boolean;
  scale: number;
  causal: boolean;
  target: CustomKernelTarget;
}

const WG = 64;

export function pagedRowsKernel(p: RowsKernelParts) {
  const { T, Hq, Hkv, D, blockSize, maxBlocks, S } = p.dims;
  const { q: qi, o: oi, kc: ki, vc: vi } = p.io;
  const rows = T * Hq;
  const groups = Math.ceil(rows / WG);
  // a packed f16 row is whole words (D is even for packed outputs): pairs of halves
  const store = oi.packed
    ? `for (var d = 0u; d < ${D}u; d += 2u) {
    o[(obase + d) >> 1u] = f32_to_f16_bits(acc[d] * inv) | (f32_to_f16_bits(acc[d + 1u] * inv) << 16u);
  }`
    : `for (var d = 0u; d < ${D}u; d++) { o[obase + d] = ${p.out.dtype}(acc[d] * inv); }`;
  const wgsl = `${p.native16 ? "enable f16;\n" : ""}
@group(0) @binding(0) var<storage, read> q: array<${qi.type}>;
@group(0) @binding(1) var<storage, read_write> o: array<${oi.type}>;
@group(0) @binding(2) var<storage, read> kc: array<${ki.type}>;
@group(0) @binding(3) var<storage, read> vc: array<${vi.type}>;
@group(0) @binding(4) var<storage, read> bt: array<i32>;
@group(0) @binding(5) var<storage, read> sl: array<i32>;
@group(0) @binding(6) var<storage, read> qsl: array<i32>;
// Chromium rejects constant expressions that evaluate to -inf: bitcast a module-scope var
var<private> NEG_INF_BITS: u32 = 0xff800000u;
${p.io.o.packed || p.io.q.packed || p.io.kc.packed ? p.target.f16Helpers : ""}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.x + gid.y * nwg.x * ${WG}u;
  if (g >= ${rows}u) { return; }
  let tok = i32(g / ${Hq}u);
  let h = g % ${Hq}u;
  let kvh = h / ${Hq / Hkv}u;
  let obase = g * ${D}u;
  var s = -1;
  for (var i = 0; i < ${S}; i++) {
    if (tok >= qsl[i] && tok < qsl[i + 1]) { s = i; break; }
  }
  var kEnd = 0;
  if (s >= 0) {
    let qlen = qsl[s + 1] - qsl[s];
    let pos = sl[s] - qlen + (tok - qsl[s]);
    kEnd = ${p.causal ? "pos + 1" : "sl[s]"};
  }
  var qr: array<f32, ${D}>;
  var acc: array<f32, ${D}>;
  for (var d = 0u; d < ${D}u; d++) { qr[d] = ${qi.load("obase + d")}; acc[d] = 0.0; }
  var m = bitcast<f32>(NEG_INF_BITS);
  var l = 0.0;
  for (var j = 0; j < kEnd; j++) {
    let slot = u32(bt[s * ${maxBlocks} + j / ${blockSize}] * ${blockSize} + j % ${blockSize});
    let kb = (slot * ${Hkv}u + kvh) * ${D}u;
    var dot = 0.0;
    for (var d = 0u; d < ${D}u; d++) { dot = fma(qr[d], ${ki.load("kb + d")}, dot); }
    let sc = dot * ${Math.fround(p.scale)};
    let mn = max(m, sc);
    let corr = exp(m - mn);
    let pr = exp(sc - mn);
    l = l * corr + pr;
    for (var d = 0u; d < ${D}u; d++) { acc[d] = fma(pr, ${vi.load("kb + d")}, acc[d] * corr); }
    m = mn;
  }
  var inv = 0.0;
  if (kEnd > 0) { inv = 1.0 / l; }
  ${store}
}
`;
  const wx = Math.min(groups, 65535);
  return { wgsl, workgroups: [wx, Math.ceil(groups / wx), 1] as [number, number, number] };
}
