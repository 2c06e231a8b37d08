// The pieces a Tokenizer is assembled from, whichever file they were read from
// (tokenizer.json: from_json.ts, GGUF metadata: from_gguf.ts).
import type { AddedToken } from "./added_tokens.ts";
import type { DecoderSpec } from "./decode.ts";
import type { Normalizer } from "./normalize.ts";
import type { PreTokenizer } from "./pretokenize.ts";

/** Turns one pre-tokenized word into ids (BPEModel, SPMModel). */
export interface WordModel {
  tokenize(word: string, out: number[]): void;
}

export interface TokenizerParts {
  /** "bpe" (merge ranks) or "spm" (SentencePiece scores). */
  kind: "bpe" | "spm";
  /** Token text by id; holes are undefined. */
  idToToken: (string | undefined)[];
  tokenToId: Map<string, number>;
  normalizer: Normalizer | null;
  preTokenizer: PreTokenizer | null;
  model: WordModel;
  addedTokens: AddedToken[];
  decoder: DecoderSpec;
  /** Ids added around the text when encoding with addSpecial. */
  prefix: number[];
  suffix: number[];
  bos: number | null;
  eos: number | null;
  unk: number | null;
}
