// Hugging Face tokenizer.json -> TokenizerParts. Supports the BPE model (byte-level GPT-2 /
// Llama-3 style and SentencePiece-converted Llama-2 style with byte_fallback) with the
// normalizers, pre-tokenizers, decoders and post-processors those files use; anything else is
// rejected with an InputError naming the field.
import { InputError } from "../errors.ts";
import type { AddedToken } from "./added_tokens.ts";
import { BPEModel } from "./bpe.ts";
import { decoderFromJSON } from "./decode.ts";
import { normalizerFromJSON } from "./normalize.ts";
import type { TokenizerParts } from "./parts.ts";
import { preTokenizerFromJSON } from "./pretokenize.ts";

type Json = Record<string, unknown>;
const W = "tokenizer.json";

/** Overrides for ids tokenizer.json does not record (they live in tokenizer_config.json). */
export interface FromJSONOptions {
  bos?: string | number | null;
  eos?: string | number | null;
}

const BOS_NAMES = ["<s>", "<|begin_of_text|>", "<bos>", "<|startoftext|>"];
const EOS_NAMES = ["</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>", "<|im_end|>", "<|eot_id|>"];

function parseMerges(raw: unknown): Array<string | [string, string]> {
  if (!Array.isArray(raw)) throw new InputError(`${W}: model.merges is missing or not an array`);
  raw.forEach((m, i) => {
    const pair = Array.isArray(m) && m.length === 2 && typeof m[0] === "string" &&
      typeof m[1] === "string";
    if (typeof m !== "string" && !pair) {
      throw new InputError(`${W}: model.merges[${i}] must be "left right" or ["left", "right"]`);
    }
  });
  return raw;
}

function parseAdded(raw: unknown): AddedToken[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new InputError(`${W}: added_tokens must be an array`);
  return raw.map((t, i) => {
    const o = t as Json;
    if (!o || typeof o.content !== "string" || !Number.isInteger(o.id) || (o.id as number) < 0) {
      throw new InputError(`${W}: added_tokens[${i}] needs a string 'content' and an integer 'id'`);
    }
    return {
      id: o.id as number,
      content: o.content,
      special: o.special === true,
      lstrip: o.lstrip === true,
      rstrip: o.rstrip === true,
      singleWord: o.single_word === true,
    };
  });
}

/** Prefix / suffix ids from `post_processor` (TemplateProcessing, Bert/Roberta, ByteLevel, Sequence). */
function template(spec: unknown, where: string): { prefix: number[]; suffix: number[] } {
  const out = { prefix: [] as number[], suffix: [] as number[] };
  if (spec === null || spec === undefined) return out;
  const o = spec as Json;
  switch (o.type) {
    case "ByteLevel":
      return out;
    case "Sequence": {
      if (!Array.isArray(o.processors)) {
        throw new InputError(`${where}: Sequence needs 'processors'`);
      }
      for (const [i, p] of o.processors.entries()) {
        const t = template(p, `${where}[${i}]`);
        out.prefix.push(...t.prefix);
        out.suffix.push(...t.suffix);
      }
      return out;
    }
    case "BertProcessing":
    case "RobertaProcessing": {
      const cls = o.cls as [string, number] | undefined;
      const sep = o.sep as [string, number] | undefined;
      if (!Array.isArray(cls) || !Array.isArray(sep)) {
        throw new InputError(`${where}: needs 'cls' and 'sep'`);
      }
      return { prefix: [cls[1]], suffix: [sep[1]] };
    }
    case "TemplateProcessing": {
      const single = o.single;
      const specials = (o.special_tokens ?? {}) as Record<string, Json>;
      if (!Array.isArray(single)) {
        throw new InputError(`${where}: TemplateProcessing needs 'single'`);
      }
      let seenSequence = false;
      for (const [i, item] of single.entries()) {
        const it = item as Json;
        if (it.Sequence) {
          seenSequence = true;
          continue;
        }
        const name = (it.SpecialToken as Json | undefined)?.id;
        const ids = typeof name === "string" ? specials[name]?.ids : undefined;
        if (!Array.isArray(ids)) {
          throw new InputError(
            `${where}: single[${i}] names special token ${JSON.stringify(name)}, ` +
              `which is not in special_tokens`,
          );
        }
        (seenSequence ? out.suffix : out.prefix).push(...(ids as number[]));
      }
      return out;
    }
    default:
      throw new InputError(
        `${where}: unsupported post-processor type '${String(o.type)}' (supported: ` +
          `TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence)`,
      );
  }
}

function pickSpecial(
  given: string | number | null | undefined,
  guesses: readonly number[],
  names: readonly string[],
  tokenToId: Map<string, number>,
  what: string,
): number | null {
  if (given === null) return null;
  if (typeof given === "number") return given;
  if (typeof given === "string") {
    const id = tokenToId.get(given);
    if (id === undefined) {
      throw new InputError(`${W}: ${what} token ${JSON.stringify(given)} is not in the vocabulary`);
    }
    return id;
  }
  if (guesses.length) return guesses[0];
  for (const n of names) if (tokenToId.has(n)) return tokenToId.get(n)!;
  return null;
}

/** Reads a tokenizer.json (text or parsed object) into TokenizerParts. */
export function partsFromJSON(
  json: string | object,
  options: FromJSONOptions = {},
): TokenizerParts {
  let root: Json;
  if (typeof json === "string") {
    try {
      root = JSON.parse(json);
    } catch (e) {
      throw new InputError(`${W} is not valid JSON: ${(e as Error).message}`);
    }
  } else root = json as Json;
  if (!root || typeof root !== "object") {
    throw new InputError(`${W}: expected an object at the top level`);
  }
  const model = root.model as Json | undefined;
  if (!model || typeof model !== "object") throw new InputError(`${W}: 'model' is missing`);
  const type = model.type ?? (model.merges !== undefined ? "BPE" : undefined);
  if (type !== "BPE") {
    throw new InputError(`${W}: model type '${String(type)}' is not supported (supported: BPE)`);
  }
  const vocabRaw = model.vocab;
  if (!vocabRaw || typeof vocabRaw !== "object" || Array.isArray(vocabRaw)) {
    throw new InputError(`${W}: model.vocab is missing or not an object of token -> id`);
  }
  const tokenToId = new Map<string, number>();
  const idToToken: (string | undefined)[] = [];
  for (const [tok, id] of Object.entries(vocabRaw as Record<string, unknown>)) {
    if (!Number.isInteger(id) || (id as number) < 0) {
      throw new InputError(
        `${W}: model.vocab[${JSON.stringify(tok)}] = ${id} is not a non-negative integer id`,
      );
    }
    if (idToToken[id as number] !== undefined) {
      throw new InputError(
        `${W}: model.vocab gives id ${id} to both ${JSON.stringify(idToToken[id as number])} and ${
          JSON.stringify(tok)
        }`,
      );
    }
    tokenToId.set(tok, id as number);
    idToToken[id as number] = tok;
  }
  const merges = parseMerges(model.merges);
  const modelVocab = new Map(tokenToId);
  const addedTokens = parseAdded(root.added_tokens);
  for (const t of addedTokens) {
    if (idToToken[t.id] === undefined) idToToken[t.id] = t.content;
    if (!tokenToId.has(t.content)) tokenToId.set(t.content, t.id);
  }
  let unk: number | null = null;
  if (typeof model.unk_token === "string") {
    const id = tokenToId.get(model.unk_token);
    if (id === undefined) {
      throw new InputError(
        `${W}: model.unk_token ${JSON.stringify(model.unk_token)} is not in the vocabulary`,
      );
    }
    unk = id;
  }
  const bpe = new BPEModel({
    vocab: modelVocab,
    merges,
    unkId: unk,
    fuseUnk: model.fuse_unk === true,
    byteFallback: model.byte_fallback === true,
    ignoreMerges: model.ignore_merges === true,
    continuingSubwordPrefix: typeof model.continuing_subword_prefix === "string"
      ? model.continuing_subword_prefix
      : null,
    endOfWordSuffix: typeof model.end_of_word_suffix === "string" ? model.end_of_word_suffix : null,
    strictMerges: true,
    where: W,
  });
  const { prefix, suffix } = template(root.post_processor, `${W} post_processor`);
  // tokenizer.json has no bos/eos fields: take the template's first prefix / suffix token,
  // else the first conventional name present in the vocabulary
  const bos = pickSpecial(options.bos, prefix, BOS_NAMES, tokenToId, "bos");
  const eos = pickSpecial(options.eos, suffix, EOS_NAMES, tokenToId, "eos");
  return {
    kind: "bpe",
    idToToken,
    tokenToId,
    normalizer: normalizerFromJSON(root.normalizer),
    preTokenizer: preTokenizerFromJSON(root.pre_tokenizer),
    model: bpe,
    addedTokens,
    decoder: decoderFromJSON(root.decoder),
    prefix,
    suffix,
    bos,
    eos,
    unk,
  };
}
