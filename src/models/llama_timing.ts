// Step timings for benchmarks (llm-prefill-N / llm-decode rows): weights and cache resident,
// graphs compiled and prepared first, each step timed host to host (inputs uploaded, logits read
// back) and device-only (the recorded launches replayed, no uploads or readbacks).
import { InputError } from "../errors.ts";
import type { LlamaModel } from "./llama.ts";

export interface StepTimingOptions {
  /** Prompt tokens of the prefill step (one bucket: at most the largest; default 128 or less). */
  prefillTokens?: number;
  /** Decode steps timed after each prefill (default 16). */
  decodeSteps?: number;
  /** Prefills timed (default 3). */
  repeats?: number;
  /** Replays per device-only measurement (default 10). */
  replays?: number;
}

export interface StepTimings {
  prefillTokens: number;
  /** The token bucket the prefill ran in. */
  prefillBucket: number;
  /** Medians, host to host. */
  prefillMs: number;
  decodeMs: number;
  /** Device-only milliseconds per replay of the prefill and decode graphs. */
  prefillDeviceMs: number;
  decodeDeviceMs: number;
  prefillTokensPerS: number;
  decodeTokensPerS: number;
  kernelsPerDecodeStep: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Times prefill and decode steps of `model` on a scratch sequence (released afterwards). */
export async function timeLlamaSteps(
  model: LlamaModel,
  opts: StepTimingOptions = {},
): Promise<StepTimings> {
  const r = model.runner;
  const n = opts.prefillTokens ?? Math.min(128, r.maxTokensPerStep, r.maxModelLen - 1);
  const steps = opts.decodeSteps ?? 16;
  if (n > r.maxTokensPerStep || n + steps > r.maxModelLen) {
    throw new InputError(
      `timeLlamaSteps: ${n} prefill tokens + ${steps} decode steps do not fit one bucket ` +
        `(≤ ${r.maxTokensPerStep}) and the context (${r.maxModelLen})`,
    );
  }
  const V = model.config.vocabSize;
  const ids = Array.from({ length: n }, (_, i) => (i * 7 + 3) % V);
  const bucket = r.bucketFor(n), one = r.bucketFor(1);
  await r.warmup([bucket, one]);
  const seq = -1; // never used by forward() or generate()
  const pre: number[] = [], dec: number[] = [];
  try {
    for (let k = 0; k < (opts.repeats ?? 3); k++) {
      r.cache.release(seq);
      let t = performance.now();
      await r.step([{ seq, tokens: ids }]);
      pre.push(performance.now() - t);
      for (let i = 0; i < steps; i++) {
        t = performance.now();
        await r.step([{ seq, tokens: [(i * 5 + 1) % V] }]);
        dec.push(performance.now() - t);
      }
    }
    // a replay reuses the inputs bound by the graph's last step, and the block table and
    // query_start_loc as they are now: replay each graph right after a real step of it
    const replays = opts.replays ?? 10;
    r.cache.release(seq);
    await r.step([{ seq, tokens: ids }]);
    const prefillDeviceMs = await r.timeDevice(bucket, replays);
    await r.step([{ seq, tokens: [1] }]);
    const decodeDeviceMs = await r.timeDevice(one, replays);
    const prefillMs = median(pre), decodeMs = median(dec);
    return {
      prefillTokens: n,
      prefillBucket: bucket,
      prefillMs,
      decodeMs,
      prefillDeviceMs,
      decodeDeviceMs,
      prefillTokensPerS: n / (prefillMs / 1000),
      decodeTokensPerS: 1000 / decodeMs,
      kernelsPerDecodeStep: r.graph(one).stats.kernels,
    };
  } finally {
    r.cache.release(seq);
  }
}
