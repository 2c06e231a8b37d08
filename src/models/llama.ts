// A Llama-family language model run vLLM-style: `LlamaModel.create(config, weights)` uploads the
// weights once, `forward(ids, positions)` returns logits (tests), `generate(prompt, opts)` streams
// tokens (prefill in token-bucket chunks, then one decode step per token, sampled on the host).
import { InputError } from "../errors.ts";
import { getDevice } from "../runtime/device.ts";
import { type Tensor, tensor } from "../runtime/tensor.ts";
import type { LlamaConfig } from "./llama_config.ts";
import { LlamaRunner, type RunnerOptions } from "./llama_runner.ts";
import { checkLlamaWeights, llamaWeightShapes, type WeightSource } from "./llama_weights.ts";
import { Sampler, type SamplingOptions } from "./sampling.ts";
import { TextStream, type TextTokenizer } from "./text_stream.ts";

export interface ModelOptions extends RunnerOptions {
  /** Weight dtype on the device (default: the checkpoint's; f32 weights may be narrowed to f16
   * and back). */
  dtype?: "f32" | "f16";
}

export interface GenerateOptions extends SamplingOptions {
  /** Most new tokens (default 64). */
  maxTokens?: number;
  /** Strings that end generation (left out of the text, as vLLM does). */
  stop?: string[];
  /** Token ids that end generation, besides the config's eos ids. */
  stopTokenIds?: number[];
  /** Keep going past eos. */
  ignoreEos?: boolean;
  /** Called with every token as it is produced. */
  onToken?: (t: GeneratedToken) => void;
  /** Attach each step's logits to its token (tests). */
  logits?: boolean;
}

export interface GeneratedToken {
  id: number;
  /** Position among the new tokens. */
  index: number;
  /** The text this token completes ("" while a multi-byte character is incomplete). */
  text: string;
  /** The logits the token was chosen from (with `logits: true`). */
  logits?: Float32Array;
}

export interface GenerationResult {
  promptIds: number[];
  ids: number[];
  text: string;
  finishReason: "length" | "stop" | "eos" | "context";
  prefillMs: number;
  decodeMs: number;
  decodeSteps: number;
  prefillTokensPerS: number;
  decodeTokensPerS: number;
}

/** The sequence id `forward` uses; generations count up from 1. */
const FORWARD_SEQ = 0;

export class LlamaModel {
  readonly runner: LlamaRunner;
  /** The last finished (or stopped) generation. */
  lastGeneration: GenerationResult | null = null;
  #weights: Map<string, Tensor>;
  #nextSeq = FORWARD_SEQ + 1;

  private constructor(
    readonly config: LlamaConfig,
    readonly tokenizer: TextTokenizer | null,
    weights: Map<string, Tensor>,
    readonly weightDtype: "f32" | "f16",
    opts: RunnerOptions,
  ) {
    this.#weights = weights;
    this.runner = new LlamaRunner(config, weights, weightDtype, opts);
  }

  /** Checks the weights against the config and uploads them to the device. */
  static async create(
    config: LlamaConfig,
    weights: WeightSource,
    opts: ModelOptions & { tokenizer?: TextTokenizer | null; source?: string } = {},
  ): Promise<LlamaModel> {
    const first = weights instanceof Map
      ? weights.get("model.embed_tokens.weight")
      : weights["model.embed_tokens.weight"];
    const dtype = opts.dtype ?? (first?.data instanceof Float16Array ? "f16" : "f32");
    const host = checkLlamaWeights(config, weights, dtype, opts.source);
    await getDevice();
    const shapes = llamaWeightShapes(config);
    const dev = new Map<string, Tensor>();
    for (const [name, data] of host) dev.set(name, tensor(data, shapes.get(name)!, { name }));
    return new LlamaModel(config, opts.tokenizer ?? null, dev, dtype, opts);
  }

  /** Logits [n, vocab] of every token of `ids`, run as one sequence whose earlier positions are
   * in the cache: `positions` must continue it (they default to 0, 1, …, which starts afresh). */
  async forward(ids: readonly number[], positions?: readonly number[]): Promise<Float32Array> {
    const pos = positions ?? ids.map((_, i) => i);
    if (pos.length !== ids.length) {
      throw new InputError(`forward(): ${ids.length} ids but ${pos.length} positions`);
    }
    if (!ids.length) throw new InputError("forward(): no tokens");
    if (pos[0] === 0) this.runner.cache.release(FORWARD_SEQ);
    const have = this.runner.cache.length(FORWARD_SEQ);
    pos.forEach((p, i) => {
      if (p !== have + i) {
        throw new InputError(
          `forward(): positions must continue the sequence (${have} tokens cached), so ` +
            `position ${i} must be ${have + i}, got ${p}`,
        );
      }
    });
    if (have + ids.length > this.runner.maxModelLen) {
      throw new InputError(
        `forward(): the sequence would be ${have + ids.length} tokens long, past the context of ` +
          `${this.runner.maxModelLen}`,
      );
    }
    const V = this.config.vocabSize;
    const out = new Float32Array(ids.length * V);
    const chunk = this.runner.maxTokensPerStep;
    for (let i = 0; i < ids.length; i += chunk) {
      const part = ids.slice(i, i + chunk);
      out.set(await this.runner.step([{ seq: FORWARD_SEQ, tokens: part }], "all"), i * V);
    }
    return out;
  }

  /** Token ids of a prompt: a string goes through the tokenizer (with its special tokens). */
  encode(prompt: string | readonly number[]): number[] {
    if (typeof prompt !== "string") return [...prompt];
    if (!this.tokenizer) {
      throw new InputError(
        "generate(): a text prompt needs a tokenizer (this model has none: no tokenizer.json); " +
          "pass token ids instead",
      );
    }
    return this.tokenizer.encode(prompt, { addSpecial: true });
  }

  /** Streams new tokens for `prompt` (text or ids). Greedy at temperature 0. Ends at maxTokens, an
   * eos or stop token, a stop string, or the end of the context. */
  generate(
    prompt: string | readonly number[],
    opts: GenerateOptions = {},
  ): AsyncGenerator<GeneratedToken, GenerationResult> {
    // checked at the call, before any token is asked for
    const promptIds = this.encode(prompt);
    for (const id of promptIds) {
      if (!Number.isInteger(id) || id < 0 || id >= this.config.vocabSize) {
        throw new InputError(
          `generate(): prompt token ${id} is outside the vocabulary [0, ${this.config.vocabSize})`,
        );
      }
    }
    const maxTokens = opts.maxTokens ?? 64;
    if (!Number.isInteger(maxTokens) || maxTokens < 1) {
      throw new InputError(`maxTokens must be an integer ≥ 1, got ${opts.maxTokens}`);
    }
    if (!promptIds.length) throw new InputError("generate(): the prompt has no tokens");
    const ctx = this.runner.maxModelLen;
    if (promptIds.length >= ctx) {
      throw new InputError(
        `generate(): the prompt is ${promptIds.length} tokens, longer than the context allows ` +
          `(${ctx} tokens, including at least one generated token)`,
      );
    }
    return this.#generate(promptIds, maxTokens, new Sampler(opts), opts);
  }

  async *#generate(
    promptIds: number[],
    maxTokens: number,
    sampler: Sampler,
    opts: GenerateOptions,
  ): AsyncGenerator<GeneratedToken, GenerationResult> {
    const ctx = this.runner.maxModelLen;
    const stopIds = new Set([
      ...(opts.ignoreEos ? [] : this.config.eosTokenIds),
      ...(opts.stopTokenIds ?? []),
    ]);
    const text = new TextStream(this.tokenizer, opts.stop ?? []);
    const seq = this.#nextSeq++;
    const result: GenerationResult = {
      promptIds,
      ids: [],
      text: "",
      finishReason: "length",
      prefillMs: 0,
      decodeMs: 0,
      decodeSteps: 0,
      prefillTokensPerS: 0,
      decodeTokensPerS: 0,
    };
    try {
      let logits!: Float32Array;
      const chunk = this.runner.maxTokensPerStep;
      const t0 = performance.now();
      for (let i = 0; i < promptIds.length; i += chunk) {
        logits = await this.runner.step([{ seq, tokens: promptIds.slice(i, i + chunk) }]);
      }
      result.prefillMs = performance.now() - t0;
      for (let index = 0;; index++) {
        const id = sampler.sample(logits);
        result.ids.push(id);
        const piece = text.push(id);
        const finish: GenerationResult["finishReason"] | null = stopIds.has(id)
          ? "eos"
          : piece.stopped
          ? "stop"
          : result.ids.length >= maxTokens
          ? "length"
          : promptIds.length + result.ids.length >= ctx
          ? "context"
          : null;
        // the last token carries whatever text was held back
        const tok: GeneratedToken = { id, index, text: piece.text + (finish ? text.flush() : "") };
        if (opts.logits) tok.logits = logits;
        opts.onToken?.(tok);
        yield tok;
        if (finish) {
          result.finishReason = finish;
          break;
        }
        // decode time counts the steps only, not the consumer's work between tokens
        const t1 = performance.now();
        logits = await this.runner.step([{ seq, tokens: [id] }]);
        result.decodeMs += performance.now() - t1;
        result.decodeSteps++;
      }
      result.text = text.text;
    } finally {
      this.runner.cache.release(seq);
      result.prefillTokensPerS = result.prefillMs > 0
        ? promptIds.length / (result.prefillMs / 1000)
        : 0;
      result.decodeTokensPerS = result.decodeMs > 0 && result.decodeSteps > 0
        ? result.decodeSteps / (result.decodeMs / 1000)
        : 0;
      this.lastGeneration = result;
    }
    return result;
  }

  /** Kernel launches and partitions of the decode step's graph. */
  get decodeStats(): { kernels: number; partitions: number; replayablePartitions: number } {
    const s = this.runner.graph(this.runner.bucketFor(1)).stats;
    return {
      kernels: s.kernels,
      partitions: s.partitions,
      replayablePartitions: s.replayablePartitions,
    };
  }

  /** Frees the graphs, the cache and the weights. */
  async dispose(): Promise<void> {
    await this.runner.dispose();
    for (const t of this.#weights.values()) t.dispose();
  }
}
