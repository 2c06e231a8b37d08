// The public Tokenizer: text <-> token ids for BPE vocabularies read from a Hugging Face
// tokenizer.json or from GGUF metadata. Encoding follows tokenizers' pipeline (added tokens cut
// out whole, then per segment: normalizer -> pre-tokenizer -> model, then the post-processor's
// special tokens); decoding maps ids to bytes and decodes UTF-8 once (see decode.ts).
import { InputError } from "../errors.ts";
import type { GGUFValue } from "../io/gguf_types.ts";
import { AddedTokenMatcher } from "./added_tokens.ts";
import { tokenBytes, TokenStreamDecoder } from "./decode.ts";
import { type FromJSONOptions, partsFromJSON } from "./from_json.ts";
import { partsFromGGUF } from "./from_gguf.ts";
import type { TokenizerParts } from "./parts.ts";

export { TokenStreamDecoder } from "./decode.ts";
export type { FromJSONOptions } from "./from_json.ts";

export interface EncodeOptions {
  /** Add the model's special tokens around the text (BOS/EOS per the file). Default true. */
  addSpecial?: boolean;
  /**
   * Match special (control) tokens written in the text, e.g. "<|eot_id|>". Default true, as
   * tokenizers does; false treats them as plain text (llama.cpp's parse_special = false).
   * Non-special added tokens are always matched.
   */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Leave out special tokens (BOS, EOS, control tokens). Default false. */
  skipSpecial?: boolean;
}

const utf8 = new TextEncoder();

export class Tokenizer {
  readonly #p: TokenizerParts;
  readonly #added: AddedTokenMatcher;
  readonly #addedContent = new Map<number, string>();
  readonly #special = new Set<number>();
  readonly #bytes: (Uint8Array | undefined)[] = [];
  /** Number of ids: one past the largest id in the vocabulary or added tokens. */
  readonly vocabSize: number;

  private constructor(parts: TokenizerParts) {
    this.#p = parts;
    this.#added = new AddedTokenMatcher(parts.addedTokens);
    for (const t of parts.addedTokens) {
      this.#addedContent.set(t.id, t.content);
      if (t.special) this.#special.add(t.id);
    }
    this.vocabSize = parts.idToToken.length;
  }

  /** Builds a tokenizer from a Hugging Face tokenizer.json (its text or the parsed object). */
  static fromJSON(json: string | object, options?: FromJSONOptions): Tokenizer {
    return new Tokenizer(partsFromJSON(json, options));
  }

  /** Builds a tokenizer from GGUF metadata (`readGGUF(bytes).metadata`, or the file itself). */
  static fromGGUF(
    metadata: Record<string, GGUFValue> | { metadata: Record<string, GGUFValue> },
  ): Tokenizer {
    if (!metadata || typeof metadata !== "object") {
      throw new InputError("fromGGUF expects GGUF metadata");
    }
    const md = "metadata" in metadata && typeof metadata.metadata === "object" &&
        !Array.isArray(metadata.metadata)
      ? (metadata.metadata as Record<string, GGUFValue>)
      : (metadata as Record<string, GGUFValue>);
    return new Tokenizer(partsFromGGUF(md));
  }

  /** "bpe" (ranked merges) or "spm" (SentencePiece scores). */
  get kind(): "bpe" | "spm" {
    return this.#p.kind;
  }
  get bos(): number | null {
    return this.#p.bos;
  }
  get eos(): number | null {
    return this.#p.eos;
  }
  get unk(): number | null {
    return this.#p.unk;
  }

  idToToken(id: number): string | null {
    return this.#p.idToToken[id] ?? null;
  }

  tokenToId(token: string): number | null {
    return this.#p.tokenToId.get(token) ?? null;
  }

  /** Whether `id` is a special token (skipped by decode with skipSpecial). */
  isSpecial(id: number): boolean {
    return this.#special.has(id);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== "string") {
      throw new InputError(`Tokenizer.encode expects a string, got ${typeof text}`);
    }
    const { addSpecial = true, parseSpecial = true } = options;
    const { normalizer, preTokenizer, model } = this.#p;
    const ids: number[] = addSpecial ? [...this.#p.prefix] : [];
    for (const seg of this.#added.split(text, parseSpecial)) {
      if ("id" in seg) {
        ids.push(seg.id);
        continue;
      }
      const normalized = normalizer ? normalizer(seg.text) : seg.text;
      if (!normalized) continue;
      const words = preTokenizer ? preTokenizer([normalized], seg.offset === 0) : [normalized];
      for (const w of words) if (w) model.tokenize(w, ids);
    }
    if (addSpecial) ids.push(...this.#p.suffix);
    return ids;
  }

  /** The bytes `id` stands for; null when skipped. Throws on an id outside the vocabulary. */
  #bytesOf(id: number, skipSpecial: boolean): Uint8Array | null {
    if (skipSpecial && this.#special.has(id)) return null;
    const cached = this.#bytes[id];
    if (cached) return cached;
    const token = Number.isInteger(id) ? this.#p.idToToken[id] : undefined;
    if (token === undefined) {
      throw new InputError(`token id ${id} is not in the vocabulary (size ${this.vocabSize})`);
    }
    let b: Uint8Array;
    const added = this.#addedContent.get(id);
    if (added !== undefined) b = utf8.encode(added);
    else {
      const out: number[] = [];
      tokenBytes(token, this.#p.decoder.steps, out);
      b = new Uint8Array(out);
    }
    this.#bytes[id] = b;
    return b;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const stream = this.decodeStream(options);
    return stream.push(ids) + stream.flush();
  }

  /** A streaming decoder: push ids as they are generated, get text without split characters. */
  decodeStream(options: DecodeOptions = {}): TokenStreamDecoder {
    const skip = options.skipSpecial === true;
    return new TokenStreamDecoder((id) => this.#bytesOf(id, skip), this.#p.decoder.stripStart);
  }
}
