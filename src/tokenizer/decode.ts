// Decoding works on bytes: every token id maps to the bytes it stands for, and one UTF-8
// decoder (lossy, U+FFFD for invalid sequences) turns the concatenation into text. That makes
// streaming exact — a multi-byte character split across tokens is held back until complete —
// and `decode(ids)` equals the concatenation of a stream's outputs. The tokenizer.json decoder
// chains this supports (huggingface/tokenizers decoders/*.rs) are reduced to per-token steps:
// ByteLevel (characters -> bytes), Replace, ByteFallback (<0xNN> -> byte), Metaspace (U+2581 ->
// space), Fuse (no-op on bytes), plus stripping leading characters from the start of the text
// (Strip after Fuse, or the space Metaspace / SentencePiece put in front of the first word).
import { InputError } from "../errors.ts";
import { fromByteLevel } from "./byte_level.ts";
import { compilePattern } from "./regex.ts";

export type DecodeStep =
  | { kind: "replace"; apply: (s: string) => string }
  | { kind: "byteFallback" }
  | { kind: "byteLevel" };

export interface DecoderSpec {
  steps: DecodeStep[];
  /** Remove up to `count` leading `text` from the start of the decoded output. */
  stripStart: { text: string; count: number } | null;
}

type Json = Record<string, unknown>;
const utf8 = new TextEncoder();
const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/** Appends the bytes that normal (non-added) token `token` stands for. */
export function tokenBytes(token: string, steps: readonly DecodeStep[], out: number[]): void {
  let text = token;
  for (const step of steps) {
    if (step.kind === "replace") text = step.apply(text);
    else if (step.kind === "byteFallback") {
      const m = BYTE_TOKEN.exec(text);
      if (m) {
        out.push(parseInt(m[1], 16));
        return;
      }
    } else {
      fromByteLevel(text, out);
      return;
    }
  }
  for (const b of utf8.encode(text)) out.push(b);
}

function replaceStep(pattern: unknown, content: string, where: string): DecodeStep {
  const p = pattern as Json | null;
  if (p && typeof p.String === "string") {
    const from = p.String;
    return { kind: "replace", apply: (s) => s.replaceAll(from, content) };
  }
  if (p && typeof p.Regex === "string") {
    const re = compilePattern(p.Regex, where);
    return { kind: "replace", apply: (s) => s.replace(re, () => content) };
  }
  throw new InputError(`${where}: Replace pattern must be {"String": ...} or {"Regex": ...}`);
}

/** Builds the decoder from tokenizer.json's `decoder` object (null: tokens are UTF-8 text). */
export function decoderFromJSON(spec: unknown, where = "tokenizer.json decoder"): DecoderSpec {
  const out: DecoderSpec = { steps: [], stripStart: null };
  const add = (d: unknown, w: string): void => {
    if (d === null || d === undefined) return;
    const o = d as Json;
    switch (o.type) {
      case "Sequence":
        if (!Array.isArray(o.decoders)) throw new InputError(`${w}: Sequence needs 'decoders'`);
        o.decoders.forEach((x, i) => add(x, `${w}[${i}]`));
        return;
      case "ByteLevel":
        out.steps.push({ kind: "byteLevel" });
        return;
      case "ByteFallback":
        out.steps.push({ kind: "byteFallback" });
        return;
      case "Fuse":
        return;
      case "Replace":
        if (typeof o.content !== "string") {
          throw new InputError(`${w}: Replace needs a string 'content'`);
        }
        out.steps.push(replaceStep(o.pattern, o.content, w));
        return;
      case "Metaspace": {
        const rep = typeof o.replacement === "string" ? o.replacement : "\u2581";
        out.steps.push({ kind: "replace", apply: (s) => s.replaceAll(rep, " ") });
        const scheme = o.prepend_scheme ?? (o.add_prefix_space === false ? "never" : "always");
        if (scheme !== "never") out.stripStart = { text: " ", count: 1 };
        return;
      }
      case "Strip": {
        const content = typeof o.content === "string" ? o.content : " ";
        const start = typeof o.start === "number" ? o.start : 0;
        if (typeof o.stop === "number" && o.stop > 0) {
          throw new InputError(`${w}: Strip with stop > 0 (trailing strip) is not supported`);
        }
        if (start > 0) out.stripStart = { text: content, count: start };
        return;
      }
      default:
        throw new InputError(
          `${w}: unsupported decoder type '${String(o.type)}' (supported: Sequence, ByteLevel, ` +
            `ByteFallback, Fuse, Replace, Metaspace, Strip)`,
        );
    }
  };
  add(spec, where);
  return out;
}

/**
 * Incremental decoder for generation: `push(ids)` returns the text that is complete so far and
 * keeps an unfinished UTF-8 character for the next call; `flush()` ends the stream (a dangling
 * partial character becomes U+FFFD).
 */
export class TokenStreamDecoder {
  readonly #decoder = new TextDecoder("utf-8");
  #stripLeft: number;
  #started = false;

  constructor(
    private readonly bytesOf: (id: number) => Uint8Array | null,
    private readonly strip: { text: string; count: number } | null,
  ) {
    this.#stripLeft = strip?.count ?? 0;
  }

  /** Feeds one id or several; returns the newly completed text (possibly ""). */
  push(ids: number | readonly number[]): string {
    const list = typeof ids === "number" ? [ids] : ids;
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const id of list) {
      const b = this.bytesOf(id);
      if (b && b.length) {
        parts.push(b);
        total += b.length;
      }
    }
    if (total === 0) return "";
    let all = parts[0];
    if (parts.length > 1) {
      // one decoder call for the batch: each call has a fixed cost
      all = new Uint8Array(total);
      let p = 0;
      for (const b of parts) {
        all.set(b, p);
        p += b.length;
      }
    }
    return this.#emit(this.#decoder.decode(all, { stream: true }));
  }

  /** Ends the stream and returns any remaining text. */
  flush(): string {
    return this.#emit(this.#decoder.decode());
  }

  #emit(text: string): string {
    if (this.#started || !text) return text;
    while (this.#stripLeft > 0 && this.strip && text.startsWith(this.strip.text)) {
      text = text.slice(this.strip.text.length);
      this.#stripLeft--;
    }
    if (text) this.#started = true;
    return text;
  }
}
