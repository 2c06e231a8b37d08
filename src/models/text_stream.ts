// Incremental detokenization for streaming (vLLM's detokenizer, HF's TextStreamer): the text of
// the tokens so far is decoded again and the new part emitted, held back while it ends in an
// incomplete UTF-8 sequence (U+FFFD) or while its end could be the start of a stop string, and
// cut at the first stop string.

/** What generation needs of a tokenizer. */
export interface TextTokenizer {
  encode(text: string, opts?: { addSpecial?: boolean }): number[];
  decode(ids: readonly number[]): string;
}

export class TextStream {
  #ids: number[] = [];
  #emitted = 0;
  #text = "";
  #stopped = false;

  constructor(readonly tokenizer: TextTokenizer | null, readonly stop: readonly string[] = []) {}

  /** The text emitted so far. */
  get text(): string {
    return this.#text;
  }

  /** Adds a token; returns the new text it completes and whether a stop string appeared. */
  push(id: number): { text: string; stopped: boolean } {
    if (!this.tokenizer || this.#stopped) return { text: "", stopped: this.#stopped };
    this.#ids.push(id);
    let full = this.tokenizer.decode(this.#ids);
    if (full.endsWith("\uFFFD")) return { text: "", stopped: false }; // wait for more bytes
    let stopped = false;
    for (const s of this.stop) {
      if (!s) continue;
      // a stop string may straddle the text emitted already and the new piece
      const at = full.indexOf(s, Math.max(0, this.#emitted - s.length + 1));
      if (at >= 0) {
        full = full.slice(0, at);
        stopped = true;
      }
    }
    // hold back an ending that may grow into a stop string
    const upTo = stopped ? full.length : full.length - this.#stopPrefix(full);
    const piece = upTo > this.#emitted ? full.slice(this.#emitted, upTo) : "";
    this.#emitted = Math.max(this.#emitted, upTo);
    // the final text ends before a stop string even where part of it was streamed already
    this.#text = full;
    this.#stopped = stopped;
    return { text: piece, stopped };
  }

  /** The text held back so far (at the end of generation). */
  flush(): string {
    const piece = this.#text.slice(this.#emitted);
    this.#emitted = this.#text.length;
    return piece;
  }

  /** Length of the longest ending of `s` that is a proper prefix of a stop string. */
  #stopPrefix(s: string): number {
    let best = 0;
    for (const stop of this.stop) {
      for (let n = Math.min(stop.length - 1, s.length); n > best; n--) {
        if (s.endsWith(stop.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
