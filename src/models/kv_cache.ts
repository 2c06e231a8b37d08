// A paged KV cache as vLLM's V1 engine keeps it: per layer a key and a value tensor of
// [num_blocks, block_size, kv_heads, head_size] on the device, blocks handed out from a free
// queue (vLLM's FreeKVCacheBlockQueue, without prefix caching), a block list per sequence. The
// token at position p of a sequence lives in slot block[p / block_size] * block_size +
// p % block_size. Running out of blocks, or past a sequence's block-table row, is an error:
// nothing is ever overwritten silently.
import type { DType } from "../dtype.ts";
import { InputError } from "../errors.ts";
import { type Tensor, zeros } from "../runtime/tensor.ts";

export interface KVCacheOptions {
  layers: number;
  kvHeads: number;
  headDim: number;
  blockSize: number;
  numBlocks: number;
  /** Blocks one sequence may hold (the block table's row length). */
  maxBlocksPerSeq: number;
  dtype: DType;
}

export class PagedKVCache {
  readonly keys: Tensor[] = [];
  readonly values: Tensor[] = [];
  readonly opts: KVCacheOptions;
  #free: number[];
  #blocks = new Map<number, number[]>();
  #lens = new Map<number, number>();

  constructor(opts: KVCacheOptions) {
    this.opts = opts;
    const shape = [opts.numBlocks, opts.blockSize, opts.kvHeads, opts.headDim];
    for (let l = 0; l < opts.layers; l++) {
      this.keys.push(zeros(shape, { dtype: opts.dtype, name: `key_cache_${l}` }));
      this.values.push(zeros(shape, { dtype: opts.dtype, name: `value_cache_${l}` }));
    }
    this.#free = [...Array(opts.numBlocks).keys()];
  }

  /** Tokens a sequence may hold (its block-table row). */
  get maxSeqLen(): number {
    return this.opts.maxBlocksPerSeq * this.opts.blockSize;
  }

  get freeBlocks(): number {
    return this.#free.length;
  }

  /** Tokens cached for `seq` (0 for a sequence never seen). */
  length(seq: number): number {
    return this.#lens.get(seq) ?? 0;
  }

  /** The blocks of `seq`, in position order. */
  blocks(seq: number): readonly number[] {
    return this.#blocks.get(seq) ?? [];
  }

  /** Makes room for `seq` to hold `len` tokens (allocating blocks) without changing its length;
   * throws, allocating nothing, when the cache or the block-table row is too small. */
  reserve(seq: number, len: number): void {
    const bs = this.opts.blockSize;
    if (len > this.maxSeqLen) {
      throw new InputError(
        `KV cache: sequence ${seq} would hold ${len} tokens, past its capacity of ` +
          `${this.maxSeqLen} (${this.opts.maxBlocksPerSeq} blocks of ${bs} slots)`,
      );
    }
    const have = this.#blocks.get(seq) ?? [];
    const need = Math.ceil(len / bs) - have.length;
    if (need <= 0) return;
    if (need > this.#free.length) {
      throw new InputError(
        `KV cache is full: sequence ${seq} needs ${need} more block(s) of ${bs} slots for ${len} ` +
          `tokens, ${this.#free.length} of ${this.opts.numBlocks} are free`,
      );
    }
    this.#blocks.set(seq, [...have, ...this.#free.splice(0, need)]);
  }

  /** Records that `seq` now holds `len` tokens (reserved before). */
  setLength(seq: number, len: number): void {
    const cap = (this.#blocks.get(seq)?.length ?? 0) * this.opts.blockSize;
    if (len > cap) {
      throw new InputError(`KV cache: sequence ${seq} has room for ${cap} tokens, not ${len}`);
    }
    this.#lens.set(seq, len);
  }

  /** The cache slot of position `pos` of `seq`. */
  slot(seq: number, pos: number): number {
    const bs = this.opts.blockSize;
    const b = this.#blocks.get(seq)?.[Math.floor(pos / bs)];
    if (b === undefined) {
      throw new InputError(`KV cache: position ${pos} of sequence ${seq} has no block`);
    }
    return b * bs + (pos % bs);
  }

  /** Returns a sequence's blocks to the free queue. */
  release(seq: number): void {
    const b = this.#blocks.get(seq);
    if (b) this.#free.push(...b);
    this.#blocks.delete(seq);
    this.#lens.delete(seq);
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t.dispose();
  }
}
