// The weights of a Llama model under their Hugging Face names: the names and shapes a config
// implies, checked against what a checkpoint holds (missing names, wrong shapes, unexpected
// names, dtypes), converted to the model's dtype on the host.
import { type DType, dtypeOfArray, numel, shapeStr, type TypedArray } from "../dtype.ts";
import { DTypeError, InputError, ShapeError } from "../errors.ts";
import type { LlamaConfig } from "./llama_config.ts";

/** A weight on the host: its values and shape (dtype from the array: Float32Array or
 * Float16Array). */
export interface HostWeight {
  shape: readonly number[];
  data: TypedArray;
}

export type WeightSource = Map<string, HostWeight> | Record<string, HostWeight>;

/** HF names of the per-layer weights, in graph order. */
export const LAYER_WEIGHTS = [
  "input_layernorm",
  "self_attn.q_proj",
  "self_attn.k_proj",
  "self_attn.v_proj",
  "self_attn.o_proj",
  "post_attention_layernorm",
  "mlp.gate_proj",
  "mlp.up_proj",
  "mlp.down_proj",
] as const;

/** Every weight the config needs, HF name → shape (lm_head only when not tied). */
export function llamaWeightShapes(c: LlamaConfig): Map<string, number[]> {
  const H = c.hiddenSize, I = c.intermediateSize, D = c.headDim;
  const out = new Map<string, number[]>();
  out.set("model.embed_tokens.weight", [c.vocabSize, H]);
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}.`;
    out.set(`${p}input_layernorm.weight`, [H]);
    out.set(`${p}self_attn.q_proj.weight`, [c.numHeads * D, H]);
    out.set(`${p}self_attn.k_proj.weight`, [c.numKvHeads * D, H]);
    out.set(`${p}self_attn.v_proj.weight`, [c.numKvHeads * D, H]);
    out.set(`${p}self_attn.o_proj.weight`, [H, c.numHeads * D]);
    out.set(`${p}post_attention_layernorm.weight`, [H]);
    out.set(`${p}mlp.gate_proj.weight`, [I, H]);
    out.set(`${p}mlp.up_proj.weight`, [I, H]);
    out.set(`${p}mlp.down_proj.weight`, [H, I]);
  }
  out.set("model.norm.weight", [H]);
  if (!c.tieWordEmbeddings) out.set("lm_head.weight", [c.vocabSize, H]);
  return out;
}

/** A graph placeholder name for an HF weight name (`model.layers.0.mlp.up_proj.weight` →
 * `model_layers_0_mlp_up_proj_weight`). */
export function placeholderName(hfName: string): string {
  return hfName.replace(/[^A-Za-z0-9_]/g, "_");
}

/** Names a checkpoint may hold that the model does not use (HF's rotary buffers). */
const IGNORED = /(^|\.)rotary_emb\.inv_freq$/;

/** Checks `weights` against the config and returns them in `dtype` (converted where needed),
 * by HF name. `source` names the file in errors. */
export function checkLlamaWeights(
  c: LlamaConfig,
  weights: WeightSource,
  dtype: "f32" | "f16",
  source = "weights",
): Map<string, TypedArray> {
  const given = weights instanceof Map ? weights : new Map(Object.entries(weights));
  const want = llamaWeightShapes(c);
  const missing = [...want.keys()].filter((n) => !given.has(n));
  if (missing.length) {
    const list = missing.slice(0, 8).join(", ") + (missing.length > 8 ? ", …" : "");
    throw new InputError(
      `${source}: missing ${missing.length} weight(s) the config needs: ${list}`,
    );
  }
  const extra = [...given.keys()].filter((n) =>
    !want.has(n) && !IGNORED.test(n) && !(n === "lm_head.weight" && c.tieWordEmbeddings)
  );
  if (extra.length) {
    const list = extra.slice(0, 8).join(", ") + (extra.length > 8 ? ", …" : "");
    throw new InputError(
      `${source}: unexpected weight(s) ${list} (a config of ${c.numLayers} layers` +
        `${c.tieWordEmbeddings ? ", tied embeddings" : ""} does not use them)`,
    );
  }
  const out = new Map<string, TypedArray>();
  for (const [name, shape] of want) {
    const w = given.get(name)!;
    if (!w || typeof w !== "object" || !w.shape || !w.data) {
      throw new InputError(`${source}: weight '${name}' must be { shape, data }`);
    }
    if (shapeStr(w.shape) !== shapeStr(shape)) {
      throw new ShapeError(
        `${source}: weight '${name}' has shape ${shapeStr(w.shape)}, the config needs ` +
          `${shapeStr(shape)}`,
      );
    }
    const own = dtypeOfArray(w.data);
    if (own !== "f32" && own !== "f16") {
      throw new DTypeError(
        `${source}: weight '${name}' is ${own ?? typeof w.data}; f32 and f16 weights are supported`,
      );
    }
    if (w.data.length !== numel(shape)) {
      throw new ShapeError(
        `${source}: weight '${name}' of shape ${shapeStr(shape)} holds ${w.data.length} values`,
      );
    }
    out.set(name, convert(w.data, own, dtype));
  }
  return out;
}

function convert(a: TypedArray, from: DType, to: "f32" | "f16"): TypedArray {
  if (from === to) return a;
  return to === "f16" ? Float16Array.from(a as Float32Array) : Float32Array.from(a as Float16Array);
}
