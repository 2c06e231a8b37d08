// `deno task generate`: load a Hugging Face Llama folder (default: the bundled demo/tiny-llama),
// compile its step graphs, and stream generated text. Progress goes to stderr, text to stdout.
//
//   deno task generate --prompt "Q: Why" --max-tokens 48 --temperature 0
//   deno task generate --model DIR --temperature 0.8 --top-p 0.95 --seed 1 --json
//
// --json prints one JSON object instead of the text: prompt_ids, ids, text,
// prefill_tokens_per_s, decode_tokens_per_s, kernels_per_step, partitions.
import { getDevice, loadLlama, type LoadProgress } from "../src/mod.ts";

export const DEFAULT_MODEL = new URL("./tiny-llama/", import.meta.url).pathname;
export const DEFAULT_PROMPT = "The secret of a happy life is";

export interface GenerateArgs {
  model: string;
  prompt: string;
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number | undefined;
  json: boolean;
}

const USAGE = `usage: deno task generate [--model DIR] [--prompt TEXT] [--max-tokens N]
  [--temperature T (0 = greedy)] [--top-k K] [--top-p P] [--seed S] [--json]`;

/** Parses the command line (`--key value` or `--key=value`); throws with the usage on errors. */
export function parseArgs(argv: string[]): GenerateArgs {
  const a: GenerateArgs = {
    model: DEFAULT_MODEL,
    prompt: DEFAULT_PROMPT,
    maxTokens: 48,
    temperature: 0,
    topK: 0,
    topP: 1,
    seed: undefined,
    json: false,
  };
  const num = (k: string, v: string | undefined, int: boolean): number => {
    const n = Number(v);
    if (v === undefined || v === "" || !Number.isFinite(n) || (int && !Number.isInteger(n))) {
      throw new Error(`--${k} needs ${int ? "an integer" : "a number"}, got ${v}\n${USAGE}`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    let [k, v] = argv[i].split(/=(.*)/s, 2) as [string, string | undefined];
    if (!k.startsWith("--")) throw new Error(`unexpected argument '${argv[i]}'\n${USAGE}`);
    k = k.slice(2);
    if (k === "json") {
      a.json = true;
      continue;
    }
    if (k === "help") throw new Error(USAGE);
    if (v === undefined) v = argv[++i];
    switch (k) {
      case "model":
        a.model = v ?? "";
        break;
      case "prompt":
        a.prompt = v ?? "";
        break;
      case "max-tokens":
        a.maxTokens = num(k, v, true);
        break;
      case "temperature":
        a.temperature = num(k, v, false);
        break;
      case "top-k":
        a.topK = num(k, v, true);
        break;
      case "top-p":
        a.topP = num(k, v, false);
        break;
      case "seed":
        a.seed = num(k, v, true);
        break;
      default:
        throw new Error(`unknown option --${k}\n${USAGE}`);
    }
  }
  return a;
}

/** One line of progress for stderr. */
export function describeProgress(p: LoadProgress): string {
  const mb = (n: number) => (n / 1e6).toFixed(1);
  switch (p.phase) {
    case "download":
      return `reading ${p.file}: ${mb(p.loaded)}${p.total ? ` / ${mb(p.total)}` : ""} MB`;
    case "upload":
      return `weights on the GPU (${p.tensors} tensors)`;
    case "compile":
      return `compiling the ${p.tokens}-token step (${p.done + 1}/${p.total})`;
    case "prepare":
      return `kernels ready for the ${p.tokens}-token step (${p.done}/${p.total})`;
    case "ready":
      return "ready";
  }
}

async function main(): Promise<void> {
  let args: GenerateArgs;
  try {
    args = parseArgs(Deno.args);
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(2);
  }
  const enc = new TextEncoder();
  const err = (s: string) => Deno.stderr.writeSync(enc.encode(s));
  const h = await getDevice();
  err(`adapter: ${h.info}\n`);
  const tty = Deno.stderr.isTerminal();
  let shown = -1;
  const model = await loadLlama(args.model, {
    onLoadProgress: (p) => {
      if (tty) return err(`\r\x1b[K${describeProgress(p)}`);
      // without a terminal: a line per quarter of a download
      if (p.phase === "download") {
        const q = p.total ? Math.floor((4 * p.loaded) / p.total) : 0;
        if (q === shown) return;
        shown = q;
      }
      err(`${describeProgress(p)}\n`);
    },
  });
  if (tty) err("\n");
  const promptIds = model.encode(args.prompt);
  // generate() checks the prompt and options at the call, before anything runs or is printed
  const gen = model.generate(promptIds, {
    maxTokens: args.maxTokens,
    temperature: args.temperature,
    topK: args.topK,
    topP: args.topP,
    seed: args.seed,
  });
  // compile the prompt's bucket before its step is timed
  await model.runner.warmup([
    model.runner.bucketFor(Math.min(promptIds.length, model.runner.maxTokensPerStep)),
  ]);
  if (!args.json) Deno.stdout.writeSync(enc.encode(args.prompt));
  for await (const t of gen) {
    if (!args.json) Deno.stdout.writeSync(enc.encode(t.text));
  }
  const r = model.lastGeneration!;
  const s = model.decodeStats;
  if (args.json) {
    console.log(JSON.stringify({
      prompt_ids: r.promptIds,
      ids: r.ids,
      text: r.text,
      prefill_tokens_per_s: round(r.prefillTokensPerS),
      decode_tokens_per_s: round(r.decodeTokensPerS),
      kernels_per_step: s.kernels,
      partitions: s.partitions,
    }));
  } else {
    console.log();
    err(
      `prefill: ${r.promptIds.length} tokens in ${r.prefillMs.toFixed(1)} ms ` +
        `(${round(r.prefillTokensPerS)} tokens/s); decode: ${r.decodeSteps} steps, ` +
        `${round(r.decodeTokensPerS)} tokens/s; kernels per decode step: ${s.kernels}; ` +
        `partitions: ${s.partitions} (${s.replayablePartitions} replayed); finish: ` +
        `${r.finishReason}\n`,
    );
  }
  await model.dispose();
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error(`${(e as Error).name}: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
