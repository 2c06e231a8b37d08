// The LLM rows: `llm-prefill-128` (one 128-token prompt step) and `llm-decode` (one token per
// step after that prefill) of the bundled Llama (demo/tiny-llama), tokens/s, for ours (fused +
// replay, without replay, eager: loadLlama with compileConfig / compileMode) and tfjs-webgpu
// running the same model on the same weights (bench/peers/tfjs_llama.ts). Every system is timed
// by the same loop (`timeGreedy`): weights and KV cache resident on the device, each step host to
// host: the new token ids uploaded, the last token's logits read back, the next token chosen on
// the host by argmax (greedy). That readback + argmax is the host-to-host cost every system pays.
// Each system's prefill logits (every position) are checked against ours (fused) `forward`.
import { joinPath, readBytes, readText } from "../src/io/bytes.ts";
import { readSafetensors } from "../src/io/safetensors.ts";
import { parseLlamaConfig } from "../src/models/llama_config.ts";
import { loadLlama } from "../src/models/llama_load.ts";
import type { RunnerOptions } from "../src/models/llama_runner.ts";
import { countGPU, errMessage, median, now, relErr, type Row } from "./harness.ts";
import { type OurSystem, underRuntime } from "./ours.ts";
import { TfjsLlama } from "./peers/tfjs_llama.ts";
import type { PeerModule } from "./peers/types.ts";

export const LLM_PREFILL = "llm-prefill-128";
export const LLM_DECODE = "llm-decode";
export const LLM_WORKLOADS = [LLM_PREFILL, LLM_DECODE];
const PREFILL_TOKENS = 128;
const DECODE_STEPS = 16;
/** Max |logits - ours| / max |ours| over the prompt's positions for a row to be ok (f32 on both
 * sides; the order of summation differs). */
export const LLM_TOL = 1e-3;

/** `--only`: the LLM rows selected (names, or the family `llm`; all without `--only`). */
export function selectLlm(only: string[] | null): string[] {
  if (!only?.length) return LLM_WORKLOADS;
  return LLM_WORKLOADS.filter((n) => only.some((o) => n === o || n.startsWith(`${o}-`)));
}

/** Index of the largest logit; the first on ties and the first NaN, as torch.argmax. */
export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i])) return i;
    if (a[i] > a[best]) best = i;
  }
  return best;
}

/** The bench's prompt: 128 fixed token ids below `vocab`. */
export function llmPrompt(vocab: number, n = PREFILL_TOKENS): number[] {
  return Array.from({ length: n }, (_, i) => (i * 7 + 3) % vocab);
}

/** One sequence on a system: its steps append tokens and return the last token's logits. */
export interface LlmStepper {
  reset(): void;
  step(ids: readonly number[]): Promise<Float32Array>;
}

export interface GreedyTiming {
  /** Medians over the repetitions, host to host per step. */
  prefillMs: number;
  decodeMs: number;
  /** The greedy tokens of the last repetition (prefill's, then each decode step's). */
  tokens: number[];
  reps: number;
}

/** Warm-ups, then `repeats` x (reset, prefill `prompt`, `steps` greedy decode steps); each step
 * timed from its ids to the next token on the host (logits read back, argmax). */
export async function timeGreedy(
  s: LlmStepper,
  prompt: readonly number[],
  steps: number,
  repeats: number,
  warmups = 1,
): Promise<GreedyTiming> {
  const pre: number[] = [], dec: number[] = [];
  let tokens: number[] = [];
  for (let r = 0; r < warmups + repeats; r++) {
    s.reset();
    const toks: number[] = [];
    let t = now();
    toks.push(argmax(await s.step(prompt)));
    const p = now() - t;
    const d: number[] = [];
    for (let i = 0; i < steps; i++) {
      t = now();
      toks.push(argmax(await s.step([toks[toks.length - 1]])));
      d.push(now() - t);
    }
    if (r < warmups) continue;
    pre.push(p);
    dec.push(...d);
    tokens = toks;
  }
  s.reset();
  return { prefillMs: median(pre), decodeMs: median(dec), tokens, reps: repeats };
}

/** Dispatches and submits of one prefill step and one decode step after it (counted through
 * the WebGPU prototypes, the same for every system); the sequence is reset afterwards. */
export async function countSteps(
  s: LlmStepper,
  prompt: readonly number[],
): Promise<[Partial<Row>, Partial<Row>]> {
  s.reset();
  const pre = await countGPU(() => s.step(prompt));
  const dec = await countGPU(() => s.step([prompt[0]]));
  s.reset();
  return [pre ?? {}, dec ?? {}];
}

/** The two rows of one system from its timing (tokens/s = tokens per step / step time). */
export function llmRows(
  system: string,
  t: GreedyTiming,
  promptTokens: number,
  extra: Partial<Row> = {},
): Row[] {
  const row = (workload: string, ms: number, tokens: number): Row => ({
    workload,
    system,
    median_ms: ms,
    tokens_per_s: ms > 0 ? tokens / (ms / 1000) : undefined,
    reps: t.reps,
    ok: true,
    ...extra,
  });
  return [row(LLM_PREFILL, t.prefillMs, promptTokens), row(LLM_DECODE, t.decodeMs, 1)];
}

export interface LlmOptions {
  /** The model folder (path in Deno). */
  dir: string | URL;
  quick: boolean;
  /** Which of ours run. */
  ours: OurSystem[];
  /** tfjs with the webgpu backend ready, or why it cannot run; null: not selected. */
  tfjs: PeerModule | { error: string } | null;
  /** Rows selected (selectLlm). */
  workloads: string[];
  log: (line: string) => void;
  guard: <X>(p: Promise<X>, what: string) => Promise<X>;
}

const OUR_SETTINGS: Record<OurSystem, Pick<RunnerOptions, "compileMode" | "compileConfig">> = {
  "ours": {},
  "ours-noreplay": { compileConfig: { "inductor.replay": false } },
  "ours-eager": { compileMode: "eager" },
  "ours-plainread": {}, // run under its runtime config (bench/ours.ts underRuntime)
};

/** Every selected system's LLM rows; the reference is ours (fused) `forward` of the prompt. */
export async function runLlm(o: LlmOptions): Promise<Row[]> {
  if (!o.workloads.length) return [];
  const steps = DECODE_STEPS, repeats = o.quick ? 1 : 3;
  // cold start of the step graphs, before anything else compiles them: load (weights to the
  // device) + compile + prepare of the prefill and decode buckets, then the same again (compile
  // cache and pipeline cache hits); on ours' rows as compile cold/warm
  const startup: Partial<Row> = {};
  if (o.ours.includes("ours")) {
    for (const key of ["compile_cold_ms", "compile_warm_ms"] as const) {
      const t = now();
      const m = await loadLlama(o.dir, { warmup: [PREFILL_TOKENS, 1] });
      startup[key] = now() - t;
      await m.dispose();
    }
    o.log(
      `llm: load + compile + prepare (buckets ${PREFILL_TOKENS} and 1): cold ` +
        `${startup.compile_cold_ms!.toFixed(0)} ms, warm ${startup.compile_warm_ms!.toFixed(0)} ms`,
    );
  }
  const tr = now();
  const refModel = await loadLlama(o.dir, { warmup: false });
  const V = refModel.config.vocabSize;
  const prompt = llmPrompt(V);
  let ref: Float32Array;
  try {
    ref = await refModel.forward(prompt);
  } finally {
    await refModel.dispose();
  }
  o.log(`llm: reference (ours forward, ${prompt.length} tokens) ${(now() - tr).toFixed(0)} ms`);
  const rows: Row[] = [];
  let refTokens: number[] | null = null;
  const check = (t: GreedyTiming, logits: Float32Array) => {
    const err = relErr(logits, ref, null, ref.length);
    const ok = err <= LLM_TOL;
    refTokens ??= t.tokens;
    const same = t.tokens.every((x, i) => x === refTokens![i]);
    const note = ok
      ? (same ? undefined : "greedy tokens differ from the first system's (a near tie?)")
      : `prefill logits off by ${err.toExponential(1)} (tolerance ${LLM_TOL})`;
    return { err, ok, note };
  };
  const fail = (system: string, e: unknown) =>
    LLM_WORKLOADS.map((workload) => ({
      workload,
      system,
      median_ms: NaN,
      ok: false,
      note: errMessage(e),
    }));
  for (const system of o.ours) {
    const r = await o.guard(
      underRuntime(system, () => runOursLlm(system, o.dir, prompt, steps, repeats)),
      system,
    ).then(
      ({ t, logits, counts }) =>
        withCounts(
          llmRows(system, t, prompt.length, {
            ...check(t, logits),
            ...(system === "ours" ? startup : {}),
          }),
          counts,
        ),
      (e) => fail(system, e),
    );
    rows.push(...r);
  }
  if (o.tfjs && "error" in o.tfjs) rows.push(...fail("tfjs-webgpu", o.tfjs.error));
  else if (o.tfjs) {
    const tf = o.tfjs;
    const r = await o.guard(runTfjsLlm(tf, o.dir, prompt, steps, repeats), "tfjs-webgpu").then(
      ({ t, logits, counts }) =>
        withCounts(llmRows("tfjs-webgpu", t, prompt.length, check(t, logits)), counts),
      (e) => fail("tfjs-webgpu", e),
    );
    rows.push(...r);
  }
  for (const r of rows) {
    o.log(
      `  ${r.workload} ${r.system}: ${r.median_ms.toFixed(2)} ms/step, ` +
        `${r.tokens_per_s?.toFixed(0) ?? "-"} tokens/s${r.ok ? "" : ` FAIL ${r.note}`}`,
    );
  }
  // grouped by workload, systems in run order (the table groups rows by workload)
  return o.workloads.flatMap((w) => rows.filter((r) => r.workload === w));
}

function withCounts(rows: Row[], counts: Partial<Row>[]): Row[] {
  return rows.map((r, i) => ({ ...r, ...counts[i] }));
}

async function runOursLlm(
  system: OurSystem,
  dir: string | URL,
  prompt: number[],
  steps: number,
  repeats: number,
): Promise<{ t: GreedyTiming; logits: Float32Array; counts: Partial<Row>[] }> {
  const model = await loadLlama(dir, { ...OUR_SETTINGS[system], warmup: [prompt.length, 1] });
  try {
    const r = model.runner;
    const seq = -1; // never used by forward() or generate()
    const stepper: LlmStepper = {
      reset: () => r.cache.release(seq),
      step: (ids) => r.step([{ seq, tokens: ids }]),
    };
    const t = await timeGreedy(stepper, prompt, steps, repeats);
    const counts = await countSteps(stepper, prompt);
    const logits = await model.forward(prompt);
    return { t, logits, counts };
  } finally {
    await model.dispose();
  }
}

async function runTfjsLlm(
  tf: PeerModule,
  dir: string | URL,
  prompt: number[],
  steps: number,
  repeats: number,
): Promise<{ t: GreedyTiming; logits: Float32Array; counts: Partial<Row>[] }> {
  const cfgFile = joinPath(dir, "config.json"), wFile = joinPath(dir, "model.safetensors");
  const config = parseLlamaConfig(JSON.parse(await readText(cfgFile)), String(cfgFile));
  const host = readSafetensors(await readBytes(wFile), { source: String(wFile) });
  const weights = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const [name, h] of Object.entries(host)) {
    if (!(h.data instanceof Float32Array)) {
      throw new Error(`tfjs llama: ${name} is ${h.dtype}, the peer reads f32 checkpoints`);
    }
    weights.set(name, { data: h.data, shape: h.shape });
  }
  const m = new TfjsLlama(tf, config, weights);
  try {
    const stepper: LlmStepper = { reset: () => m.reset(), step: (ids) => m.step(ids) };
    const t = await timeGreedy(stepper, prompt, steps, repeats);
    const counts = await countSteps(stepper, prompt);
    const logits = await m.step(prompt, true);
    return { t, logits, counts };
  } finally {
    m.dispose();
  }
}
