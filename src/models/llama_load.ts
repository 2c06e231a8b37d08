// loadLlama: a Hugging Face model folder (a path in Deno, a URL in a page) or in-memory parts to
// a LlamaModel. The folder holds config.json, model.safetensors (or sharded files listed in
// model.safetensors.index.json) and usually tokenizer.json (without it, prompts must be token
// ids); a missing file is an error naming it.
// Progress is reported while files download and graphs compile.
import { InputError } from "../errors.ts";
import { joinPath, readBytes, readText } from "../io/bytes.ts";
import { type HostTensor, readSafetensors } from "../io/safetensors.ts";
import { Tokenizer } from "../tokenizer/tokenizer.ts";
import { LlamaModel, type ModelOptions } from "./llama.ts";
import { type LlamaConfig, parseLlamaConfig } from "./llama_config.ts";
import { llamaWeightShapes, type WeightSource } from "./llama_weights.ts";
import type { TextTokenizer } from "./text_stream.ts";

/** In-memory parts of a model. */
export interface LlamaParts {
  /** config.json's object (or a parsed LlamaConfig). */
  config: Record<string, unknown> | LlamaConfig;
  /** Weights by HF name. */
  weights: WeightSource;
  /** A tokenizer, or tokenizer.json's object / text. */
  tokenizer?: TextTokenizer | Record<string, unknown> | string | null;
}

export type LoadProgress =
  | { phase: "download"; file: string; loaded: number; total: number | null }
  | { phase: "upload"; tensors: number }
  | { phase: "compile" | "prepare"; tokens: number; done: number; total: number }
  | { phase: "ready" };

export interface LoadOptions extends ModelOptions {
  /** Compile and prepare these token buckets before returning (default: the decode bucket
   * only; `true`: every bucket; `false`: none, each compiles on first use). */
  warmup?: boolean | number[];
  onLoadProgress?: (p: LoadProgress) => void;
}

/** Loads a Llama model from a folder (path or URL) or from in-memory parts. */
export async function loadLlama(
  src: string | URL | LlamaParts,
  opts: LoadOptions = {},
): Promise<LlamaModel> {
  const parts = typeof src === "string" || src instanceof URL
    ? await readFolder(src, opts.onLoadProgress)
    : src;
  const folder = typeof src === "string" || src instanceof URL ? src : null;
  const config = isParsed(parts.config) ? parts.config : parseLlamaConfig(
    parts.config,
    folder ? String(joinPath(folder, "config.json")) : "config",
  );
  const tokenizer = toTokenizer(parts.tokenizer ?? null);
  const model = await LlamaModel.create(config, parts.weights, {
    ...opts,
    tokenizer,
    source: folder ? String(joinPath(folder, "model.safetensors")) : "weights",
  });
  opts.onLoadProgress?.({ phase: "upload", tensors: llamaWeightShapes(config).size });
  const r = model.runner;
  const buckets = opts.warmup === true
    ? r.captureSizes
    : Array.isArray(opts.warmup)
    ? opts.warmup.map((n) => r.bucketFor(n))
    : opts.warmup === false
    ? []
    : [r.bucketFor(1)];
  let done = 0;
  for (const b of buckets) {
    opts.onLoadProgress?.({ phase: "compile", tokens: b, done, total: buckets.length });
    await r.warmup([b]);
    opts.onLoadProgress?.({ phase: "prepare", tokens: b, done: ++done, total: buckets.length });
  }
  opts.onLoadProgress?.({ phase: "ready" });
  return model;
}

function isParsed(c: unknown): c is LlamaConfig {
  return typeof c === "object" && c !== null && "hiddenSize" in c && "numLayers" in c;
}

function toTokenizer(t: LlamaParts["tokenizer"]): TextTokenizer | null {
  if (t === null || t === undefined) return null;
  if (typeof t === "string") return Tokenizer.fromJSON(t);
  if (typeof (t as TextTokenizer).encode === "function") return t as TextTokenizer;
  return Tokenizer.fromJSON(t as Record<string, unknown>);
}

/** Reads config.json, tokenizer.json and the safetensors weights of a folder. */
async function readFolder(
  dir: string | URL,
  onProgress?: (p: LoadProgress) => void,
): Promise<LlamaParts> {
  const text = async (file: string): Promise<string> => {
    try {
      return await readText(joinPath(dir, file));
    } catch (e) {
      throw missing(dir, file, e);
    }
  };
  const json = (file: string, s: string): Record<string, unknown> => {
    try {
      return JSON.parse(s);
    } catch (e) {
      throw new InputError(`${joinPath(dir, file)}: not valid JSON (${(e as Error).message})`);
    }
  };
  const config = json("config.json", await text("config.json"));
  const tokenizer = await readText(joinPath(dir, "tokenizer.json")).catch(() => null);
  const weights: Record<string, HostTensor> = {};
  /** The file's bytes, or the error reading it (not found, no permission, HTTP status). */
  const fetchFile = (file: string): Promise<Uint8Array | Error> =>
    readBytes(joinPath(dir, file), {
      onProgress: (loaded, total) => onProgress?.({ phase: "download", file, loaded, total }),
    }).catch((e) => e as Error);
  // a malformed file is reported by the reader, naming the file and tensor
  const parse = (file: string, bytes: Uint8Array) =>
    Object.assign(weights, readSafetensors(bytes, { source: String(joinPath(dir, file)) }));
  const single = await fetchFile("model.safetensors");
  if (!(single instanceof Error)) parse("model.safetensors", single);
  else {
    // no single file: a sharded checkpoint lists its files in model.safetensors.index.json
    const index = await readText(joinPath(dir, "model.safetensors.index.json")).catch(() => null);
    if (index === null) throw missing(dir, "model.safetensors", single);
    const map = json("model.safetensors.index.json", index).weight_map;
    if (!map || typeof map !== "object") {
      throw new InputError(
        `${joinPath(dir, "model.safetensors.index.json")}: no 'weight_map' object`,
      );
    }
    for (const file of [...new Set(Object.values(map as Record<string, string>))].sort()) {
      const bytes = await fetchFile(file);
      if (bytes instanceof Error) throw missing(dir, file, bytes);
      parse(file, bytes);
    }
  }
  return { config, weights, tokenizer };
}

function missing(dir: string | URL, file: string, e: unknown): Error {
  return new InputError(
    `model folder ${String(dir)}: cannot read ${file} (${(e as Error).message}); a Llama folder ` +
      `holds config.json, model.safetensors and tokenizer.json`,
  );
}
