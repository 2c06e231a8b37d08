// Incremental detokenization for streaming (vLLM's detokenizer, HF's TextStreamer): each token's
// text is emitted as soon as it is complete — held back while it ends in an incomplete UTF-8
// character or while its end could be the start of a stop string — and the text is cut at the
// first stop string. Special tokens (eos, …) are left out of the text, as vLLM does by default.

/** A streaming decoder: `push` returns newly completed text, `flush` the rest. */
export interface TextDecodeStream {
  push(ids: number | readonly number[]): string;
  flush(): string;
}

/** What generation needs of a tokenizer (`Tokenizer` from src/tokenizer fits). */
export interface TextTokenizer {
  encode(text: string, opts?: { addSpecial?: boolean }): number[];
  decode(ids: readonly number[], opts?: { skipSpecial?: boolean }): string;
  decodeStream?(opts?: { skipSpecial?: boolean }): TextDecodeStream;
}

export class TextStream {
  #ids: number[] = [];
  #stream: TextDecodeStream | null;
  /** All text decoded so far (cut at a stop string once one is seen). */
  #full = "";
  #emitted = 0;
  #stopped = false;

  constructor(readonly tokenizer: TextTokenizer | null, readonly stop: readonly string[] = []) {
    this.#stream = tokenizer?.decodeStream?.({ skipSpecial: true }) ?? null;
  }

  /** The text so far (without a stop string and what follows it). */
  get text(): string {
    return this.#full;
  }

  /** Adds a token; returns the new text it completes and whether a stop string appeared. */
  push(id: number): { text: string; stopped: boolean } {
    if (!this.tokenizer || this.#stopped) return { text: "", stopped: this.#stopped };
    if (this.#stream) this.#full += this.#stream.push(id);
    else {
      this.#ids.push(id);
      const all = this.tokenizer.decode(this.#ids, { skipSpecial: true });
      // an incomplete character decodes to U+FFFD: wait for its other bytes
      if (all.endsWith("\uFFFD")) return { text: "", stopped: false };
      this.#full = all;
    }
    for (const s of this.stop) {
      if (!s) continue;
      // a stop string may straddle the text emitted already and the new piece
      const at = this.#full.indexOf(s, Math.max(0, this.#emitted - s.length + 1));
      if (at >= 0) {
        this.#full = this.#full.slice(0, at);
        this.#stopped = true;
      }
    }
    // hold back an ending that may grow into a stop string
    const upTo = this.#stopped ? this.#full.length : this.#full.length - this.#stopPrefix();
    const piece = upTo > this.#emitted ? this.#full.slice(this.#emitted, upTo) : "";
    this.#emitted = Math.max(this.#emitted, upTo);
    return { text: piece, stopped: this.#stopped };
  }

  /** The text held back so far (at the end of generation). */
  flush(): string {
    if (this.#stream && !this.#stopped) this.#full += this.#stream.flush();
    const piece = this.#full.slice(this.#emitted);
    this.#emitted = this.#full.length;
    return piece;
  }

  /** Length of the longest ending of the text that is a proper prefix of a stop string. */
  #stopPrefix(): number {
    let best = 0;
    for (const stop of this.stop) {
      for (let n = Math.min(stop.length - 1, this.#full.length); n > best; n--) {
        if (this.#full.endsWith(stop.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
