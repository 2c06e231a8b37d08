// Next-token choice from one row of logits, as vLLM's sampler does it: temperature 0 is greedy
// (argmax, first index on ties, like torch.argmax); otherwise logits / temperature, top-k, then
// top-p (the smallest set of most likely tokens whose probability reaches p), and a draw from a
// seeded generator so a seed reproduces a run.
import { InputError } from "../errors.ts";
import { rng } from "../random.ts";

export interface SamplingOptions {
  /** 0 (default): greedy. */
  temperature?: number;
  /** Keep the k most likely tokens (0 or absent: all). */
  topK?: number;
  /** Keep the most likely tokens whose probability sums to p (1 or absent: all). */
  topP?: number;
  /** Seed of the draws (default: random). */
  seed?: number;
}

export function checkSampling(o: SamplingOptions): Required<SamplingOptions> {
  const t = o.temperature ?? 0;
  if (typeof t !== "number" || !(t >= 0) || !Number.isFinite(t)) {
    throw new InputError(`temperature must be a number ≥ 0, got ${o.temperature}`);
  }
  const k = o.topK ?? 0;
  if (!Number.isInteger(k) || k < 0) {
    throw new InputError(`topK must be an integer ≥ 0 (0: off), got ${o.topK}`);
  }
  const p = o.topP ?? 1;
  if (typeof p !== "number" || !(p > 0 && p <= 1)) {
    throw new InputError(`topP must be in (0, 1], got ${o.topP}`);
  }
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
  if (!Number.isInteger(seed)) throw new InputError(`seed must be an integer, got ${o.seed}`);
  return { temperature: t, topK: k, topP: p, seed };
}

/** The index of the largest value (the first one on ties). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

export class Sampler {
  readonly opts: Required<SamplingOptions>;
  #rand: () => number;

  constructor(opts: SamplingOptions = {}) {
    this.opts = checkSampling(opts);
    this.#rand = rng(this.opts.seed);
  }

  /** The next token for one row of logits. */
  sample(row: ArrayLike<number>): number {
    const { temperature, topK, topP } = this.opts;
    if (temperature === 0) return argmax(row);
    const order = Array.from({ length: row.length }, (_, i) => i)
      .sort((a, b) => row[b] - row[a] || a - b);
    const keep = topK > 0 ? order.slice(0, topK) : order;
    const m = row[keep[0]] / temperature;
    const probs = keep.map((i) => Math.exp(row[i] / temperature - m));
    const sum = probs.reduce((a, b) => a + b, 0);
    let n = keep.length, cum = 0;
    if (topP < 1) {
      for (let i = 0; i < keep.length; i++) {
        cum += probs[i] / sum;
        if (cum >= topP) {
          n = i + 1;
          break;
        }
      }
    }
    const total = probs.slice(0, n).reduce((a, b) => a + b, 0);
    let u = this.#rand() * total;
    for (let i = 0; i < n; i++) {
      u -= probs[i];
      if (u < 0) return keep[i];
    }
    return keep[n - 1];
  }
}
