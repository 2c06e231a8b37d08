// Normalizers: rewrite a text segment before pre-tokenization (huggingface/tokenizers
// normalizers/*.rs). Each segment between added tokens is normalized on its own, so a Prepend
// normalizer prefixes every segment — as llama.cpp's SPM path prefixes a space after each
// special token.
import { InputError } from "../errors.ts";
import { compilePattern } from "./regex.ts";

export type Normalizer = (text: string) => string;

type Json = Record<string, unknown>;

function replacer(pattern: unknown, content: string, where: string): Normalizer {
  const p = pattern as Json | null;
  if (p && typeof p.String === "string") {
    const from = p.String;
    return (s) => s.replaceAll(from, content);
  }
  if (p && typeof p.Regex === "string") {
    const re = compilePattern(p.Regex, where);
    return (s) => s.replace(re, () => content);
  }
  throw new InputError(`${where}: Replace pattern must be {"String": ...} or {"Regex": ...}`);
}

/** Builds a normalizer from tokenizer.json's `normalizer` object (null = none). */
export function normalizerFromJSON(
  spec: unknown,
  where = "tokenizer.json normalizer",
): Normalizer | null {
  if (spec === null || spec === undefined) return null;
  const o = spec as Json;
  switch (o.type) {
    case "Sequence": {
      if (!Array.isArray(o.normalizers)) {
        throw new InputError(`${where}: Sequence needs 'normalizers'`);
      }
      const steps = o.normalizers.map((n, i) => normalizerFromJSON(n, `${where}[${i}]`)).filter((
        n,
      ) => n !== null);
      return (s) => steps.reduce((t, f) => f(t), s);
    }
    case "Prepend": {
      if (typeof o.prepend !== "string") {
        throw new InputError(`${where}: Prepend needs a string 'prepend'`);
      }
      const pre = o.prepend;
      return (s) => (s.length > 0 ? pre + s : s);
    }
    case "Replace": {
      if (typeof o.content !== "string") {
        throw new InputError(`${where}: Replace needs a string 'content'`);
      }
      return replacer(o.pattern, o.content, where);
    }
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD": {
      const form = o.type;
      return (s) => s.normalize(form);
    }
    case "Lowercase":
      return (s) => s.toLowerCase();
    case "Strip": {
      const left = o.strip_left !== false;
      const right = o.strip_right !== false;
      return (s) => {
        let t = left ? s.replace(/^\p{White_Space}+/u, "") : s;
        t = right ? t.replace(/\p{White_Space}+$/u, "") : t;
        return t;
      };
    }
    default:
      throw new InputError(
        `${where}: unsupported normalizer type '${String(o.type)}' (supported: Sequence, ` +
          `Prepend, Replace, NFC, NFD, NFKC, NFKD, Lowercase, Strip)`,
      );
  }
}
