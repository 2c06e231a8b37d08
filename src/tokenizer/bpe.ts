// Rank-ordered BPE over one pre-tokenized word (huggingface/tokenizers models/bpe/word.rs
// `merge_all`, llama.cpp llm_tokenizer_bpe_session::tokenize): start from single characters and
// repeatedly merge the adjacent pair with the lowest merge rank (leftmost first on ties) until no
// listed merge applies. Characters missing from the vocabulary become <0xNN> byte tokens
// (byte_fallback) or the unknown token (consecutive ones fused with fuse_unk).
import { InputError } from "../errors.ts";
import { MinHeap } from "./heap.ts";
import { SymbolChain } from "./symbol_chain.ts";

export interface BPEOptions {
  vocab: ReadonlyMap<string, number>;
  /** Merges as "left right" strings (GGUF, tokenizer.json) or [left, right] pairs; rank = index. */
  merges: ReadonlyArray<string | readonly [string, string]>;
  unkId: number | null;
  fuseUnk: boolean;
  byteFallback: boolean;
  /** Emit a word that is already a token as-is, without merging (Llama-3). */
  ignoreMerges: boolean;
  continuingSubwordPrefix: string | null;
  endOfWordSuffix: string | null;
  /** Check at load that every merge names known tokens (tokenizer.json, as tokenizers does). */
  strictMerges: boolean;
  /** Names the source in errors ("tokenizer.json", "GGUF"). */
  where: string;
}

const CACHE_LIMIT = 20000;
const utf8 = new TextEncoder();
const CACHE_MAX_WORD = 64;

interface Candidate {
  rank: number;
  pos: number;
  /** The pair's ids when pushed; a mismatch on pop means a side changed meanwhile. */
  left: number;
  right: number;
}

export class BPEModel {
  readonly #vocab: ReadonlyMap<string, number>;
  readonly #tokens: string[] = [];
  /** "left right" -> rank. Keyed by text so loading does not split 10^5 merge strings. */
  readonly #rank = new Map<string, number>();
  /** Result id per rank, looked up on first use (-2 = not yet, -1 = not in the vocabulary). */
  readonly #mergedId: Int32Array;
  readonly #byteIds: Int32Array | null = null;
  readonly #cache = new Map<string, number[]>();
  readonly #prefixLen: number;

  constructor(readonly opts: BPEOptions) {
    this.#vocab = opts.vocab;
    for (const [tok, id] of opts.vocab) this.#tokens[id] = tok;
    this.#prefixLen = opts.continuingSubwordPrefix?.length ?? 0;
    this.#mergedId = new Int32Array(opts.merges.length).fill(-2);
    if (opts.strictMerges) opts.merges.forEach((m, rank) => this.#check(m, rank));
    // backwards with plain sets: a merge listed twice keeps its first (lowest) rank, as llama.cpp
    for (let rank = opts.merges.length - 1; rank >= 0; rank--) {
      const m = opts.merges[rank];
      this.#rank.set(typeof m === "string" ? m : `${m[0]} ${m[1]}`, rank);
    }
    if (opts.byteFallback) {
      const ids = new Int32Array(256);
      for (let b = 0; b < 256; b++) {
        const hex = b.toString(16).toUpperCase().padStart(2, "0");
        ids[b] = opts.vocab.get(`<0x${hex}>`) ?? -1;
      }
      if (ids.every((x) => x >= 0)) this.#byteIds = ids;
    }
  }

  #check(m: string | readonly [string, string], rank: number): void {
    let a: string, b: string;
    if (typeof m === "string") {
      const sp = m.indexOf(" ", 1);
      if (sp < 0) {
        throw new InputError(
          `${this.opts.where}: merge #${rank} ${JSON.stringify(m)} is not "left right"`,
        );
      }
      [a, b] = [m.slice(0, sp), m.slice(sp + 1)];
    } else [a, b] = m;
    const merged = a + b.slice(this.#prefixLen);
    for (const part of [a, b, merged]) {
      if (!this.#vocab.has(part)) {
        throw new InputError(
          `${this.opts.where}: merge #${rank} ${JSON.stringify(`${a} ${b}`)} references ` +
            `${JSON.stringify(part)}, which is not in the vocabulary`,
        );
      }
    }
  }

  /** Rank of merging ids a and b, or -1 when no usable merge exists. */
  #pairRank(a: number, b: number): number {
    const ta = this.#tokens[a];
    const tb = this.#tokens[b];
    if (ta === undefined || tb === undefined) return -1;
    const rank = this.#rank.get(ta + " " + tb);
    if (rank === undefined) return -1;
    if (this.#mergedId[rank] === -2) {
      this.#mergedId[rank] = this.#vocab.get(ta + tb.slice(this.#prefixLen)) ?? -1;
    }
    return this.#mergedId[rank] >= 0 ? rank : -1;
  }
  /** Appends the ids of `word` to `out`. */
  tokenize(word: string, out: number[]): void {
    if (this.opts.ignoreMerges) {
      const id = this.#vocab.get(word);
      if (id !== undefined) {
        out.push(id);
        return;
      }
    }
    const cached = this.#cache.get(word);
    if (cached) {
      for (const id of cached) out.push(id);
      return;
    }
    const ids = this.#merge(this.#initialSymbols(word));
    if (word.length <= CACHE_MAX_WORD) {
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
      this.#cache.set(word, ids);
    }
    for (const id of ids) out.push(id);
  }

  #initialSymbols(word: string): number[] {
    const { continuingSubwordPrefix: prefix, endOfWordSuffix: suffix, unkId, fuseUnk } = this.opts;
    const chars = Array.from(word);
    const ids: number[] = [];
    let lastWasUnk = false;
    chars.forEach((ch, i) => {
      let s = i > 0 && prefix ? prefix + ch : ch;
      if (i === chars.length - 1 && suffix) s += suffix;
      const id = this.#vocab.get(s);
      if (id !== undefined) {
        ids.push(id);
        lastWasUnk = false;
        return;
      }
      if (this.#byteIds) {
        for (const b of utf8.encode(ch)) ids.push(this.#byteIds[b]);
        lastWasUnk = false;
        return;
      }
      if (unkId === null) {
        const cp = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
        throw new InputError(
          `${this.opts.where}: character ${JSON.stringify(ch)} (U+${cp}) has no token, and the ` +
            `model has neither an unknown token nor byte fallback`,
        );
      }
      if (!(fuseUnk && lastWasUnk)) ids.push(unkId);
      lastWasUnk = true;
    });
    return ids;
  }

  #merge(ids: number[]): number[] {
    const n = ids.length;
    if (n < 2) return ids;
    const chain = new SymbolChain(n);
    const { next, prev } = chain;
    const heap = new MinHeap<Candidate>((a, b) =>
      a.rank < b.rank || (a.rank === b.rank && a.pos < b.pos)
    );
    const consider = (l: number) => {
      if (l < 0) return;
      const r = next[l];
      if (r < 0) return;
      const rank = this.#pairRank(ids[l], ids[r]);
      if (rank >= 0) heap.push({ rank, pos: l, left: ids[l], right: ids[r] });
    };
    for (let i = 0; i + 1 < n; i++) consider(i);
    for (let c = heap.pop(); c; c = heap.pop()) {
      const l = c.pos;
      const r = next[l];
      // stale entry: the left symbol was absorbed, or a side was merged since it was pushed
      if (r < 0 || ids[l] !== c.left || ids[r] !== c.right) continue;
      ids[l] = this.#mergedId[c.rank];
      ids[r] = -1;
      chain.absorb(l, r);
      consider(prev[l]);
      consider(l);
    }
    return ids.filter((id) => id >= 0);
  }
}
