// The paged form of vllm::unified_attention_with_output: queries of a batch of sequences attend to
// keys and values held in a paged KV cache, as vLLM's FlashAttention backend does
// (flash_attn_varlen_func with a block table). vLLM's op finds the cache, block table and lengths
// through its forward context; ours takes them as arguments:
//   q [T, Hq, D], k, v [T, Hkv, D] (this step's keys/values, already written to the cache by
//   vllm::reshape_and_cache_flash, so not read here), out! [T, Hq, D],
//   key_cache, value_cache [num_blocks, block_size, Hkv, D],
//   block_table [S, max_blocks] i32, seq_lens [S] i32, query_start_loc [S + 1] i32.
// Sequence s owns query tokens query_start_loc[s] .. query_start_loc[s+1] - 1, which are the
// last tokens of its seq_lens[s] tokens of context; the context token at position j lives in
// slot block_table[s][j / block_size] * block_size + j % block_size. Query head h reads KV head
// h / (Hq / Hkv) (grouped-query attention, HF's repeat_kv). Tokens past query_start_loc[S] are
// padding (a token-count bucket larger than the batch) and get zeros.
import { isFloat, shapeStr } from "../dtype.ts";
import { CompileError, DTypeError, ShapeError } from "../errors.ts";
import type { CustomKernelTarget } from "../fx/custom_ops.ts";
import type { TensorMeta } from "../fx/graph.ts";
import type { MetaArg, OpKwargs, RefArg } from "../fx/op_def.ts";
import type { RefTensor } from "../reference/tensor.ts";
import { fillShader } from "../codegen/wgsl/shader_template.ts";
import { pagedRowsKernel, sequenceLines } from "./paged_attention_rows.ts";
import { storageIO } from "./storage_io.ts";

/** Argument names of the paged form, after q, k, v, out. */
export const PAGED_ARGS = [
  "key_cache",
  "value_cache",
  "block_table",
  "seq_lens",
  "query_start_loc",
];

interface PagedDims {
  T: number;
  Hq: number;
  Hkv: number;
  D: number;
  blocks: number;
  blockSize: number;
  S: number;
  maxBlocks: number;
}

/** Checks the paged form's arguments and returns its sizes; errors name the argument. */
export function checkPaged(op: string, args: MetaArg[]): PagedDims {
  const [q, k, v, out, kc, vc, bt, sl, qsl] = args as TensorMeta[];
  const need = (name: string, t: TensorMeta, rank: number, what: string) => {
    if (!t || typeof t !== "object" || !("shape" in t) || t.shape.length !== rank) {
      throw new ShapeError(
        `${op}: ${name} must be ${what}, got ${t && "shape" in t ? shapeStr(t.shape) : String(t)}`,
      );
    }
  };
  need("q", q, 3, "[tokens, heads, head_size]");
  need("k", k, 3, "[tokens, kv_heads, head_size]");
  need("v", v, 3, "[tokens, kv_heads, head_size]");
  need("out", out, 3, "[tokens, heads, head_size]");
  need("key_cache", kc, 4, "[num_blocks, block_size, kv_heads, head_size]");
  need("value_cache", vc, 4, "[num_blocks, block_size, kv_heads, head_size]");
  need("block_table", bt, 2, "[num_seqs, max_blocks_per_seq]");
  need("seq_lens", sl, 1, "[num_seqs]");
  need("query_start_loc", qsl, 1, "[num_seqs + 1]");
  for (const [n, t] of [["q", q], ["k", k], ["v", v], ["out", out], ["key_cache", kc]] as const) {
    if (!isFloat(t.dtype)) throw new DTypeError(`${op}: ${n} must be f32 or f16, got ${t.dtype}`);
  }
  if (vc.dtype !== kc.dtype) {
    throw new DTypeError(`${op}: value_cache is ${vc.dtype} but key_cache is ${kc.dtype}`);
  }
  for (const [n, t] of [["block_table", bt], ["seq_lens", sl], ["query_start_loc", qsl]] as const) {
    if (t.dtype !== "i32") throw new DTypeError(`${op}: ${n} must be i32, got ${t.dtype}`);
  }
  const [T, Hq, D] = q.shape;
  const [blocks, blockSize, Hkv, Dc] = kc.shape;
  const S = bt.shape[0];
  if (shapeStr(out.shape) !== shapeStr(q.shape)) {
    throw new ShapeError(
      `${op}: out ${shapeStr(out.shape)} must have q's shape ${shapeStr(q.shape)}`,
    );
  }
  if (shapeStr(vc.shape) !== shapeStr(kc.shape)) {
    throw new ShapeError(
      `${op}: value_cache ${shapeStr(vc.shape)} must match key_cache ${shapeStr(kc.shape)}`,
    );
  }
  if (Dc !== D) {
    throw new ShapeError(`${op}: key_cache head_size ${Dc} != q's head_size ${D}`);
  }
  if (Hq % Hkv !== 0) {
    throw new ShapeError(
      `${op}: q's ${Hq} heads are not a multiple of the cache's ${Hkv} kv heads`,
    );
  }
  for (const [n, t] of [["k", k], ["v", v]] as const) {
    if (t.shape[0] !== T || t.shape[1] !== Hkv || t.shape[2] !== D) {
      throw new ShapeError(
        `${op}: ${n} ${
          shapeStr(t.shape)
        } must be [${T}, ${Hkv}, ${D}] (tokens, kv heads, head size)`,
      );
    }
  }
  if (sl.shape[0] !== S || qsl.shape[0] !== S + 1) {
    throw new ShapeError(
      `${op}: block_table has ${S} sequences, so seq_lens must be [${S}] and query_start_loc ` +
        `[${S + 1}], got ${shapeStr(sl.shape)} and ${shapeStr(qsl.shape)}`,
    );
  }
  return { T, Hq, Hkv, D, blocks, blockSize, S, maxBlocks: bt.shape[1] };
}

/** float64 reference of the paged form (causal: a query at context position p sees 0..p). */
export function pagedReference(op: string, args: RefArg[], scale: number, causal: boolean): null {
  const [q, , , out, kc, vc, bt, sl, qsl] = args as RefTensor[];
  const dims = checkPaged(op, args.map((a) => ({ ...(a as RefTensor) })) as MetaArg[]);
  const { T, Hq, Hkv, D, blockSize, maxBlocks, S } = dims;
  const group = Hq / Hkv;
  out.data.fill(0);
  for (let s = 0; s < S; s++) {
    const q0 = qsl.data[s], q1 = qsl.data[s + 1], ctx = sl.data[s];
    for (let t = q0; t < q1 && t < T; t++) {
      const pos = ctx - (q1 - q0) + (t - q0);
      const kEnd = causal ? pos + 1 : ctx;
      const slotOf = (j: number) =>
        bt.data[s * maxBlocks + Math.floor(j / blockSize)] * blockSize + (j % blockSize);
      for (let h = 0; h < Hq; h++) {
        const kvh = Math.floor(h / group);
        const sc = new Float64Array(Math.max(kEnd, 0));
        let m = -Infinity;
        for (let j = 0; j < kEnd; j++) {
          const kb = (slotOf(j) * Hkv + kvh) * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q.data[(t * Hq + h) * D + d] * kc.data[kb + d];
          sc[j] = dot * scale;
          m = Math.max(m, sc[j]);
        }
        let l = 0;
        for (let j = 0; j < kEnd; j++) l += sc[j] = Math.exp(sc[j] - m);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < kEnd; j++) acc += sc[j] * vc.data[(slotOf(j) * Hkv + kvh) * D + d];
          out.data[(t * Hq + h) * D + d] = kEnd > 0 ? acc / l : 0;
        }
      }
    }
  }
  return null;
}

/** Keys per tile: one per invocation of the workgroup. */
const WG = 64;
/** Query rows (tokens × heads) from which one invocation per row beats one workgroup per row. */
export const ROWS_KERNEL_MIN = 256;
/** Bound args: q, out, the caches and the metadata; k and v are not read (their values are in
 * the cache already). */
const PAGED_BINDINGS = [0, 3, 4, 5, 6, 7, 8];

/** Few query rows (decode): one workgroup per (token, query head). Each tile of WG keys: every invocation scores one key
 * (dot product from the cache through the block table), the tile's maximum rescales the running
 * sum (online softmax, as in flash attention), and invocations then accumulate the output dims
 * they own (d = lid, lid + WG, …) over the tile's keys: shaders/paged_attention.wgsl. */
export function pagedKernel(
  args: MetaArg[],
  kw: OpKwargs,
  scale: number,
  target: CustomKernelTarget,
) {
  const { T, Hq, Hkv, D, blockSize, maxBlocks, S } = checkPaged("paged attention", args);
  const [q, , , out, kc] = args as TensorMeta[];
  const emulated = target.f16 === "emulated";
  const native16 = !emulated && [q.dtype, out.dtype, kc.dtype].includes("f16");
  const qi = storageIO("q", q.dtype, emulated), oi = storageIO("o", out.dtype, emulated);
  const ki = storageIO("kc", kc.dtype, emulated), vi = storageIO("vc", kc.dtype, emulated);
  if (oi.packed && D % 2 !== 0) {
    throw new CompileError(
      `paged attention: an emulated f16 output needs an even head size (got ${D}): each ` +
        `workgroup must own whole u32 words of its row`,
    );
  }
  const causal = kw.causal !== false;
  if (T * Hq >= ROWS_KERNEL_MIN) {
    return {
      ...pagedRowsKernel({
        dims: { T, Hq, Hkv, D, blockSize, maxBlocks, S },
        q,
        out,
        io: { q: qi, o: oi, kc: ki, vc: vi },
        native16,
        scale,
        causal,
        target,
      }),
      bind: PAGED_BINDINGS,
    };
  }
  const perInv = Math.ceil(D / WG);
  const groups = T * Hq;
  // an f16 output stored as packed words: the row goes through workgroup memory, then each
  // invocation writes whole words
  const store = oi.packed ? `res[d] = r;` : `o[obase + d] = ${out.dtype}(r);`;
  const packedStore = oi.packed
    ? `workgroupBarrier();
  for (var w = lid; w < ${D / 2}u; w += ${WG}u) {
    o[(obase >> 1u) + w] = f32_to_f16_bits(res[2u * w]) | (f32_to_f16_bits(res[2u * w + 1u]) << 16u);
  }`
    : "";
  const wgsl = fillShader("paged_attention", {
    ENABLE_F16: native16 ? "enable f16;\n" : "",
    Q_TYPE: qi.type,
    O_TYPE: oi.type,
    KC_TYPE: ki.type,
    VC_TYPE: vi.type,
    D,
    WG,
    RES_DECL: oi.packed ? `var<workgroup> res: array<f32, ${D}>;` : "",
    F16_HELPERS: emulated ? target.f16Helpers : "",
    GROUPS: groups,
    SEQUENCE: sequenceLines(Hq, Hkv, D, S, causal),
    LOAD_Q: qi.load("obase + d"),
    PER_INV: perInv,
    MAX_BLOCKS: maxBlocks,
    BLOCK_SIZE: blockSize,
    HKV: Hkv,
    LOAD_K: ki.load("kb + d"),
    SCALE: Math.fround(scale),
    LOAD_V: vi.load(`(slots[i] * ${Hkv}u + kvh) * ${D}u + d`),
    STORE: store,
    PACKED_STORE: packedStore,
  });
  const wx = Math.min(groups, 65535);
  return {
    wgsl,
    workgroups: [wx, Math.ceil(groups / wx), 1] as [number, number, number],
    bind: PAGED_BINDINGS,
  };
}
