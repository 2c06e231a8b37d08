// The paged attention kernel for many query rows (prefill): one invocation per (token, query
// head), an online softmax over the token's keys read through the block table, no workgroup
// memory and no barriers. With hundreds of rows this fills a GPU and runs well on CPU adapters,
// where barriers are costly; a few rows (decode) use the workgroup kernel of
// paged_attention.ts, whose invocations split the keys. The WGSL is shaders/paged_attention_rows.wgsl.
import { fillShader, fillShaderLines } from "../codegen/wgsl/shader_template.ts";
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

/** Both paged-attention kernels' start (shaders/paged_attention_sequence.wgsl): row g's token,
 * heads and output offset, its sequence and how many keys it attends to. */
export function sequenceLines(
  Hq: number,
  Hkv: number,
  D: number,
  S: number,
  causal: boolean,
): string[] {
  return fillShaderLines("paged_attention_sequence", {
    HQ: Hq,
    KV_GROUP: Hq / Hkv,
    D,
    S,
    K_END: causal ? "pos + 1" : "sl[s]",
  });
}

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
  const wgsl = fillShader("paged_attention_rows", {
    ENABLE_F16: p.native16 ? "enable f16;\n" : "",
    Q_TYPE: qi.type,
    O_TYPE: oi.type,
    KC_TYPE: ki.type,
    VC_TYPE: vi.type,
    F16_HELPERS: p.io.o.packed || p.io.q.packed || p.io.kc.packed ? p.target.f16Helpers : "",
    WG,
    ROWS: rows,
    D,
    SEQUENCE: sequenceLines(Hq, Hkv, D, S, p.causal),
    LOAD_Q: qi.load("obase + d"),
    MAX_BLOCKS: maxBlocks,
    BLOCK_SIZE: blockSize,
    HKV: Hkv,
    LOAD_K: ki.load("kb + d"),
    SCALE: Math.fround(p.scale),
    LOAD_V: vi.load("kb + d"),
    STORE: store,
  });
  const wx = Math.min(groups, 65535);
  return { wgsl, workgroups: [wx, Math.ceil(groups / wx), 1] as [number, number, number] };
}
