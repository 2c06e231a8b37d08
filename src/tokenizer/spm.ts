// SentencePiece-style BPE by piece scores (llama.cpp llm_tokenizer_spm_session, after
// sentencepiece bpe_model.cc): start from single characters and repeatedly merge the adjacent
// pair whose concatenation is a vocabulary piece with the highest score (leftmost on ties).
// Symbols that end up outside the vocabulary are spelled as <0xNN> byte tokens, or the unknown
// token when the vocabulary has no byte tokens.
import { InputError } from "../errors.ts";
import { MinHeap } from "./heap.ts";
import { SymbolChain } from "./symbol_chain.ts";

export interface SPMOptions {
  tokenToId: ReadonlyMap<string, number>;
  scores: ArrayLike<number>;
  /** Whether a piece may be produced by merging (sentencepiece merges normal pieces only). */
  mergeable: (id: number) => boolean;
  unkId: number | null;
  where: string;
}

interface Candidate {
  score: number;
  left: number;
  right: number;
  /** UTF-16 length of the merged text: a mismatch on pop means a side changed meanwhile. */
  size: number;
}

const utf8 = new TextEncoder();

export class SPMModel {
  readonly #byteIds: Int32Array;

  constructor(readonly opts: SPMOptions) {
    this.#byteIds = new Int32Array(256);
    for (let b = 0; b < 256; b++) {
      const hex = b.toString(16).toUpperCase().padStart(2, "0");
      this.#byteIds[b] = opts.tokenToId.get(`<0x${hex}>`) ?? -1;
    }
  }

  /** Appends the ids of `text` (already space-escaped) to `out`. */
  tokenize(text: string, out: number[]): void {
    const { tokenToId, scores, mergeable } = this.opts;
    const start: number[] = [];
    const len: number[] = [];
    for (let i = 0; i < text.length;) {
      const w = text.codePointAt(i)! > 0xffff ? 2 : 1;
      start.push(i);
      len.push(w);
      i += w;
    }
    const n = start.length;
    const chain = new SymbolChain(n);
    const { next, prev } = chain;
    const heap = new MinHeap<Candidate>((a, b) =>
      a.score > b.score || (a.score === b.score && a.left < b.left)
    );
    const consider = (l: number, r: number) => {
      if (l < 0 || r < 0) return;
      const size = len[l] + len[r];
      const id = tokenToId.get(text.slice(start[l], start[l] + size));
      if (id === undefined || !mergeable(id)) return;
      heap.push({ score: scores[id], left: l, right: r, size });
    };
    for (let i = 0; i + 1 < n; i++) consider(i, i + 1);
    for (let c = heap.pop(); c; c = heap.pop()) {
      const { left, right } = c;
      if (len[left] === 0 || len[right] === 0 || len[left] + len[right] !== c.size) continue;
      len[left] += len[right];
      len[right] = 0;
      chain.absorb(left, right);
      consider(prev[left], left);
      consider(left, next[left]);
    }
    for (let i = n > 0 ? 0 : -1; i >= 0; i = next[i]) {
      const piece = text.slice(start[i], start[i] + len[i]);
      const id = tokenToId.get(piece);
      if (id !== undefined) out.push(id);
      else this.#spellBytes(piece, out);
    }
  }

  #spellBytes(piece: string, out: number[]): void {
    for (const b of utf8.encode(piece)) {
      const id = this.#byteIds[b] >= 0 ? this.#byteIds[b] : this.opts.unkId;
      if (id === null) {
        throw new InputError(
          `${this.opts.where}: ${JSON.stringify(piece)} has no token, and the vocabulary has ` +
            `neither a <0x${b.toString(16).toUpperCase().padStart(2, "0")}> byte token nor an ` +
            `unknown token`,
        );
      }
      out.push(id);
      if (this.#byteIds[b] < 0) return; // one unknown token for the whole piece
    }
  }
}
