// One step of a Llama model as a traced graph for one token-count bucket, in vLLM's shape: the
// step's tokens of every sequence are flattened into [T] (padded to the bucket), each layer writes
// its keys and values into the paged cache with vllm::reshape_and_cache_flash and attends through
// the block table with vllm::unified_attention_with_output (the op the graph is split at), and
// only the rows whose logits are needed reach the LM head. Math as HF's LlamaForCausalLM: RMSNorm
// in f32, RoPE with rotate_half, GQA, SwiGLU, attention scaled by 1/sqrt(head_dim). Activations
// are f32; f16 weights are read as f16 and widened in the kernels that load them.
import { ATTENTION_OP } from "../custom_ops/attention.ts";
import { RESHAPE_AND_CACHE_OP } from "../custom_ops/reshape_and_cache.ts";
import type { DType } from "../dtype.ts";
import { type InputSpec, ops, type TensorProxy, type TraceFn } from "../fx/tracer.ts";
import type { LlamaConfig } from "./llama_config.ts";
import { LAYER_WEIGHTS, llamaWeightShapes, placeholderName } from "./llama_weights.ts";

/** The static shape of one compiled step. */
export interface StepShape {
  /** Token bucket T (the step's tokens, padded). */
  tokens: number;
  /** Sequence slots S (rows of the block table). */
  seqs: number;
  /** Blocks per sequence in the block table. */
  maxBlocks: number;
  numBlocks: number;
  blockSize: number;
  /** "last": logits of each sequence's last token [S, V]; "all": of every token [T, V]. */
  logits: "last" | "all";
  weightDtype: "f32" | "f16";
  cacheDtype: "f32" | "f16";
  /** Rows of the RoPE tables (the context length). */
  ropePositions: number;
}

/** Run inputs per step, in order (the host uploads the first four; block table and
 * query_start_loc are device tensors rewritten only when they change). */
export const STEP_INPUTS = [
  "input_ids",
  "positions",
  "slot_mapping",
  "seq_lens",
  "query_start_loc",
  "block_table",
] as const;

export function cacheNames(layers: number): string[] {
  const out: string[] = [];
  for (let l = 0; l < layers; l++) out.push(`key_cache_${l}`, `value_cache_${l}`);
  return out;
}

/** Every placeholder in order: step inputs, the KV caches, then the params (RoPE tables and the
 * weights, named by `placeholderName`). */
export function llamaStepSpecs(c: LlamaConfig, s: StepShape): InputSpec[] {
  const T = s.tokens, S = s.seqs;
  const cache = [s.numBlocks, s.blockSize, c.numKvHeads, c.headDim];
  const specs: InputSpec[] = [
    { name: "input_ids", shape: [T], dtype: "i32" },
    { name: "positions", shape: [T], dtype: "i32" },
    { name: "slot_mapping", shape: [T], dtype: "i32" },
    { name: "seq_lens", shape: [S], dtype: "i32" },
    { name: "query_start_loc", shape: [S + 1], dtype: "i32" },
    { name: "block_table", shape: [S, s.maxBlocks], dtype: "i32" },
  ];
  for (const n of cacheNames(c.numLayers)) {
    specs.push({ name: n, shape: cache, dtype: s.cacheDtype });
  }
  specs.push({ name: "rope_cos", shape: [s.ropePositions, c.headDim], dtype: "f32" });
  specs.push({ name: "rope_sin", shape: [s.ropePositions, c.headDim], dtype: "f32" });
  for (const [name, shape] of llamaWeightShapes(c)) {
    specs.push({ name: placeholderName(name), shape, dtype: s.weightDtype as DType });
  }
  return specs;
}

/** The traced step: placeholders as `llamaStepSpecs`, output the logits (f32). */
export function llamaStepFn(c: LlamaConfig, s: StepShape): TraceFn {
  const specs = llamaStepSpecs(c, s);
  const T = s.tokens, H = c.hiddenSize, D = c.headDim, Hq = c.numHeads, Hkv = c.numKvHeads;
  return (...xs: TensorProxy[]) => {
    const x = new Map(specs.map((sp, i) => [sp.name!, xs[i]] as const));
    const w = (hf: string) => {
      const t = x.get(placeholderName(hf))!;
      return s.weightDtype === "f32" ? t : t.cast("f32");
    };
    const norm = (h: TensorProxy, hf: string) => h.rmsNorm([H], w(hf), c.rmsNormEps);
    // RoPE: the cos/sin rows of each token's position, broadcast over heads
    const cos = ops.embedding(x.get("rope_cos")!, x.get("positions")!).unsqueeze(1);
    const sin = ops.embedding(x.get("rope_sin")!, x.get("positions")!).unsqueeze(1);
    const rope = (t: TensorProxy) => {
      const rot = ops.cat([t.slice(-1, D / 2, D).neg(), t.slice(-1, 0, D / 2)], -1);
      return t.mul(cos).add(rot.mul(sin));
    };
    const [slots, seqLens, qsl, blockTable] = [
      x.get("slot_mapping")!,
      x.get("seq_lens")!,
      x.get("query_start_loc")!,
      x.get("block_table")!,
    ];
    let h = ops.embedding(w("model.embed_tokens.weight"), x.get("input_ids")!); // [T, H]
    for (let l = 0; l < c.numLayers; l++) {
      const p = (n: typeof LAYER_WEIGHTS[number]) => `model.layers.${l}.${n}.weight`;
      const n1 = norm(h, p("input_layernorm"));
      const q = rope(n1.linear(w(p("self_attn.q_proj"))).reshape(T, Hq, D));
      const k = rope(n1.linear(w(p("self_attn.k_proj"))).reshape(T, Hkv, D));
      const v = n1.linear(w(p("self_attn.v_proj"))).reshape(T, Hkv, D);
      const kc = x.get(`key_cache_${l}`)!, vc = x.get(`value_cache_${l}`)!;
      ops.call(RESHAPE_AND_CACHE_OP, [k, v, kc, vc, slots]);
      const attn = ops.empty([T, Hq, D], "f32");
      ops.call(ATTENTION_OP, [q, k, v, attn, kc, vc, blockTable, seqLens, qsl]);
      h = h.add(attn.reshape(T, Hq * D).linear(w(p("self_attn.o_proj"))));
      const n2 = norm(h, p("post_attention_layernorm"));
      const gate = n2.linear(w(p("mlp.gate_proj"))).silu();
      h = h.add(gate.mul(n2.linear(w(p("mlp.up_proj")))).linear(w(p("mlp.down_proj"))));
    }
    if (s.logits === "last" && (T > 1 || s.seqs > 1)) {
      // each sequence's last token: query_start_loc[s + 1] - 1 (an empty slot reads row 0)
      const last = qsl.slice(0, 1, s.seqs + 1).sub(1).maximum(0);
      h = ops.embedding(h, last);
    }
    const head = c.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
    return norm(h, "model.norm.weight").linear(w(head));
  };
}
