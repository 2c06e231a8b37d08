// GGUF tokenizer metadata -> TokenizerParts, with llama.cpp's defaults (llama-vocab.cpp
// llama_vocab::impl::load): 'llama' is SentencePiece BPE by scores with a space prefix, a BOS
// token and <0xNN> byte tokens; 'gpt2' is byte-level BPE by `tokenizer.ggml.merges` with the
// regex pre-tokenizer named by `tokenizer.ggml.pre`.
import { InputError } from "../errors.ts";
import type { GGUFValue } from "../io/gguf_types.ts";
import type { AddedToken } from "./added_tokens.ts";
import { BPEModel } from "./bpe.ts";
import type { TokenizerParts } from "./parts.ts";
import { fromLlamaCppPre } from "./pretokenize.ts";
import { LLAMA3_NAMES } from "./regex.ts";
import { SPMModel } from "./spm.ts";

/** llama.cpp's token types (gguf `tokenizer.ggml.token_type`). */
export const TOKEN_TYPE = {
  undefined: 0,
  normal: 1,
  unknown: 2,
  control: 3,
  userDefined: 4,
  unused: 5,
  byte: 6,
} as const;

const K = "tokenizer.ggml.";

function key(md: Record<string, GGUFValue>, name: string): GGUFValue | undefined {
  return Object.hasOwn(md, K + name) ? md[K + name] : undefined;
}

function stringList(
  md: Record<string, GGUFValue>,
  name: string,
  required: boolean,
): string[] | null {
  const v = key(md, name);
  if (v === undefined) {
    if (required) {
      throw new InputError(`GGUF metadata has no '${K}${name}' (needed by the tokenizer)`);
    }
    return null;
  }
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw new InputError(`GGUF '${K}${name}' must be an array of strings`);
  }
  return v as string[];
}

function numberList(md: Record<string, GGUFValue>, name: string, n: number): number[] | null {
  const v = key(md, name);
  if (v === undefined) return null;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "number")) {
    throw new InputError(`GGUF '${K}${name}' must be an array of numbers`);
  }
  if (v.length < n) {
    throw new InputError(`GGUF '${K}${name}' has ${v.length} entries for ${n} tokens`);
  }
  return v as number[];
}

function optionalId(
  md: Record<string, GGUFValue>,
  name: string,
  fallback: number | null,
  n: number,
): number | null {
  const v = key(md, name);
  if (v === undefined) return fallback !== null && fallback < n ? fallback : null;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new InputError(`GGUF '${K}${name}' must be an integer`);
  }
  if (v < 0 || v >= n) {
    throw new InputError(`GGUF '${K}${name}' = ${v} is outside the vocabulary (0..${n - 1})`);
  }
  return v;
}

function optionalBool(md: Record<string, GGUFValue>, name: string, fallback: boolean): boolean {
  const v = key(md, name);
  if (v === undefined) return fallback;
  if (typeof v !== "boolean") throw new InputError(`GGUF '${K}${name}' must be a bool`);
  return v;
}

/** Reads the tokenizer from GGUF metadata (readGGUF(bytes).metadata). */
export function partsFromGGUF(md: Record<string, GGUFValue>): TokenizerParts {
  const model = key(md, "model");
  if (model === undefined) {
    throw new InputError(`GGUF metadata has no tokenizer: '${K}model' is missing`);
  }
  if (model !== "llama" && model !== "gpt2") {
    throw new InputError(
      `GGUF '${K}model' = ${JSON.stringify(model)} is not supported (supported: 'llama' = ` +
        `SentencePiece BPE, 'gpt2' = byte-level BPE)`,
    );
  }
  const tokens = stringList(md, "tokens", true)!;
  const n = tokens.length;
  const types = numberList(md, "token_type", n) ?? new Array(n).fill(TOKEN_TYPE.normal);
  const tokenToId = new Map<string, number>();
  tokens.forEach((t, i) => tokenToId.set(t, i)); // a repeated text maps to its last id, as llama.cpp
  const addedTokens: AddedToken[] = [];
  tokens.forEach((content, id) => {
    const t = types[id];
    if (t === TOKEN_TYPE.control || t === TOKEN_TYPE.unknown || t === TOKEN_TYPE.userDefined) {
      addedTokens.push({
        id,
        content,
        special: t !== TOKEN_TYPE.userDefined,
        lstrip: false,
        rstrip: false,
        singleWord: false,
      });
    }
  });
  const spm = model === "llama";
  const pre = key(md, "pre");
  const llama3 = !spm && typeof pre === "string" && LLAMA3_NAMES.includes(pre);
  const bos = optionalId(md, "bos_token_id", spm ? 1 : null, n);
  const eos = optionalId(md, "eos_token_id", spm ? 2 : null, n);
  const unk = optionalId(md, "unknown_token_id", spm ? 0 : null, n);
  const addBos = optionalBool(md, "add_bos_token", spm || llama3);
  const addEos = optionalBool(md, "add_eos_token", false);
  if (addBos && bos === null) {
    throw new InputError(`GGUF asks for a BOS token (add_bos_token) but has no '${K}bos_token_id'`);
  }
  if (addEos && eos === null) {
    throw new InputError(
      `GGUF asks for an EOS token (add_eos_token) but has no '${K}eos_token_id'`,
    );
  }
  const common = {
    idToToken: tokens as (string | undefined)[],
    tokenToId,
    addedTokens,
    prefix: addBos ? [bos!] : [],
    suffix: addEos ? [eos!] : [],
    bos,
    eos,
    unk,
  };

  if (spm) {
    const scores = numberList(md, "scores", n) ?? new Array(n).fill(0);
    const addSpace = optionalBool(md, "add_space_prefix", true);
    return {
      ...common,
      kind: "spm",
      // llama_escape_whitespace, after an optional leading space (llama.cpp add_space_prefix)
      normalizer: (s) => (addSpace && s ? " " + s : s).replaceAll(" ", "\u2581"),
      preTokenizer: null,
      model: new SPMModel({
        tokenToId,
        scores,
        mergeable: (id) => types[id] === TOKEN_TYPE.normal || types[id] === TOKEN_TYPE.undefined,
        unkId: unk,
        where: "GGUF tokenizer",
      }),
      decoder: {
        steps: [{ kind: "replace", apply: (s) => s.replaceAll("\u2581", " ") }, {
          kind: "byteFallback",
        }],
        stripStart: addSpace ? { text: " ", count: 1 } : null,
      },
    };
  }

  if (typeof pre !== "string" && pre !== undefined) {
    throw new InputError(`GGUF '${K}pre' must be a string`);
  }
  const merges = stringList(md, "merges", true)!;
  return {
    ...common,
    kind: "bpe",
    normalizer: null,
    preTokenizer: fromLlamaCppPre(pre ?? "default"),
    model: new BPEModel({
      vocab: tokenToId,
      merges,
      unkId: unk,
      fuseUnk: false,
      byteFallback: false,
      ignoreMerges: llama3,
      continuingSubwordPrefix: null,
      endOfWordSuffix: null,
      strictMerges: false,
      where: "GGUF tokenizer",
    }),
    decoder: { steps: [{ kind: "byteLevel" }], stripStart: null },
  };
}
