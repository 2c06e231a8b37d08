// Test helper: rebuilds the tokenizer.json Hugging Face publishes for a model from its GGUF
// vocabulary, so the tokenizer.json path can be checked against llama.cpp's vectors too.
// SentencePiece vocabularies get merges derived from piece scores the way transformers'
// SentencePieceExtractor does: every split of a normal piece into two vocabulary pieces is a
// merge, ordered by the piece's score (highest first).
import type { GGUFValue } from "../src/io/gguf_types.ts";
import { LLAMA3_PATTERN } from "../src/tokenizer/regex.ts";

const NORMAL = 1;
const SPECIAL_TYPES = new Set([2, 3, 4]); // unknown, control, user-defined

export function tokenizerJSONFromGGUF(md: Record<string, GGUFValue>): Record<string, unknown> {
  const tokens = md["tokenizer.ggml.tokens"] as string[];
  const types = md["tokenizer.ggml.token_type"] as number[];
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => (vocab[t] = i));
  const addedTokens = tokens.flatMap((content, id) =>
    SPECIAL_TYPES.has(types[id])
      ? [{
        id,
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: types[id] !== 4,
      }]
      : []
  );
  const bos = md["tokenizer.ggml.bos_token_id"] as number;
  const template = (withBos: boolean) =>
    withBos
      ? {
        type: "TemplateProcessing",
        single: [{ SpecialToken: { id: tokens[bos], type_id: 0 } }, {
          Sequence: { id: "A", type_id: 0 },
        }],
        pair: [],
        special_tokens: { [tokens[bos]]: { id: tokens[bos], ids: [bos], tokens: [tokens[bos]] } },
      }
      : null;

  if (md["tokenizer.ggml.model"] === "llama") {
    const scores = md["tokenizer.ggml.scores"] as number[];
    const merges: Array<[number, string, string]> = [];
    tokens.forEach((piece, id) => {
      if (types[id] !== NORMAL) return;
      const chars = Array.from(piece);
      const local: Array<[number, number, string, string]> = [];
      for (let k = 1; k < chars.length; k++) {
        const l = chars.slice(0, k).join("");
        const r = chars.slice(k).join("");
        if (vocab[l] !== undefined && vocab[r] !== undefined) {
          local.push([vocab[l], vocab[r], l, r]);
        }
      }
      local.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      for (const [, , l, r] of local) merges.push([scores[id], l, r]);
    });
    merges.sort((a, b) => b[0] - a[0]); // stable: ties keep vocabulary order
    return {
      version: "1.0",
      added_tokens: addedTokens,
      normalizer: {
        type: "Sequence",
        normalizers: [
          { type: "Prepend", prepend: "\u2581" },
          { type: "Replace", pattern: { String: " " }, content: "\u2581" },
        ],
      },
      pre_tokenizer: null,
      post_processor: template(md["tokenizer.ggml.add_bos_token"] !== false),
      decoder: {
        type: "Sequence",
        decoders: [
          { type: "Replace", pattern: { String: "\u2581" }, content: " " },
          { type: "ByteFallback" },
          { type: "Fuse" },
          { type: "Strip", content: " ", start: 1, stop: 0 },
        ],
      },
      model: {
        type: "BPE",
        dropout: null,
        unk_token: "<unk>",
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: true,
        byte_fallback: true,
        vocab,
        merges: merges.map(([, l, r]) => [l, r]),
      },
    };
  }

  const llama3 = md["tokenizer.ggml.pre"] === "llama-bpe";
  const byteLevel = {
    type: "ByteLevel",
    add_prefix_space: false,
    trim_offsets: true,
    use_regex: true,
  };
  return {
    version: "1.0",
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: llama3
      ? {
        type: "Sequence",
        pretokenizers: [
          {
            type: "Split",
            pattern: { Regex: LLAMA3_PATTERN },
            behavior: "Isolated",
            invert: false,
          },
          { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
        ],
      }
      : md["tokenizer.ggml.pre"] === "starcoder"
      ? {
        type: "Sequence",
        pretokenizers: [{ type: "Digits", individual_digits: true }, byteLevel],
      }
      : byteLevel,
    post_processor: llama3
      ? {
        type: "Sequence",
        processors: [{ type: "ByteLevel", trim_offsets: false }, template(true)],
      }
      : { type: "ByteLevel", trim_offsets: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: llama3,
      vocab,
      merges: md["tokenizer.ggml.merges"] as string[],
    },
  };
}
