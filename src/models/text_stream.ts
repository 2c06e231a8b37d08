// Incremental detokenization for streaming (vLLM's detokenizer, HF's TextStreamer): the text of
// the tokens so far is decoded again and the new part emitted, held back while it ends in an
// incomplete UTF-8 sequence (U+FFFD), and cut at the first stop string.

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
    const piece = full.length > this.#emitted ? full.slice(this.#emitted) : "";
    this.#emitted = Math.max(this.#emitted, full.length);
    // the final text ends before a stop string even where part of it was streamed already
    this.#text = full;
    this.#stopped = stopped;
    return { text: piece, stopped };
  }
}
