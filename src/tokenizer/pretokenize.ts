// Pre-tokenizers: split a normalized text segment into the words BPE runs on. Each mirrors one
// huggingface/tokenizers pre_tokenizers/*.rs type; `fromLlamaCppPre` maps GGUF's
// `tokenizer.ggml.pre` names to the same building blocks (llama-vocab.cpp llm_tokenizer_bpe).
import { InputError } from "../errors.ts";
import { toByteLevel } from "./byte_level.ts";
import {
  compilePattern,
  GPT2_PATTERN,
  LLAMA3_NAMES,
  LLAMA3_PATTERN,
  type SplitBehavior,
  splitByRegex,
} from "./regex.ts";

/** Maps the pieces so far to new pieces. `atStart`: the segment begins the input text. */
export type PreTokenizer = (pieces: string[], atStart: boolean) => string[];

type Json = Record<string, unknown>;

function flatMap(pieces: string[], f: (s: string) => string[]): string[] {
  const out: string[] = [];
  for (const p of pieces) for (const q of f(p)) if (q) out.push(q);
  return out;
}

/** Splits on a regex; words keep their text. */
export function regexSplit(
  pattern: string,
  where: string,
  behavior: SplitBehavior = "Isolated",
  invert = false,
): PreTokenizer {
  const re = compilePattern(pattern, where);
  return (pieces) => flatMap(pieces, (s) => splitByRegex(s, re, behavior, invert));
}

/** ByteLevel: optional leading space, optional GPT-2 regex split, bytes spelled as characters. */
export function byteLevel(addPrefixSpace: boolean, useRegex: boolean): PreTokenizer {
  const split = useRegex ? regexSplit(GPT2_PATTERN, "ByteLevel pre-tokenizer") : null;
  return (pieces, atStart) => {
    // tokenizers prepends the space to every piece it is handed that lacks one
    const ps = addPrefixSpace ? pieces.map((p) => (p.startsWith(" ") ? p : " " + p)) : pieces;
    return (split ? split(ps, atStart) : ps).map(toByteLevel);
  };
}

/** Metaspace: spaces become `replacement`, prepended per `scheme`, optional split before each. */
export function metaspace(
  replacement: string,
  scheme: "always" | "first" | "never",
  split: boolean,
): PreTokenizer {
  const repRe = new RegExp(replacement.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&"), "gu");
  return (pieces, atStart) =>
    flatMap(pieces, (s) => {
      let t = s.replaceAll(" ", replacement);
      const prepend = scheme === "always" || (scheme === "first" && atStart);
      if (prepend && !t.startsWith(replacement)) t = replacement + t;
      return split ? splitByRegex(t, repRe, "MergedWithNext") : [t];
    });
}

const WHITESPACE_RE = compilePattern("\\w+|[^\\w\\s]+", "Whitespace pre-tokenizer");
const WHITESPACE_SPLIT_RE = compilePattern("\\s+", "WhitespaceSplit pre-tokenizer");
const PUNCT_RE = /[\p{P}\p{S}]/gu; // tokenizers' is_punctuation: ASCII punctuation or Unicode P*

function sequence(steps: PreTokenizer[]): PreTokenizer {
  return (pieces, atStart) => steps.reduce((ps, step) => step(ps, atStart), pieces);
}

function patternOf(p: unknown, where: string): string {
  const o = p as Json | null;
  if (o && typeof o.Regex === "string") return o.Regex;
  if (o && typeof o.String === "string") {
    return (o.String as string).replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
  }
  throw new InputError(
    `${where}: pattern must be {"Regex": ...} or {"String": ...}, got ${JSON.stringify(p)}`,
  );
}

/** Builds a pre-tokenizer from tokenizer.json's `pre_tokenizer` object (null = none). */
export function preTokenizerFromJSON(
  spec: unknown,
  where = "tokenizer.json pre_tokenizer",
): PreTokenizer | null {
  if (spec === null || spec === undefined) return null;
  const o = spec as Json;
  switch (o.type) {
    case "Sequence": {
      if (!Array.isArray(o.pretokenizers)) {
        throw new InputError(`${where}: Sequence needs 'pretokenizers'`);
      }
      return sequence(o.pretokenizers.map((p, i) => preTokenizerFromJSON(p, `${where}[${i}]`)!));
    }
    case "ByteLevel":
      return byteLevel(o.add_prefix_space === true, o.use_regex !== false);
    case "Split": {
      const behavior = (o.behavior ?? "Isolated") as SplitBehavior;
      const ok = ["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"];
      if (!ok.includes(behavior)) {
        throw new InputError(`${where}: unknown Split behavior '${behavior}'`);
      }
      return regexSplit(patternOf(o.pattern, where), where, behavior, o.invert === true);
    }
    case "Metaspace": {
      const rep = typeof o.replacement === "string" ? o.replacement : "\u2581";
      let scheme = o.prepend_scheme as string | undefined;
      if (scheme === undefined) scheme = o.add_prefix_space === false ? "never" : "always";
      if (scheme !== "always" && scheme !== "first" && scheme !== "never") {
        throw new InputError(`${where}: unknown Metaspace prepend_scheme '${scheme}'`);
      }
      return metaspace(rep, scheme, o.split !== false);
    }
    case "Whitespace":
      return (ps) => flatMap(ps, (s) => splitByRegex(s, WHITESPACE_RE, "Removed", true));
    case "WhitespaceSplit":
      return (ps) => flatMap(ps, (s) => splitByRegex(s, WHITESPACE_SPLIT_RE, "Removed"));
    case "Digits": {
      // tokenizers tests char::is_numeric: every number category (Nd, Nl, No), like \p{N}
      const re = o.individual_digits === true ? /\p{N}/gu : /\p{N}+/gu;
      return (ps) => flatMap(ps, (s) => splitByRegex(s, re, "Isolated"));
    }
    case "Punctuation": {
      const behavior = (o.behavior ?? "Isolated") as SplitBehavior;
      return (ps) => flatMap(ps, (s) => splitByRegex(s, PUNCT_RE, behavior));
    }
    default:
      throw new InputError(
        `${where}: unsupported pre-tokenizer type '${String(o.type)}' (supported: Sequence, ` +
          `ByteLevel, Split, Metaspace, Whitespace, WhitespaceSplit, Digits, Punctuation)`,
      );
  }
}

// GGUF `tokenizer.ggml.pre` names and the regexes llama.cpp runs for them, in order
// (llama-vocab.cpp llm_tokenizer_bpe). The names in one group share llama.cpp's pre-type.
const GPT2_NO_TAIL =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const QWEN2_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN35_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const PRE_GROUPS: ReadonlyArray<readonly [readonly string[], readonly string[]]> = [
  [["default"], ["[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2_NO_TAIL, "\\p{N}+", "[0-9][0-9][0-9]"]],
  [
    ["gpt-2", "phi-2", "mpt", "olmo", "jina-es", "jina-de", "jina-v2-es", "jina-v2-de", "gigachat"],
    [
      GPT2_PATTERN,
    ],
  ],
  [LLAMA3_NAMES, [LLAMA3_PATTERN]],
  [["qwen2", "stablelm2", "hunyuan"], [QWEN2_PATTERN]],
  [["qwen35"], [QWEN35_PATTERN]],
  [["starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva"], [
    "\\p{N}",
    GPT2_NO_TAIL,
  ]],
  [["deepseek-coder"], [
    "[\r\n]",
    "\\s?\\p{L}+",
    "\\s?\\p{P}+",
    "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+",
    "\\p{N}",
  ]],
  [["falcon"], ["[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2_NO_TAIL, "[0-9][0-9][0-9]"]],
];

/** Supported GGUF pre-tokenizer names -> the regexes applied one after another. */
export const LLAMA_CPP_PRE: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  PRE_GROUPS.flatMap(([names, patterns]) => names.map((n) => [n, patterns])),
);

/**
 * The byte-level pre-tokenizer for a GGUF `tokenizer.ggml.pre` name: each regex splits every
 * piece in turn (keeping matches and gaps), then bytes are spelled as characters.
 */
export function fromLlamaCppPre(name: string): PreTokenizer {
  const patterns = LLAMA_CPP_PRE[name];
  if (!patterns) {
    throw new InputError(
      `GGUF tokenizer.ggml.pre '${name}' is not supported (supported: ` +
        `${Object.keys(LLAMA_CPP_PRE).join(", ")})`,
    );
  }
  const steps = patterns.map((p) => regexSplit(p, `GGUF pre-tokenizer '${name}'`));
  const bytes: PreTokenizer = (ps) => ps.map(toByteLevel);
  return sequence([...steps, bytes]);
}
