// Pre-tokenizer regexes. tokenizer.json patterns are written for Oniguruma (huggingface/tokenizers
// uses onig); JavaScript's unicode-mode RegExp understands most of them once a few classes are
// rewritten so that they mean what Oniguruma (and llama.cpp's unicode tables) mean:
//   \s, \S  -> \p{White_Space}, \P{White_Space}   (JS \s adds U+FEFF and lacks U+0085)
//   \d, \D  -> \p{Nd}, \P{Nd}                     (JS \d is ASCII only)
//   \w      -> letters, marks, decimal digits, connector punctuation (JS \w is ASCII only)
//   x++ x*+ x?+ x{n}+  -> greedy (JS has no possessive quantifiers; llama.cpp does the same)
//   (?>...) -> (?:...)
//   \' \" ... (escaped non-syntax characters) -> the character (invalid escapes in unicode mode)
// Case-insensitive groups (?i:...) are native in V8 >= 12.5; where the engine rejects them they
// are expanded to explicit [xX] classes (expandCaseInsensitiveGroups).
import { InputError } from "../errors.ts";

/** GPT-2's pre-tokenizer pattern (ByteLevel with use_regex; llama.cpp LLAMA_VOCAB_PRE_TYPE_GPT2). */
export const GPT2_PATTERN =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** Llama-3's Split pattern from its tokenizer.json (llama.cpp LLAMA_VOCAB_PRE_TYPE_LLAMA3). */
export const LLAMA3_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** GGUF pre-tokenizer names of the Llama-3 family (llama.cpp LLAMA3: also ignore_merges, BOS). */
export const LLAMA3_NAMES: readonly string[] = [
  "llama3",
  "llama-v3",
  "llama-bpe",
  "falcon3",
  "falcon-h1",
  "pixtral",
  "midm-2.0",
  "lfm2",
];

const SYNTAX = "^$\\.*+?()[]{}|/";
const WORD = "\\p{L}\\p{M}\\p{Nd}\\p{Pc}";

/** Rewrites an Oniguruma-style pattern into JavaScript unicode-mode syntax (see file comment). */
export function translatePattern(pattern: string): string {
  let out = "";
  let inClass = false;
  let lastQuantifier = false; // the previous token was a quantifier (so a following + is possessive)
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\") {
      const next = pattern[i + 1] ?? "";
      i++;
      lastQuantifier = false;
      if (next === "p" || next === "P") {
        const close = pattern.indexOf("}", i);
        if (pattern[i + 1] === "{" && close > 0) {
          out += pattern.slice(i - 1, close + 1);
          i = close;
        } else out += "\\" + next;
        continue;
      }
      if (next === "s") out += "\\p{White_Space}";
      else if (next === "S") out += "\\P{White_Space}";
      else if (next === "d") out += "\\p{Nd}";
      else if (next === "D") out += "\\P{Nd}";
      else if (next === "w") out += inClass ? WORD : `[${WORD}]`;
      else if (next === "W" && !inClass) out += `[^${WORD}]`;
      else if (/[A-Za-z0-9]/.test(next)) out += "\\" + next;
      else if (SYNTAX.includes(next) || (inClass && next === "-")) out += "\\" + next;
      else out += next;
      continue;
    }
    if (inClass) {
      if (ch === "]") inClass = false;
      out += ch;
      continue;
    }
    if (ch === "[") {
      inClass = true;
      out += ch;
      if (pattern[i + 1] === "^") out += pattern[++i];
      lastQuantifier = false;
      continue;
    }
    if (ch === "+" && lastQuantifier) {
      lastQuantifier = false; // possessive marker: drop it
      continue;
    }
    if (ch === "(" && pattern.startsWith("(?>", i)) {
      out += "(?:";
      i += 2;
      lastQuantifier = false;
      continue;
    }
    if (ch === "{") {
      const close = pattern.indexOf("}", i);
      if (close > 0 && /^\{\d+(,\d*)?\}$/.test(pattern.slice(i, close + 1))) {
        out += pattern.slice(i, close + 1);
        i = close;
        lastQuantifier = true;
        continue;
      }
    }
    out += ch;
    lastQuantifier = ch === "+" || ch === "*" || (ch === "?" && !out.endsWith("(?"));
  }
  return out;
}

/** Spells (?i:...) groups with explicit ASCII case classes, for engines without regexp modifiers. */
export function expandCaseInsensitiveGroups(pattern: string): string {
  let out = "";
  let depth = 0; // nesting depth inside the current (?i: group; 0 = not inside one
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (depth === 0 && pattern.startsWith("(?i:", i)) {
      out += "(?:";
      i += 3;
      depth = 1;
      continue;
    }
    if (ch === "\\") {
      out += ch + (pattern[i + 1] ?? "");
      i++;
      continue;
    }
    if (depth > 0) {
      if (inClass) {
        if (ch === "]") inClass = false;
        out += /[a-zA-Z]/.test(ch) ? ch.toLowerCase() + ch.toUpperCase() : ch;
        continue;
      }
      if (ch === "[") inClass = true;
      else if (ch === "(") depth++;
      else if (ch === ")") depth--;
      out += /[a-zA-Z]/.test(ch) ? `[${ch.toLowerCase()}${ch.toUpperCase()}]` : ch;
      continue;
    }
    out += ch;
  }
  return out;
}

/** Compiles a tokenizer.json / llama.cpp pattern into a global unicode RegExp. */
export function compilePattern(pattern: string, where: string): RegExp {
  const js = translatePattern(pattern);
  try {
    return new RegExp(js, "gu");
  } catch (first) {
    if (js.includes("(?i:")) {
      try {
        return new RegExp(expandCaseInsensitiveGroups(js), "gu");
      } catch { /* report the original error below */ }
    }
    throw new InputError(
      `${where}: regex ${JSON.stringify(pattern)} cannot be compiled as a JavaScript regex ` +
        `(${(first as Error).message})`,
    );
  }
}

/** How Split keeps the delimiters it finds (huggingface/tokenizers SplitDelimiterBehavior). */
export type SplitBehavior =
  | "Removed"
  | "Isolated"
  | "MergedWithPrevious"
  | "MergedWithNext"
  | "Contiguous";

/**
 * Splits `text` on the matches of `re` (tokenizers' NormalizedString::split). Matches and the
 * gaps between them become pieces according to `behavior`; `invert` swaps the roles of matches
 * and gaps. Empty pieces are dropped.
 */
export function splitByRegex(
  text: string,
  re: RegExp,
  behavior: SplitBehavior = "Isolated",
  invert = false,
): string[] {
  // pieces tagged with whether they are a delimiter (a match, or a gap when inverted)
  const parts: Array<[string, boolean]> = [];
  let last = 0;
  re.lastIndex = 0;
  for (const m of text.matchAll(re)) {
    const start = m.index!;
    const end = start + m[0].length;
    if (start === end) continue;
    if (start > last) parts.push([text.slice(last, start), invert]);
    parts.push([m[0], !invert]);
    last = end;
  }
  if (last < text.length) parts.push([text.slice(last), invert]);

  const out: string[] = [];
  switch (behavior) {
    case "Isolated":
      for (const [s] of parts) out.push(s);
      break;
    case "Removed":
      for (const [s, delim] of parts) if (!delim) out.push(s);
      break;
    // a delimiter joins its neighbour only when that neighbour is not a delimiter itself
    case "MergedWithPrevious": {
      let prevDelim = false;
      for (const [s, delim] of parts) {
        if (delim && !prevDelim && out.length > 0) out[out.length - 1] += s;
        else out.push(s);
        prevDelim = delim;
      }
      break;
    }
    case "MergedWithNext": {
      const rev: string[] = [];
      let nextDelim = false;
      for (let i = parts.length - 1; i >= 0; i--) {
        const [s, delim] = parts[i];
        if (delim && !nextDelim && rev.length > 0) rev[rev.length - 1] = s + rev[rev.length - 1];
        else rev.push(s);
        nextDelim = delim;
      }
      out.push(...rev.reverse());
      break;
    }
    case "Contiguous": {
      let prevDelim: boolean | null = null;
      for (const [s, delim] of parts) {
        if (delim && prevDelim === true) out[out.length - 1] += s;
        else out.push(s);
        prevDelim = delim;
      }
      break;
    }
  }
  return out.filter((s) => s.length > 0);
}
