// The bench's LLM peer: the bundled Llama (demo/tiny-llama) written with tfjs ops, the way a
// tfjs user ports HF's LlamaForCausalLM: RMSNorm with rms_norm_eps, RoPE by rotate_half with
// HF's cos/sin tables (src/models/llama_config.ts ropeTables, made once), grouped-query attention
// (each kv head serves numHeads / numKvHeads query heads, HF's repeat_kv), SwiGLU MLP, tied
// embeddings as the LM head. Weights are tf.Tensors made once from the same safetensors file.
// KV cache: per layer, keys and values as tf tensors [kvHeads, len, headDim] that stay on the
// device; each step appends its positions with tf.concat on the sequence axis (tfjs tensors are
// immutable, so concat is the idiomatic growth; past_key_values in, present out, as
// transformers.js runs decoders) and the old ones are disposed.
import type { LlamaConfig } from "../../src/models/llama_config.ts";
import { ropeTables } from "../../src/models/llama_config.ts";
import type { PeerModule } from "./types.ts";

// deno-lint-ignore no-explicit-any
type T = any;

/** A tfjs Llama with a device-resident KV cache; one sequence. */
export class TfjsLlama {
  #w = new Map<string, T>();
  #cos: T;
  #sin: T;
  #k: T[] = [];
  #v: T[] = [];
  #masks = new Map<string, T>();
  #len = 0;

  constructor(
    readonly tf: PeerModule,
    readonly config: LlamaConfig,
    weights: Map<string, { data: Float32Array; shape: number[] }>,
  ) {
    for (const [name, h] of weights) this.#w.set(name, tf.tensor(h.data, h.shape, "float32"));
    const rope = ropeTables(config, config.maxPositions);
    this.#cos = tf.tensor(rope.cos, [config.maxPositions, config.headDim]);
    this.#sin = tf.tensor(rope.sin, [config.maxPositions, config.headDim]);
  }

  #weight(name: string): T {
    const t = this.#w.get(name);
    if (!t) throw new Error(`tfjs llama: no weight '${name}'`);
    return t;
  }

  /** Tokens cached so far. */
  get length(): number {
    return this.#len;
  }

  /** Drops the cache (a new sequence). */
  reset(): void {
    this.tf.dispose([...this.#k, ...this.#v]);
    this.#k = [];
    this.#v = [];
    this.#len = 0;
  }

  /** Appends `ids` to the sequence; logits [1, V] of the last token (or [n, V] of every token
   * with `all`), read back to the host. */
  async step(ids: readonly number[], all = false): Promise<Float32Array> {
    const tf = this.tf;
    const out = tf.tidy(() => this.#forward(ids, all));
    tf.dispose([...this.#k, ...this.#v]);
    this.#k = out.k;
    this.#v = out.v;
    this.#len += ids.length;
    try {
      return await out.logits.data();
    } finally {
      out.logits.dispose();
    }
  }

  #forward(ids: readonly number[], all: boolean): { logits: T; k: T[]; v: T[] } {
    const tf = this.tf, c = this.config;
    const n = ids.length, p0 = this.#len, len = p0 + n;
    const H = c.numHeads, KV = c.numKvHeads, D = c.headDim, G = H / KV;
    const linear = (x: T, name: string) => tf.matMul(x, this.#weight(name), false, true);
    const rms = (x: T, name: string) =>
      x.mul(tf.rsqrt(tf.mean(tf.square(x), -1, true).add(c.rmsNormEps))).mul(this.#weight(name));
    // [n, 1, D] tables of positions p0 .. p0 + n - 1
    const cos = tf.slice(this.#cos, [p0, 0], [n, D]).reshape([n, 1, D]);
    const sin = tf.slice(this.#sin, [p0, 0], [n, D]).reshape([n, 1, D]);
    const rotateHalf = (x: T) => {
      const [a, b] = tf.split(x, 2, -1);
      return tf.concat([tf.neg(b), a], -1);
    };
    const rope = (x: T) => x.mul(cos).add(rotateHalf(x).mul(sin));
    const mask = n > 1 ? this.#mask(n, len) : null;
    let h = tf.gather(this.#weight("model.embed_tokens.weight"), tf.tensor1d(ids, "int32"));
    const ks: T[] = [], vs: T[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      const pre = `model.layers.${l}.`;
      const x = rms(h, `${pre}input_layernorm.weight`);
      // [n, heads, D] -> rotated -> [heads, n, D]
      const q = rope(linear(x, `${pre}self_attn.q_proj.weight`).reshape([n, H, D]))
        .transpose([1, 0, 2]);
      const kNew = rope(linear(x, `${pre}self_attn.k_proj.weight`).reshape([n, KV, D]))
        .transpose([1, 0, 2]);
      const vNew = linear(x, `${pre}self_attn.v_proj.weight`).reshape([n, KV, D])
        .transpose([1, 0, 2]);
      const k = p0 ? tf.concat([this.#k[l], kNew], 1) : kNew;
      const v = p0 ? tf.concat([this.#v[l], vNew], 1) : vNew;
      ks.push(k);
      vs.push(v);
      // query head j uses kv head floor(j / G): [H, n, D] -> [KV, G * n, D]
      let s = tf.matMul(q.reshape([KV, G * n, D]), k, false, true).mul(1 / Math.sqrt(D));
      if (mask) s = s.reshape([KV, G, n, len]).add(mask).reshape([KV, G * n, len]);
      const o = tf.matMul(tf.softmax(s, -1), v).reshape([H, n, D]).transpose([1, 0, 2])
        .reshape([n, H * D]);
      h = h.add(linear(o, `${pre}self_attn.o_proj.weight`));
      const m = rms(h, `${pre}post_attention_layernorm.weight`);
      const gate = linear(m, `${pre}mlp.gate_proj.weight`);
      const up = linear(m, `${pre}mlp.up_proj.weight`);
      h = h.add(linear(gate.mul(tf.sigmoid(gate)).mul(up), `${pre}mlp.down_proj.weight`));
    }
    const last = all ? h : tf.slice(h, [n - 1, 0], [1, c.hiddenSize]);
    const head = c.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
    const logits = linear(rms(last, "model.norm.weight"), head);
    return { logits, k: ks, v: vs };
  }

  /** Additive causal mask [n, len] for n new tokens after len - n cached ones (made once per
   * shape and kept: it is a constant, as the weights are). */
  #mask(n: number, len: number): T {
    const key = `${n}/${len}`;
    let m = this.#masks.get(key);
    if (!m) {
      const a = new Float32Array(n * len);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < len; j++) if (j > len - n + i) a[i * len + j] = -Infinity;
      }
      m = this.tf.keep(this.tf.tensor(a, [n, len]));
      this.#masks.set(key, m);
    }
    return m;
  }

  dispose(): void {
    this.reset();
    this.tf.dispose([...this.#w.values(), this.#cos, this.#sin, ...this.#masks.values()]);
    this.#w.clear();
    this.#masks.clear();
  }
}
