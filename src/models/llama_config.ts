// A Hugging Face Llama `config.json`, read and checked: the sizes the model is built from, with
// HF's defaults where a key may be absent (transformers' LlamaConfig). Every error names the
// key at fault and the file it came from.
import { InputError } from "../errors.ts";

export interface RopeScaling {
  /** "linear" divides positions by `factor`; "llama3" rescales low frequencies (Llama 3.1). */
  type: "linear" | "llama3";
  factor: number;
  lowFreqFactor?: number;
  highFreqFactor?: number;
  originalMaxPositions?: number;
}

export interface LlamaConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  maxPositions: number;
  tieWordEmbeddings: boolean;
  bosTokenId: number | null;
  /** Token ids that end generation. */
  eosTokenIds: number[];
  /** The weights' dtype as the config states it ("float32", "float16", …), if it does. */
  torchDtype: string | null;
}

const SUPPORTED = ["LlamaForCausalLM"];

/** Reads and checks an HF config object (`source` names the file in errors). */
export function parseLlamaConfig(json: unknown, source = "config.json"): LlamaConfig {
  const bad = (why: string) => new InputError(`${source}: ${why}`);
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw bad(`must be a JSON object, got ${Array.isArray(json) ? "an array" : typeof json}`);
  }
  const c = json as Record<string, unknown>;
  const archs = c.architectures;
  if (archs !== undefined) {
    if (!Array.isArray(archs) || !archs.every((a) => typeof a === "string")) {
      throw bad(`'architectures' must be a list of names, got ${JSON.stringify(archs)}`);
    }
    if (!archs.some((a) => SUPPORTED.includes(a))) {
      throw bad(
        `architecture ${JSON.stringify(archs)} is not supported (supported: ${
          SUPPORTED.join(", ")
        })`,
      );
    }
  } else if (c.model_type !== "llama") {
    throw bad(
      `model_type ${JSON.stringify(c.model_type)} is not supported (no 'architectures'; ` +
        `expected model_type "llama")`,
    );
  }
  const int = (key: string, dflt?: number): number => {
    const v = c[key] ?? dflt;
    if (v === undefined) throw bad(`missing required key '${key}'`);
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) {
      throw bad(`'${key}' must be a positive integer, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const num = (key: string, dflt: number): number => {
    const v = c[key] ?? dflt;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      throw bad(`'${key}' must be a positive number, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const flag = (key: string, dflt: boolean): boolean => {
    const v = c[key] ?? dflt;
    if (typeof v !== "boolean") {
      throw bad(`'${key}' must be true or false, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const hiddenSize = int("hidden_size");
  const numHeads = int("num_attention_heads");
  const numKvHeads = int("num_key_value_heads", numHeads);
  if (c.head_dim === undefined || c.head_dim === null) {
    if (hiddenSize % numHeads !== 0) {
      throw bad(
        `hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads} (and ` +
          `there is no head_dim)`,
      );
    }
  }
  const headDim = c.head_dim === undefined || c.head_dim === null
    ? hiddenSize / numHeads
    : int("head_dim");
  if (numHeads % numKvHeads !== 0) {
    throw bad(
      `num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`,
    );
  }
  if (headDim % 2 !== 0) throw bad(`head_dim ${headDim} must be even (RoPE rotates halves)`);
  if (c.hidden_act !== undefined && c.hidden_act !== "silu") {
    throw bad(`hidden_act ${JSON.stringify(c.hidden_act)} is not supported (Llama uses "silu")`);
  }
  for (const key of ["attention_bias", "mlp_bias"]) {
    if (c[key] === true) throw bad(`'${key}': true is not supported (Llama has no biases)`);
  }
  const eos = c.eos_token_id;
  const eosTokenIds = eos === undefined || eos === null
    ? []
    : Array.isArray(eos)
    ? eos.map((e, i) => checkId(e, `eos_token_id[${i}]`, bad))
    : [checkId(eos, "eos_token_id", bad)];
  const bos = c.bos_token_id;
  return {
    vocabSize: int("vocab_size"),
    hiddenSize,
    intermediateSize: int("intermediate_size"),
    numLayers: int("num_hidden_layers"),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: num("rms_norm_eps", 1e-6),
    ropeTheta: num("rope_theta", 10000),
    ropeScaling: ropeScaling(c.rope_scaling, bad),
    maxPositions: int("max_position_embeddings", 2048),
    tieWordEmbeddings: flag("tie_word_embeddings", false),
    bosTokenId: bos === undefined || bos === null ? null : checkId(bos, "bos_token_id", bad),
    eosTokenIds,
    torchDtype: typeof c.torch_dtype === "string" ? c.torch_dtype : null,
  };
}

function checkId(v: unknown, key: string, bad: (w: string) => Error): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw bad(`'${key}' must be a token id, got ${JSON.stringify(v)}`);
  }
  return v;
}

function ropeScaling(v: unknown, bad: (w: string) => Error): RopeScaling | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "object" || Array.isArray(v)) {
    throw bad(`'rope_scaling' must be an object or null, got ${JSON.stringify(v)}`);
  }
  const r = v as Record<string, unknown>;
  const type = r.rope_type ?? r.type;
  if (type === "default") return null;
  const factor = r.factor;
  if (typeof factor !== "number" || !(factor > 0)) {
    throw bad(`'rope_scaling.factor' must be a positive number, got ${JSON.stringify(factor)}`);
  }
  if (type === "linear") return { type, factor };
  if (type === "llama3") {
    const n = (k: string) => {
      if (typeof r[k] !== "number") {
        throw bad(`'rope_scaling.${k}' must be a number for llama3 scaling`);
      }
      return r[k] as number;
    };
    return {
      type,
      factor,
      lowFreqFactor: n("low_freq_factor"),
      highFreqFactor: n("high_freq_factor"),
      originalMaxPositions: n("original_max_position_embeddings"),
    };
  }
  throw bad(
    `rope_scaling type ${JSON.stringify(type)} is not supported (supported: default, linear, ` +
      `llama3)`,
  );
}

/** RoPE inverse frequencies, float64 (transformers' _compute_default_rope_parameters and the
 * linear / llama3 variants). */
export function ropeInvFreq(c: LlamaConfig): Float64Array {
  const half = c.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(c.ropeTheta, (2 * i) / c.headDim);
  const s = c.ropeScaling;
  if (s?.type === "linear") { for (let i = 0; i < half; i++) inv[i] /= s.factor; }
  if (s?.type === "llama3") {
    const lowWavelen = s.originalMaxPositions! / s.lowFreqFactor!;
    const highWavelen = s.originalMaxPositions! / s.highFreqFactor!;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen > lowWavelen) inv[i] /= s.factor;
      else if (wavelen >= highWavelen) {
        const smooth = (s.originalMaxPositions! / wavelen - s.lowFreqFactor!) /
          (s.highFreqFactor! - s.lowFreqFactor!);
        inv[i] = (1 - smooth) * (inv[i] / s.factor) + smooth * inv[i];
      }
    }
  }
  return inv;
}

/** cos and sin tables [positions, head_dim] with HF's layout (the half-dim frequencies repeated
 * twice, cat(freqs, freqs)), angles in float64 and rounded once to f32. */
export function ropeTables(
  c: LlamaConfig,
  positions: number,
): { cos: Float32Array; sin: Float32Array } {
  const inv = ropeInvFreq(c);
  const D = c.headDim, half = D / 2;
  const cos = new Float32Array(positions * D), sin = new Float32Array(positions * D);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const a = p * inv[i];
      cos[p * D + i] = cos[p * D + half + i] = Math.cos(a);
      sin[p * D + i] = sin[p * D + half + i] = Math.sin(a);
    }
  }
  return { cos, sin };
}
