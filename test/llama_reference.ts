// A float64 Llama forward pass over a whole sequence (no cache), written directly from HF's
// modeling_llama math: the oracle of the model tests. Also makes random configs and weights.
import type { LlamaConfig } from "../src/models/llama_config.ts";
import { ropeInvFreq } from "../src/models/llama_config.ts";
import { type HostWeight, llamaWeightShapes } from "../src/models/llama_weights.ts";
import { rng } from "../src/random.ts";

export function tinyConfig(over: Partial<LlamaConfig> = {}): LlamaConfig {
  return {
    vocabSize: 64,
    hiddenSize: 32,
    intermediateSize: 48,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 8,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    ropeScaling: null,
    maxPositions: 64,
    tieWordEmbeddings: true,
    bosTokenId: 0,
    eosTokenIds: [1],
    torchDtype: "float32",
    ...over,
  };
}

/** The HF config.json of a config (for loader tests). */
export function hfConfig(c: LlamaConfig): Record<string, unknown> {
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    head_dim: c.headDim,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    max_position_embeddings: c.maxPositions,
    tie_word_embeddings: c.tieWordEmbeddings,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenIds[0],
    hidden_act: "silu",
    torch_dtype: "float32",
  };
}

/** Seeded random weights: matrices ~ U(-1, 1) / sqrt(fan_in) (scaled up so logits spread),
 * norms near 1. */
export function randomWeights(c: LlamaConfig, seed: number): Map<string, HostWeight> {
  const r = rng(seed);
  const out = new Map<string, HostWeight>();
  for (const [name, shape] of llamaWeightShapes(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (shape.length === 1) { for (let i = 0; i < n; i++) data[i] = 1 + 0.2 * (r() * 2 - 1); }
    else {
      const scale = name.includes("embed") ? 1 : 1.5 / Math.sqrt(shape[1]);
      for (let i = 0; i < n; i++) data[i] = (r() * 2 - 1) * scale;
    }
    out.set(name, { shape, data });
  }
  return out;
}

/** Logits [T, vocab] of every position of `ids` (positions 0..T-1), in float64. */
export function llamaReference(
  c: LlamaConfig,
  weights: Map<string, HostWeight>,
  ids: readonly number[],
): Float64Array {
  const W = (n: string) => weights.get(n)!.data;
  const T = ids.length, H = c.hiddenSize, D = c.headDim, Hq = c.numHeads, Hkv = c.numKvHeads;
  const I = c.intermediateSize, V = c.vocabSize;
  const linear = (
    x: Float64Array,
    w: ArrayLike<number>,
    rows: number,
    out: number,
    inn: number,
  ) => {
    const y = new Float64Array(rows * out);
    for (let t = 0; t < rows; t++) {
      for (let o = 0; o < out; o++) {
        let s = 0;
        for (let i = 0; i < inn; i++) s += x[t * inn + i] * w[o * inn + i];
        y[t * out + o] = s;
      }
    }
    return y;
  };
  const rms = (x: Float64Array, w: ArrayLike<number>) => {
    const y = new Float64Array(x.length);
    for (let t = 0; t < T; t++) {
      let ss = 0;
      for (let i = 0; i < H; i++) ss += x[t * H + i] ** 2;
      const inv = 1 / Math.sqrt(ss / H + c.rmsNormEps);
      for (let i = 0; i < H; i++) y[t * H + i] = x[t * H + i] * inv * w[i];
    }
    return y;
  };
  const inv = ropeInvFreq(c);
  const rope = (x: Float64Array, heads: number) => {
    const y = new Float64Array(x.length), half = D / 2;
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < heads; h++) {
        const b = (t * heads + h) * D;
        for (let i = 0; i < half; i++) {
          const a = t * inv[i], cs = Math.cos(a), sn = Math.sin(a);
          y[b + i] = x[b + i] * cs - x[b + half + i] * sn;
          y[b + half + i] = x[b + half + i] * cs + x[b + i] * sn;
        }
      }
    }
    return y;
  };
  const emb = W("model.embed_tokens.weight");
  let h = new Float64Array(T * H);
  ids.forEach((id, t) => {
    for (let i = 0; i < H; i++) h[t * H + i] = emb[id * H + i];
  });
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}.`;
    const x = rms(h, W(`${p}input_layernorm.weight`));
    const q = rope(linear(x, W(`${p}self_attn.q_proj.weight`), T, Hq * D, H), Hq);
    const k = rope(linear(x, W(`${p}self_attn.k_proj.weight`), T, Hkv * D, H), Hkv);
    const v = linear(x, W(`${p}self_attn.v_proj.weight`), T, Hkv * D, H);
    const attn = new Float64Array(T * Hq * D);
    for (let hh = 0; hh < Hq; hh++) {
      const kv = Math.floor(hh / (Hq / Hkv));
      for (let t = 0; t < T; t++) {
        const s = new Float64Array(t + 1);
        let m = -Infinity;
        for (let j = 0; j <= t; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[(t * Hq + hh) * D + d] * k[(j * Hkv + kv) * D + d];
          s[j] = dot / Math.sqrt(D);
          m = Math.max(m, s[j]);
        }
        let z = 0;
        for (let j = 0; j <= t; j++) z += s[j] = Math.exp(s[j] - m);
        for (let d = 0; d < D; d++) {
          let a = 0;
          for (let j = 0; j <= t; j++) a += s[j] * v[(j * Hkv + kv) * D + d];
          attn[(t * Hq + hh) * D + d] = a / z;
        }
      }
    }
    const o = linear(attn, W(`${p}self_attn.o_proj.weight`), T, H, Hq * D);
    h = h.map((a, i) => a + o[i]);
    const x2 = rms(h, W(`${p}post_attention_layernorm.weight`));
    const g = linear(x2, W(`${p}mlp.gate_proj.weight`), T, I, H);
    const u = linear(x2, W(`${p}mlp.up_proj.weight`), T, I, H);
    const act = g.map((a, i) => (a / (1 + Math.exp(-a))) * u[i]);
    const dn = linear(act, W(`${p}mlp.down_proj.weight`), T, H, I);
    h = h.map((a, i) => a + dn[i]);
  }
  const head = c.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
  return linear(rms(h, W("model.norm.weight")), W(head), T, V, H);
}

/** Greedy continuation by full recomputation (no cache). */
export function referenceGreedy(
  c: LlamaConfig,
  weights: Map<string, HostWeight>,
  prompt: readonly number[],
  n: number,
): { ids: number[]; logits: Float64Array[] } {
  const ids = [...prompt], out: number[] = [], logits: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const all = llamaReference(c, weights, ids);
    const row = all.slice((ids.length - 1) * c.vocabSize, ids.length * c.vocabSize);
    let best = 0;
    for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
    out.push(best);
    logits.push(row);
    ids.push(best);
  }
  return { ids: out, logits };
}
