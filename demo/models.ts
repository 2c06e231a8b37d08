// The demo's models, built with the tracer API (TensorProxy methods): weights are graph inputs
// filled with seeded random values scaled by 1/sqrt(fan_in), so activations stay O(1).
import {
  ATTENTION_OP,
  HOST_READBACK_OP,
  type InputSpec,
  ops,
  type TensorProxy,
  type TypedArray,
} from "../src/mod.ts";
import { randomArray, rng } from "./rng.ts";

export type ModelName = "decoder" | "vllm" | "mlp" | "softmax" | "attention";
export type SizeName = "tiny" | "small" | "medium" | "large";

export const MODEL_NAMES: ModelName[] = ["decoder", "vllm", "mlp", "softmax", "attention"];
export const SIZE_NAMES: SizeName[] = ["tiny", "small", "medium", "large"];

export interface ModelSpec {
  model: ModelName;
  size: SizeName;
  /** One line for the page: what the model computes at this size. */
  title: string;
  inputs: InputSpec[];
  /** Uniform range half-width for each input's random values. */
  scales: number[];
  fn: (...xs: TensorProxy[]) => TensorProxy | TensorProxy[];
  /** Inputs built from random values instead of `scales` (e.g. a causal mask). */
  fixed?: Record<number, (spec: InputSpec) => TypedArray>;
}

const DECODER: Record<SizeName, { T: number; D: number; H: number; F: number }> = {
  tiny: { T: 8, D: 16, H: 2, F: 32 },
  small: { T: 32, D: 64, H: 4, F: 128 },
  medium: { T: 128, D: 256, H: 8, F: 512 },
  large: { T: 256, D: 512, H: 8, F: 1408 },
};
const MLP: Record<SizeName, { B: number; D: number; F: number }> = {
  tiny: { B: 4, D: 16, F: 32 },
  small: { B: 32, D: 128, F: 512 },
  medium: { B: 128, D: 512, F: 2048 },
  large: { B: 256, D: 1024, F: 4096 },
};
const ROWS: Record<SizeName, { R: number; C: number }> = {
  tiny: { R: 4, C: 16 },
  small: { R: 64, C: 256 },
  medium: { R: 512, C: 1024 },
  large: { R: 2048, C: 4096 },
};
const ATTN: Record<SizeName, { H: number; T: number; Dh: number }> = {
  tiny: { H: 2, T: 8, Dh: 8 },
  small: { H: 4, T: 64, Dh: 32 },
  medium: { H: 8, T: 256, Dh: 64 },
  large: { H: 16, T: 512, Dh: 64 },
};

/** Additive causal mask [T, T]: 0 on and below the diagonal, -1e9 above. */
function causalMask(spec: InputSpec): TypedArray {
  const [t] = spec.shape;
  const m = new Float32Array(t * t);
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) m[i * t + j] = -1e9;
  return m;
}

export function buildModel(model: ModelName, size: SizeName): ModelSpec {
  switch (model) {
    case "decoder": {
      const { T, D, H, F } = DECODER[size];
      const Dh = D / H;
      const inputs: InputSpec[] = [
        { name: "x", shape: [T, D] },
        { name: "mask", shape: [T, T] },
        { name: "norm1", shape: [D] },
        { name: "wq", shape: [D, D] },
        { name: "wk", shape: [D, D] },
        { name: "wv", shape: [D, D] },
        { name: "wo", shape: [D, D] },
        { name: "norm2", shape: [D] },
        { name: "w_gate", shape: [F, D] },
        { name: "w_up", shape: [F, D] },
        { name: "w_down", shape: [D, F] },
      ];
      const s = 1 / Math.sqrt(D);
      return {
        model,
        size,
        title: `Llama-style decoder block: T=${T} tokens, D=${D}, ${H} heads of ${Dh}, ` +
          `SwiGLU FFN ${F} (RMSNorm, causal attention, residuals)`,
        inputs,
        scales: [1, 0, 1, s, s, s, s, 1, s, s, 1 / Math.sqrt(F)],
        fixed: { 1: causalMask },
        fn: (x, mask, n1, wq, wk, wv, wo, n2, wg, wu, wd) => {
          const h = x.rmsNorm([D], n1);
          const heads = (w: TensorProxy) => h.linear(w).reshape(T, H, Dh).transpose(0, 1); // [H,T,Dh]
          const q = heads(wq), k = heads(wk), v = heads(wv);
          const scores = q.matmul(k.transpose(1, 2)).mul(1 / Math.sqrt(Dh)).add(mask);
          const o = scores.softmax(-1).matmul(v).transpose(0, 1).reshape(T, D);
          const x2 = x.add(o.linear(wo));
          const h2 = x2.rmsNorm([D], n2);
          const ffn = h2.linear(wg).silu().mul(h2.linear(wu)).linear(wd);
          return x2.add(ffn);
        },
      };
    }
    case "vllm": {
      // The same block as vLLM runs it: attention is the custom op that writes its output in
      // place (a GPU kernel of its own), and the hidden state goes to the host between the
      // attention and FFN halves (inductor::host_readback), which splits the graph into
      // partitions around a host step.
      const base = buildModel("decoder", size);
      const { T, D, H } = DECODER[size];
      const Dh = D / H;
      const keep = (_: unknown, i: number) => i !== 1; // no mask: the op is causal itself
      return {
        model,
        size,
        inputs: base.inputs.filter(keep),
        scales: base.scales.filter(keep),
        title: `decoder block, vLLM style: ${ATTENTION_OP}(q, k, v, out!) for causal attention, ` +
          `host readback between attention and FFN (T=${T}, D=${D}, ${H} heads)`,
        fn: (x, n1, wq, wk, wv, wo, n2, wg, wu, wd) => {
          const h = x.rmsNorm([D], n1);
          const heads = (w: TensorProxy) => h.linear(w).reshape(T, H, Dh).transpose(0, 1);
          const q = heads(wq), k = heads(wk), v = heads(wv);
          const out = ops.emptyLike(q);
          ops.call(ATTENTION_OP, [q, k, v, out], { causal: true });
          const o = out.transpose(0, 1).reshape(T, D);
          const x2 = ops.call(HOST_READBACK_OP, [x.add(o.linear(wo))])!;
          const h2 = x2.rmsNorm([D], n2);
          return x2.add(h2.linear(wg).silu().mul(h2.linear(wu)).linear(wd));
        },
      };
    }
    case "mlp": {
      const { B, D, F } = MLP[size];
      return {
        model,
        size,
        title: `MLP: LayerNorm, Linear ${D}→${F}, GELU, Linear ${F}→${D}, residual (batch ${B})`,
        inputs: [
          { name: "x", shape: [B, D] },
          { name: "ln_w", shape: [D] },
          { name: "ln_b", shape: [D] },
          { name: "w1", shape: [F, D] },
          { name: "b1", shape: [F] },
          { name: "w2", shape: [D, F] },
          { name: "b2", shape: [D] },
        ],
        scales: [1, 1, 0.1, 1 / Math.sqrt(D), 0.1, 1 / Math.sqrt(F), 0.1],
        fn: (x, lw, lb, w1, b1, w2, b2) =>
          x.add(x.layerNorm([D], lw, lb).linear(w1, b1).gelu().linear(w2, b2)),
      };
    }
    case "softmax": {
      const { R, C } = ROWS[size];
      return {
        model,
        size,
        title: `softmax microbenchmark: softmax(x * 0.5 + bias, -1) on [${R}, ${C}]`,
        inputs: [{ name: "x", shape: [R, C] }, { name: "bias", shape: [C] }],
        scales: [4, 1],
        fn: (x, b) => x.mul(0.5).add(b).softmax(-1),
      };
    }
    case "attention": {
      const { H, T, Dh } = ATTN[size];
      return {
        model,
        size,
        title: `attention microbenchmark: softmax(q kᵀ / √${Dh}) v, ${H} heads, T=${T}`,
        inputs: [
          { name: "q", shape: [H, T, Dh] },
          { name: "k", shape: [H, T, Dh] },
          { name: "v", shape: [H, T, Dh] },
        ],
        scales: [1, 1, 1],
        fn: (q, k, v) => q.matmul(k.transpose(1, 2)).mul(1 / Math.sqrt(Dh)).softmax(-1).matmul(v),
      };
    }
  }
}

/** Seeded input data for a model. */
export function modelInputs(m: ModelSpec, seed: number): TypedArray[] {
  const r = rng(seed);
  return m.inputs.map((spec, i) => {
    const fixed = m.fixed?.[i];
    if (fixed) return fixed(spec);
    const s = m.scales[i] ?? 1;
    return randomArray(spec.shape, spec.dtype ?? "f32", r, -s, s);
  });
}
