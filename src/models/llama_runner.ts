// The model runner (vLLM's GPUModelRunner in miniature): weights resident as device tensors, a
// paged KV cache, one compiled graph per token-count bucket (vLLM's cudagraph capture sizes),
// each split at the attention op into partitions recorded once and replayed every step. A step
// takes the new tokens of a few sequences, picks the smallest bucket that holds them, reserves
// cache blocks, builds the slot mapping, and uploads only ids, positions, slot mapping and
// sequence lengths; the block table and query_start_loc are device tensors rewritten only when
// they change.
import { compile, type CompiledGraph, type CompileMode } from "../compile.ts";
import { config } from "../config.ts";
import { ATTENTION_OP } from "../custom_ops/attention.ts";
import { InputError } from "../errors.ts";
import { writeBuffer } from "../runtime/buffers.ts";
import { getDevice } from "../runtime/device.ts";
import { type Tensor, tensor } from "../runtime/tensor.ts";
import { PagedKVCache } from "./kv_cache.ts";
import { type LlamaConfig, ropeTables } from "./llama_config.ts";
import { llamaStepFn, llamaStepSpecs, type StepShape } from "./llama_graph.ts";
import { placeholderName } from "./llama_weights.ts";

export interface RunnerOptions {
  /** Slots per cache block (vLLM's block_size; default 16). */
  blockSize?: number;
  /** Longest sequence (default: the config's max_position_embeddings). */
  maxModelLen?: number;
  /** Sequences one step may carry (default 1). */
  maxNumSeqs?: number;
  /** Cache blocks (default: enough for maxNumSeqs sequences of maxModelLen tokens). */
  numBlocks?: number;
  /** Token-count buckets compiled (vLLM's capture sizes; default 1, 4, 16, 64, 128). */
  captureSizes?: number[];
  /** KV cache dtype (default f32: activations are f32, so keys and values are stored exactly;
   * f16 halves the cache). */
  cacheDtype?: "f32" | "f16";
  /** Config overrides while compiling. */
  compileConfig?: Record<string, unknown>;
  /** compile()'s mode for every step graph (default "default"; "eager": one kernel per op, the
   * bench's `ours-eager`). */
  compileMode?: CompileMode;
  /** Called as graphs compile and prepare (progress). */
  onProgress?: (e: ProgressEvent) => void;
}

export interface ProgressEvent {
  phase: "compile" | "prepare";
  tokens: number;
  logits: "last" | "all";
}

/** One sequence's share of a step: its id and the tokens to append. */
export interface StepRequest {
  seq: number;
  tokens: readonly number[];
}

export const DEFAULT_CAPTURE_SIZES = [1, 4, 16, 64, 128];

export class LlamaRunner {
  readonly cache: PagedKVCache;
  readonly captureSizes: number[];
  readonly maxModelLen: number;
  readonly maxNumSeqs: number;
  #graphs = new Map<string, CompiledGraph>();
  #params: Record<string, Tensor>;
  #blockTable: Tensor;
  #btHost: Int32Array;
  #qsl: Tensor;
  #qslHost: Int32Array;
  #opts: RunnerOptions;
  #shape: Omit<StepShape, "tokens" | "logits">;
  #tail: Promise<void> = Promise.resolve();
  /** Bytes written to the block table and query_start_loc by the last step. */
  lastMetadataBytes = 0;

  constructor(
    readonly config: LlamaConfig,
    weights: Map<string, Tensor>,
    readonly weightDtype: "f32" | "f16",
    opts: RunnerOptions = {},
  ) {
    this.#opts = opts;
    const blockSize = opts.blockSize ?? 16;
    this.maxModelLen = opts.maxModelLen ?? config.maxPositions;
    if (this.maxModelLen > config.maxPositions) {
      throw new InputError(
        `maxModelLen ${this.maxModelLen} exceeds the model's max_position_embeddings ` +
          `${config.maxPositions}`,
      );
    }
    this.maxNumSeqs = opts.maxNumSeqs ?? 1;
    const maxBlocks = Math.ceil(this.maxModelLen / blockSize);
    const numBlocks = opts.numBlocks ?? maxBlocks * this.maxNumSeqs;
    const sizes = [...new Set(opts.captureSizes ?? DEFAULT_CAPTURE_SIZES)].sort((a, b) => a - b);
    if (!sizes.length || !sizes.every((s) => Number.isInteger(s) && s >= 1)) {
      throw new InputError(`captureSizes must be positive integers, got ${JSON.stringify(sizes)}`);
    }
    const cap = this.maxModelLen * this.maxNumSeqs;
    this.captureSizes = sizes.filter((s) => s <= cap);
    if (!this.captureSizes.length) this.captureSizes = [Math.min(sizes[0], cap)];
    const cacheDtype = opts.cacheDtype ?? "f32";
    this.#shape = {
      seqs: this.maxNumSeqs,
      maxBlocks,
      numBlocks,
      blockSize,
      weightDtype,
      cacheDtype,
      ropePositions: this.maxModelLen,
    };
    this.cache = new PagedKVCache({
      layers: config.numLayers,
      kvHeads: config.numKvHeads,
      headDim: config.headDim,
      blockSize,
      numBlocks,
      maxBlocksPerSeq: maxBlocks,
      dtype: cacheDtype,
    });
    const rope = ropeTables(config, this.maxModelLen);
    const D = config.headDim;
    this.#params = {
      rope_cos: tensor(rope.cos, [this.maxModelLen, D], { name: "rope_cos" }),
      rope_sin: tensor(rope.sin, [this.maxModelLen, D], { name: "rope_sin" }),
    };
    for (const [name, t] of weights) this.#params[placeholderName(name)] = t;
    this.#btHost = new Int32Array(this.maxNumSeqs * maxBlocks);
    this.#blockTable = tensor(this.#btHost.slice(), [this.maxNumSeqs, maxBlocks], {
      name: "block_table",
    });
    this.#qslHost = new Int32Array(this.maxNumSeqs + 1);
    this.#qsl = tensor(this.#qslHost.slice(), [this.maxNumSeqs + 1], { name: "query_start_loc" });
  }

  /** The largest bucket: a step carries at most this many tokens (longer prompts are chunked). */
  get maxTokensPerStep(): number {
    return this.captureSizes[this.captureSizes.length - 1];
  }

  /** The smallest bucket that holds `n` tokens. */
  bucketFor(n: number): number {
    const b = this.captureSizes.find((s) => s >= n);
    if (b === undefined) {
      throw new InputError(
        `a step of ${n} tokens exceeds the largest token bucket (${this.maxTokensPerStep})`,
      );
    }
    return b;
  }

  /** The compiled graph of bucket `tokens` (compiled on first use). */
  graph(tokens: number, logits: "last" | "all" = "last"): CompiledGraph {
    const key = `${tokens}/${logits}`;
    let g = this.#graphs.get(key);
    if (!g) {
      this.#opts.onProgress?.({ phase: "compile", tokens, logits });
      const shape: StepShape = { ...this.#shape, tokens, logits };
      const overrides: Record<string, unknown> = { ...this.#opts.compileConfig };
      // split at the attention op (patch B's config entry; absent when patch B is disabled)
      if (config.has("inductor.customShouldPartitionOps")) {
        overrides["inductor.customShouldPartitionOps"] ??= [ATTENTION_OP];
      }
      g = compile(llamaStepFn(this.config, shape), {
        inputs: llamaStepSpecs(this.config, shape),
        params: this.#params,
        config: overrides,
        mode: this.#opts.compileMode,
      });
      this.#graphs.set(key, g);
    }
    return g;
  }

  /** Compiles and prepares (pipelines, buffers) the given buckets ahead of the first step. */
  async warmup(buckets: number[] = this.captureSizes): Promise<void> {
    await getDevice();
    for (const b of buckets) {
      const g = this.graph(b);
      this.#opts.onProgress?.({ phase: "prepare", tokens: b, logits: "last" });
      await g.prepare();
    }
  }

  /** Runs one step: appends each request's tokens to its sequence and returns the logits, [S, V]
   * rows in request order ("last": each sequence's last new token) or [n, V] for every new
   * token ("all"). */
  step(reqs: readonly StepRequest[], logits: "last" | "all" = "last"): Promise<Float32Array> {
    // steps are serialised: each reads the cache lengths the previous one left
    const run = this.#tail.then(() => this.#step(reqs, logits));
    this.#tail = run.then(() => {}, () => {});
    return run;
  }

  async #step(reqs: readonly StepRequest[], logits: "last" | "all"): Promise<Float32Array> {
    if (!reqs.length || reqs.length > this.maxNumSeqs) {
      throw new InputError(
        `a step carries 1 to ${this.maxNumSeqs} sequence(s), got ${reqs.length}`,
      );
    }
    if (new Set(reqs.map((r) => r.seq)).size !== reqs.length) {
      throw new InputError(`a step lists a sequence twice`);
    }
    const total = reqs.reduce((a, r) => a + r.tokens.length, 0);
    const V = this.config.vocabSize;
    for (const r of reqs) {
      if (!r.tokens.length) throw new InputError(`sequence ${r.seq}: a step needs ≥ 1 token`);
      for (const id of r.tokens) {
        if (!Number.isInteger(id) || id < 0 || id >= V) {
          throw new InputError(
            `sequence ${r.seq}: token id ${id} is outside the vocabulary [0, ${V})`,
          );
        }
      }
    }
    const T = this.bucketFor(total);
    const g = this.graph(T, logits);
    const S = this.maxNumSeqs, mb = this.#shape.maxBlocks;
    // reserve first, all or nothing, so a refused step leaves the cache as it was
    const reserved: number[] = [];
    try {
      for (const r of reqs) {
        const len = this.cache.length(r.seq) + r.tokens.length;
        if (len > this.maxModelLen) {
          throw new InputError(
            `sequence ${r.seq} would be ${len} tokens long, past the context of ${this.maxModelLen}`,
          );
        }
        this.cache.reserve(r.seq, len);
        reserved.push(r.seq);
      }
    } catch (e) {
      for (const s of reserved) if (this.cache.length(s) === 0) this.cache.release(s);
      throw e;
    }
    const ids = new Int32Array(T), pos = new Int32Array(T), slots = new Int32Array(T).fill(-1);
    const seqLens = new Int32Array(S), qsl = new Int32Array(S + 1), bt = new Int32Array(S * mb);
    let t = 0;
    reqs.forEach((r, i) => {
      const start = this.cache.length(r.seq);
      qsl[i] = t;
      r.tokens.forEach((id, k) => {
        ids[t] = id;
        pos[t] = start + k;
        slots[t] = this.cache.slot(r.seq, start + k);
        t++;
      });
      seqLens[i] = start + r.tokens.length;
      this.cache.blocks(r.seq).forEach((b, j) => (bt[i * mb + j] = b));
    });
    for (let i = reqs.length; i <= S; i++) qsl[i] = t;
    const h = await getDevice();
    this.lastMetadataBytes = 0;
    for (
      const [host, next, dev] of [[this.#btHost, bt, this.#blockTable], [
        this.#qslHost,
        qsl,
        this.#qsl,
      ]] as const
    ) {
      let lo = 0, hi = next.length;
      while (lo < hi && host[lo] === next[lo]) lo++;
      while (hi > lo && host[hi - 1] === next[hi - 1]) hi--;
      if (lo === hi) continue;
      const buf = await dev.bufferOn(h, "runner");
      writeBuffer(h, buf, next.subarray(lo, hi), "i32", lo * 4);
      host.set(next.subarray(lo, hi), lo);
      this.lastMetadataBytes += (hi - lo) * 4;
    }
    const caches = this.cache.keys.flatMap((k, l) => [k, this.cache.values[l]]);
    const [out] = await g.run([ids, pos, slots, seqLens, this.#qsl, this.#blockTable, ...caches]);
    reqs.forEach((r) => this.cache.setLength(r.seq, this.cache.length(r.seq) + r.tokens.length));
    const rows = logits === "last" ? reqs.length : total;
    return (out as Float32Array).slice(0, rows * V);
  }

  /** Device-only milliseconds per replay of bucket `tokens` (after a real step of that bucket:
   * its inputs stay bound; replays rewrite the same cache slots). */
  async timeDevice(tokens: number, iterations = 10): Promise<number> {
    return await this.graph(tokens).timeDevice(iterations);
  }

  /** The compiled graphs so far, by "tokens/logits". */
  get graphs(): ReadonlyMap<string, CompiledGraph> {
    return this.#graphs;
  }

  /** Frees the graphs, the cache and the runner's own tensors (not the weights). */
  async dispose(): Promise<void> {
    for (const g of this.#graphs.values()) await g.disposeAsync();
    this.#graphs.clear();
    this.cache.dispose();
    this.#blockTable.dispose();
    this.#qsl.dispose();
    this.#params.rope_cos.dispose();
    this.#params.rope_sin.dispose();
  }
}
