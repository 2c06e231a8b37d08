// A small transformer decoder block written with the tracer API: the model the demo, the
// benchmarks and the browser page run. Attention is written with ops (not the custom op) so
// every fusion opportunity is visible to the scheduler.
import type { DType, TypedArray } from "../dtype.ts";
import type { InputSpec, TensorProxy } from "../fx/tracer.ts";

export interface DecoderConfig {
  batch: number;
  seq: number;
  dim: number;
  heads: number;
  /** Hidden size of the SwiGLU MLP. */
  hidden: number;
  /** Number of stacked blocks. */
  layers: number;
  dtype?: DType;
}

export const SMALL_DECODER: DecoderConfig = {
  batch: 1,
  seq: 16,
  dim: 64,
  heads: 4,
  hidden: 128,
  layers: 1,
};

const WEIGHTS = ["attn_norm", "wq", "wk", "wv", "wo", "mlp_norm", "w1", "w3", "w2"] as const;

/** Input specs: x, the additive causal mask, then per layer the weights in WEIGHTS order. */
export function decoderInputs(c: DecoderConfig): InputSpec[] {
  const dtype = c.dtype ?? "f32";
  const specs: InputSpec[] = [
    { name: "x", shape: [c.batch, c.seq, c.dim], dtype },
    { name: "mask", shape: [c.seq, c.seq], dtype },
  ];
  for (let l = 0; l < c.layers; l++) {
    const shapes: Record<typeof WEIGHTS[number], number[]> = {
      attn_norm: [c.dim],
      wq: [c.dim, c.dim],
      wk: [c.dim, c.dim],
      wv: [c.dim, c.dim],
      wo: [c.dim, c.dim],
      mlp_norm: [c.dim],
      w1: [c.hidden, c.dim],
      w3: [c.hidden, c.dim],
      w2: [c.dim, c.hidden],
    };
    for (const w of WEIGHTS) specs.push({ name: `l${l}_${w}`, shape: shapes[w], dtype });
  }
  return specs;
}

/** The traced function: x -> blocks(x). */
export function decoderFn(c: DecoderConfig): (...xs: TensorProxy[]) => TensorProxy {
  const hd = c.dim / c.heads;
  if (!Number.isInteger(hd)) throw new Error(`dim ${c.dim} is not divisible by heads ${c.heads}`);
  return (x, mask, ...ws) => {
    let h = x;
    for (let l = 0; l < c.layers; l++) {
      const [attnNorm, wq, wk, wv, wo, mlpNorm, w1, w3, w2] = ws.slice(l * 9, l * 9 + 9);
      const n = h.rmsNorm([c.dim], attnNorm);
      const heads = (t: TensorProxy) => t.reshape(c.batch, c.seq, c.heads, hd).transpose(1, 2);
      const q = heads(n.linear(wq));
      const k = heads(n.linear(wk));
      const v = heads(n.linear(wv));
      const scores = q.matmul(k.transpose(2, 3)).mul(1 / Math.sqrt(hd)).add(mask);
      const attn = scores.softmax(-1).matmul(v).transpose(1, 2).reshape(c.batch, c.seq, c.dim);
      h = h.add(attn.linear(wo));
      const m = h.rmsNorm([c.dim], mlpNorm);
      h = h.add(m.linear(w1).silu().mul(m.linear(w3)).linear(w2));
    }
    return h;
  };
}

/** Seeded inputs: x ~ U(-1, 1), weights scaled by 1/sqrt(fan_in), norms near 1, causal mask. */
export function decoderData(c: DecoderConfig, seed = 1): TypedArray[] {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const specs = decoderInputs(c);
  return specs.map((sp) => {
    const n = sp.shape.reduce((a, b) => a * b, 1);
    const a = sp.dtype === "f16" ? new Float16Array(n) : new Float32Array(n);
    if (sp.name === "mask") {
      for (let i = 0; i < c.seq; i++) {
        for (let j = 0; j < c.seq; j++) {
          a[i * c.seq + j] = j > i ? -1e4 : 0;
        }
      }
    } else if (sp.name!.endsWith("norm")) {
      for (let i = 0; i < n; i++) a[i] = 1 + 0.1 * (rand() * 2 - 1);
    } else {
      const fanIn = sp.shape[sp.shape.length - 1];
      const scale = sp.name === "x" ? 1 : 1 / Math.sqrt(fanIn);
      for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * scale;
    }
    return a;
  });
}
