// Tokenizers against llama.cpp's tokenizer test vectors (test/fixtures/llama.cpp: Llama-2
// SentencePiece; GPT-2, Llama-3 and StarCoder byte-level BPE), from GGUF metadata and from equivalent
// tokenizer.json files; small hand-built tokenizer.json files; streaming decode; errors.
import assert from "node:assert/strict";
import { InputError } from "../src/errors.ts";
import { type GGUFFile, readGGUF } from "../src/io/gguf.ts";
import { writeGGUF } from "../src/io/gguf_write.ts";
import { BYTE_TO_CHAR } from "../src/tokenizer/byte_level.ts";
import {
  compilePattern,
  expandCaseInsensitiveGroups,
  GPT2_PATTERN,
  LLAMA3_PATTERN,
  splitByRegex,
  translatePattern,
} from "../src/tokenizer/regex.ts";
import { SymbolChain } from "../src/tokenizer/symbol_chain.ts";
import { Tokenizer } from "../src/tokenizer/tokenizer.ts";
import { tokenizerJSONFromGGUF } from "./gguf_to_tokenizer_json.ts";

const fixtures = new URL("./fixtures/llama.cpp/", import.meta.url);
const VOCABS = ["llama-spm", "gpt-2", "llama-bpe", "starcoder"] as const;
type VocabName = (typeof VOCABS)[number];

const files = new Map<VocabName, GGUFFile>();
function gguf(name: VocabName): GGUFFile {
  if (!files.has(name)) {
    files.set(name, readGGUF(Deno.readFileSync(new URL(`ggml-vocab-${name}.gguf`, fixtures))));
  }
  return files.get(name)!;
}
const fromGGUF = new Map<VocabName, Tokenizer>();
function tokenizer(name: VocabName): Tokenizer {
  if (!fromGGUF.has(name)) fromGGUF.set(name, Tokenizer.fromGGUF(gguf(name).metadata));
  return fromGGUF.get(name)!;
}

/** The vectors as llama.cpp's test-tokenizer-0 reads them. */
function vectors(name: VocabName): Array<[string, number[]]> {
  const raw = Deno.readTextFileSync(new URL(`ggml-vocab-${name}.gguf.inp`, fixtures));
  const sep = "\n__ggml_vocab_test__\n";
  const inputs: string[] = [];
  for (let pos = 0; pos < raw.length;) {
    const next = raw.indexOf(sep, pos);
    if (next < 0) {
      inputs.push(raw.slice(pos));
      break;
    }
    inputs.push(raw.slice(pos, next));
    pos = next + sep.length;
  }
  const lines = Deno.readTextFileSync(new URL(`ggml-vocab-${name}.gguf.out`, fixtures)).split("\n");
  if (lines.at(-1) === "") lines.pop();
  assert.equal(inputs.length, lines.length, `${name}: inputs vs outputs`);
  return inputs.map((
    s,
    i,
  ) => [s, lines[i].trim() === "" ? [] : lines[i].trim().split(" ").map(Number)]);
}

function throwsInput(f: () => unknown, ...needles: string[]): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${e}`);
    for (const n of needles) assert.ok(e.message.includes(n), `'${e.message}' lacks '${n}'`);
    return true;
  });
}

function checkVectors(name: VocabName, tok: Tokenizer): void {
  const vs = vectors(name);
  assert.equal(vs.length, 46);
  for (const [text, want] of vs) {
    const got = tok.encode(text, { addSpecial: false, parseSpecial: false });
    assert.deepEqual(got, want, `${name}: encode(${JSON.stringify(text)})`);
    // every vector is plain text, so decoding gives the input back (llama.cpp test-tokenizer-1)
    assert.equal(tok.decode(got), text, `${name}: decode(encode(${JSON.stringify(text)}))`);
  }
}

for (const name of VOCABS) {
  Deno.test(`llama.cpp vectors, ${name}, from GGUF: every encode equal, every round trip exact`, () => {
    checkVectors(name, tokenizer(name));
  });
  Deno.test(`llama.cpp vectors, ${name}, from an equivalent tokenizer.json: same ids`, () => {
    // tokenizer.json does not name a BOS; GPT-2's is <|endoftext|> (tokenizer_config.json)
    const opts = name === "gpt-2" || name === "starcoder" ? { bos: "<|endoftext|>" } : {};
    const json = JSON.stringify(tokenizerJSONFromGGUF(gguf(name).metadata));
    const tok = Tokenizer.fromJSON(json, opts);
    checkVectors(name, tok);
    const g = tokenizer(name);
    assert.equal(tok.vocabSize, g.vocabSize);
    assert.equal(tok.bos, g.bos);
    const long = vectors(name).map(([s]) => s).join(" <s> and <|begin_of_text|> ");
    assert.deepEqual(tok.encode(long), g.encode(long));
  });
}

Deno.test("special tokens: BOS per the file, control tokens matched whole or as text", () => {
  const spm = tokenizer("llama-spm");
  assert.deepEqual([spm.bos, spm.eos, spm.unk, spm.vocabSize], [1, 2, 0, 32000]);
  assert.deepEqual(spm.encode("Hello world"), [1, 15043, 3186]);
  assert.deepEqual(spm.encode("Hello world", { addSpecial: false }), [15043, 3186]);
  assert.deepEqual(spm.encode("<s>Hi</s>", { addSpecial: false }), [1, 6324, 2]);
  assert.ok(!spm.encode("<s>Hi", { addSpecial: false, parseSpecial: false }).includes(1));
  assert.equal(spm.decode([1, 15043, 3186, 2]), "<s> Hello world</s>");
  assert.equal(spm.decode([1, 15043, 3186, 2], { skipSpecial: true }), "Hello world");
  assert.equal(spm.idToToken(15043), "\u2581Hello");
  assert.equal(spm.tokenToId("\u2581Hello"), 15043);
  assert.equal(spm.idToToken(99999), null);
  assert.equal(spm.tokenToId("no such token"), null);
  assert.ok(spm.isSpecial(1) && !spm.isSpecial(15043));
  assert.equal(spm.kind, "spm");

  const l3 = tokenizer("llama-bpe");
  assert.deepEqual([l3.bos, l3.eos, l3.kind], [128000, 128001, "bpe"]);
  const chat = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
  const ids = l3.encode(chat);
  assert.equal(ids[0], 128000);
  assert.deepEqual(ids.filter((i) => i >= 128000), [128000, 128006, 128007, 128009]);
  assert.equal(l3.decode(ids), "<|begin_of_text|>" + chat);
  assert.equal(l3.decode(ids, { skipSpecial: true }), "user\n\nHi");
  assert.ok(!l3.encode(chat, { parseSpecial: false }).includes(128009));

  const g2 = tokenizer("gpt-2");
  assert.deepEqual(g2.encode("Hello world"), [15496, 995]); // gpt-2 adds no BOS
  assert.deepEqual(g2.encode("a<|endoftext|>b"), [64, 50256, 65]);
});

Deno.test("streaming decode holds back split UTF-8 characters and matches decode()", () => {
  const text = "Grüße 🚀🦙 日本語 — ok";
  for (const name of VOCABS) {
    const tok = tokenizer(name);
    const ids = tok.encode(text, { addSpecial: false });
    const stream = tok.decodeStream();
    const pieces = ids.map((id) => stream.push(id));
    pieces.push(stream.flush());
    assert.equal(pieces.join(""), text, name);
    assert.equal(pieces.join(""), tok.decode(ids), name);
    assert.ok(pieces.every((p) => !p.includes("\uFFFD")), `${name}: no replacement characters`);
    // the emoji are spelled with byte tokens somewhere, so some pushes must wait for more bytes
    assert.ok(
      pieces.slice(0, -1).some((p) => p === ""),
      `${name}: some token completed no character`,
    );
  }
  // a dangling partial character is reported as U+FFFD at the end
  const g2 = tokenizer("gpt-2");
  const rocket = g2.encode("🚀", { addSpecial: false });
  const s = g2.decodeStream();
  assert.equal(s.push(rocket.slice(0, -1)), "");
  assert.equal(s.flush(), "\uFFFD");
});

Deno.test("encode is fast: 10k characters well under a second", () => {
  const base = vectors("gpt-2").map(([s]) => s).join("\n");
  let text = "";
  for (let i = 0; text.length < 10000; i++) text += `${i} ${base} `;
  text = text.slice(0, 10000);
  for (const name of VOCABS) {
    const tok = tokenizer(name);
    const t0 = performance.now();
    const ids = tok.encode(text);
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `${name}: ${ms.toFixed(0)} ms`);
    assert.equal(tok.decode(ids, { skipSpecial: true }), text);
  }
});

// ---- small hand-built tokenizer.json files ---------------------------------------------------

function gpt2Style(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  BYTE_TO_CHAR.forEach((c, b) => (vocab[c] = b));
  ["he", "ll", "hell", "hello", "\u0120w", "\u0120wo"].forEach((t, i) => (vocab[t] = 256 + i));
  return {
    added_tokens: [{ id: 262, content: "<|endoftext|>", special: true }],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, use_regex: true },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ Sequence: { id: "A", type_id: 0 } }, {
        SpecialToken: { id: "<|endoftext|>", type_id: 0 },
      }],
      special_tokens: {
        "<|endoftext|>": { id: "<|endoftext|>", ids: [262], tokens: ["<|endoftext|>"] },
      },
    },
    decoder: { type: "ByteLevel" },
    model: {
      type: "BPE",
      vocab,
      merges: ["h e", "l l", "he ll", ["hell", "o"], "\u0120 w", "\u0120w o"],
    },
    ...extra,
  };
}

Deno.test("tokenizer.json, GPT-2 style: ranked merges, leftmost ties, template, byte round trip", () => {
  const tok = Tokenizer.fromJSON(gpt2Style());
  const [r, l, d] = ["r", "l", "d"].map((c) => c.charCodeAt(0));
  assert.deepEqual(tok.encode("hello world", { addSpecial: false }), [259, 261, r, l, d]);
  assert.deepEqual(tok.encode("hello world"), [259, 261, r, l, d, 262]); // template suffix
  assert.equal(tok.eos, 262);
  assert.deepEqual(tok.encode("lll", { addSpecial: false }), [257, l]); // leftmost pair first
  assert.deepEqual(tok.encode("x<|endoftext|>", { addSpecial: false }), [120, 262]);
  const text = "hello\tworld\n€ \u0085 done";
  assert.equal(tok.decode(tok.encode(text)), text + "<|endoftext|>");
  assert.equal(tok.decode(tok.encode(text), { skipSpecial: true }), text);
  const spaced = Tokenizer.fromJSON(
    gpt2Style({ pre_tokenizer: { type: "ByteLevel", add_prefix_space: true } }),
  );
  assert.deepEqual(spaced.encode("hello", { addSpecial: false }), [32, 259]); // " hello": Ġ is byte 32
});

function llama2Style(model: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  const vocab: Record<string, number> = { "<unk>": 0, "<s>": 1, "</s>": 2 };
  for (let b = 0; b < 256; b++) {
    vocab[`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`] = 3 + b;
  }
  ["\u2581", "\u2581h", "i", "h", "\u2581hi", "!"].forEach((t, i) => (vocab[t] = 259 + i));
  return {
    added_tokens: ["<unk>", "<s>", "</s>"].map((content, id) => ({ id, content, special: true })),
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: "\u2581" },
        { type: "Replace", pattern: { String: " " }, content: "\u2581" },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
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
      unk_token: "<unk>",
      fuse_unk: true,
      byte_fallback: true,
      vocab,
      merges: ["\u2581 h", "\u2581h i"],
      ...model,
    },
    ...extra,
  };
}

Deno.test("tokenizer.json, Llama-2 style: Prepend/Replace, byte fallback, fused unk, decoder strip", () => {
  const tok = Tokenizer.fromJSON(llama2Style());
  assert.deepEqual([tok.bos, tok.eos, tok.unk], [1, 2, 0]);
  assert.deepEqual(tok.encode("hi hi!"), [1, 263, 263, 264]);
  assert.equal(tok.decode([1, 263, 263, 264], { skipSpecial: true }), "hi hi!");
  const e = tok.encode("hé", { addSpecial: false }); // é = C3 A9 spelled with byte tokens
  assert.deepEqual(e, [260, 3 + 0xc3, 3 + 0xa9]);
  assert.equal(tok.decode(e), "hé");
  // each segment after a special token is normalized (prefixed) again, as in tokenizers
  assert.deepEqual(tok.encode("hi</s>hi", { addSpecial: false }), [263, 2, 263]);

  const unk = Tokenizer.fromJSON(llama2Style({ byte_fallback: false }));
  assert.deepEqual(unk.encode("héé!", { addSpecial: false }), [260, 0, 264]); // é é fused into one <unk>
  const noFuse = Tokenizer.fromJSON(llama2Style({ byte_fallback: false, fuse_unk: false }));
  assert.deepEqual(noFuse.encode("héé", { addSpecial: false }), [260, 0, 0]);
  assert.equal(noFuse.decode([260, 0, 0]), "h<unk><unk>");
});

Deno.test("tokenizer.json, Metaspace pre-tokenizer (prepend_scheme first) and decoder", () => {
  const tok = Tokenizer.fromJSON(llama2Style({}, {
    normalizer: null,
    pre_tokenizer: {
      type: "Metaspace",
      replacement: "\u2581",
      prepend_scheme: "first",
      split: false,
    },
    decoder: {
      type: "Sequence",
      decoders: [{ type: "Metaspace", replacement: "\u2581", prepend_scheme: "first" }, {
        type: "ByteFallback",
      }],
    },
  }));
  assert.deepEqual(tok.encode("hi hi"), [1, 263, 263]);
  // "first": only the segment that starts the input gets the prefix
  assert.deepEqual(tok.encode("<s>hi", { addSpecial: false }), [1, 262, 261]);
  assert.equal(tok.decode([263, 263]), "hi hi");
});

Deno.test("regex translation: Oniguruma classes, possessive quantifiers, (?i:) expansion", () => {
  assert.equal(translatePattern("\\s+(?!\\S)"), "\\p{White_Space}+(?!\\P{White_Space})");
  assert.equal(translatePattern("[^\\s\\p{L}]++x*+\\'"), "[^\\p{White_Space}\\p{L}]+x*'");
  assert.equal(translatePattern("\\d{1,3}+"), "\\p{Nd}{1,3}");
  assert.equal(expandCaseInsensitiveGroups("(?i:'s|'re)x"), "(?:'[sS]|'[rR][eE])x");
  // U+0085 is whitespace to Oniguruma and llama.cpp, not to JavaScript's \s
  const gpt2 = compilePattern(GPT2_PATTERN, "test");
  assert.deepEqual(splitByRegex("a\u0085\u0085b", gpt2), ["a", "\u0085", "\u0085", "b"]);
  // the expanded Llama-3 pattern splits every vector input as the native (?i:) one does
  const native = compilePattern(LLAMA3_PATTERN, "test");
  const expanded = new RegExp(expandCaseInsensitiveGroups(translatePattern(LLAMA3_PATTERN)), "gu");
  for (const [text] of vectors("llama-bpe")) {
    assert.deepEqual(
      splitByRegex(text + " I'M WE'RE", expanded),
      splitByRegex(text + " I'M WE'RE", native),
    );
  }
});

Deno.test("Split behaviours follow tokenizers' SplitDelimiterBehavior", () => {
  const dash = /-/gu;
  const text = "the-final--countdown";
  assert.deepEqual(splitByRegex(text, dash, "Isolated"), [
    "the",
    "-",
    "final",
    "-",
    "-",
    "countdown",
  ]);
  assert.deepEqual(splitByRegex(text, dash, "Removed"), ["the", "final", "countdown"]);
  assert.deepEqual(splitByRegex(text, dash, "MergedWithPrevious"), [
    "the-",
    "final-",
    "-",
    "countdown",
  ]);
  assert.deepEqual(splitByRegex(text, dash, "MergedWithNext"), [
    "the",
    "-final",
    "-",
    "-countdown",
  ]);
  assert.deepEqual(splitByRegex(text, dash, "Contiguous"), [
    "the",
    "-",
    "final",
    "--",
    "countdown",
  ]);
  assert.deepEqual(splitByRegex("ab-c", /[a-z]+/gu, "Removed", true), ["ab", "c"]);
});

// ---- errors ------------------------------------------------------------------------------------

Deno.test("malformed tokenizer.json: named errors", () => {
  throwsInput(() => Tokenizer.fromJSON("{not json"), "tokenizer.json is not valid JSON");
  throwsInput(() => Tokenizer.fromJSON({}), "'model' is missing");
  throwsInput(
    () => Tokenizer.fromJSON({ model: { type: "WordPiece", vocab: {} } }),
    "model type 'WordPiece'",
  );
  throwsInput(
    () => Tokenizer.fromJSON({ model: { type: "BPE", merges: [] } }),
    "model.vocab is missing",
  );
  throwsInput(
    () => Tokenizer.fromJSON({ model: { type: "BPE", vocab: { a: 0 } } }),
    "model.merges is missing",
  );
  throwsInput(
    () =>
      Tokenizer.fromJSON({
        model: { type: "BPE", vocab: { a: 0, b: 1, ab: 2 }, merges: ["a b", "a zz"] },
      }),
    "merge #1",
    '"zz"',
    "not in the vocabulary",
  );
  throwsInput(
    () => Tokenizer.fromJSON({ model: { type: "BPE", vocab: { a: 0 }, merges: [42] } }),
    "model.merges[0]",
  );
  throwsInput(
    () => Tokenizer.fromJSON({ model: { type: "BPE", vocab: { a: 0, b: 0 }, merges: [] } }),
    "id 0 to both",
  );
  throwsInput(
    () => Tokenizer.fromJSON(llama2Style({ unk_token: "<nope>" })),
    "unk_token",
    "<nope>",
  );
  throwsInput(
    () => Tokenizer.fromJSON(gpt2Style({ pre_tokenizer: { type: "BertPreTokenizer" } })),
    "pre_tokenizer",
    "'BertPreTokenizer'",
  );
  throwsInput(
    () =>
      Tokenizer.fromJSON(
        gpt2Style({ pre_tokenizer: { type: "Split", pattern: { Regex: "(?<" } } }),
      ),
    "cannot be compiled",
  );
  throwsInput(
    () => Tokenizer.fromJSON(gpt2Style({ normalizer: { type: "BertNormalizer" } })),
    "'BertNormalizer'",
  );
  throwsInput(
    () => Tokenizer.fromJSON(gpt2Style({ decoder: { type: "CTC" } })),
    "decoder",
    "'CTC'",
  );
  throwsInput(
    () => Tokenizer.fromJSON(gpt2Style({ post_processor: { type: "Nope" } })),
    "post_processor",
  );
  const noUnk = Tokenizer.fromJSON({ model: { type: "BPE", vocab: { a: 0 }, merges: [] } });
  throwsInput(
    () => noUnk.encode("ab"),
    '"b" (U+0062)',
    "neither an unknown token nor byte fallback",
  );
  throwsInput(() => noUnk.decode([5]), "token id 5 is not in the vocabulary");
  throwsInput(() => noUnk.encode(7 as unknown as string), "expects a string");
});

Deno.test("GGUF tokenizer metadata errors", () => {
  const reference = readGGUF(Deno.readFileSync(new URL("../gguf/reference.gguf", fixtures)));
  throwsInput(() => Tokenizer.fromGGUF(reference.metadata), "no tokenizer", "tokenizer.ggml.model");
  const md = { ...gguf("gpt-2").metadata };
  throwsInput(
    () => Tokenizer.fromGGUF({ ...md, "tokenizer.ggml.pre": "no-such-pre" }),
    "'no-such-pre' is not supported",
  );
  throwsInput(
    () => Tokenizer.fromGGUF({ ...md, "tokenizer.ggml.model": "bert" }),
    '"bert" is not supported',
  );
  const { "tokenizer.ggml.merges": _m, ...noMerges } = md;
  throwsInput(() => Tokenizer.fromGGUF(noMerges), "'tokenizer.ggml.merges'");
  throwsInput(
    () => Tokenizer.fromGGUF({ ...md, "tokenizer.ggml.bos_token_id": 60000 }),
    "outside the vocabulary",
  );
  throwsInput(
    () => Tokenizer.fromGGUF({ ...md, "tokenizer.ggml.tokens": [1, 2] }),
    "array of strings",
  );
  // a GGUF written by writeGGUF loads the same tokenizer (metadata survives the round trip)
  const small = {
    "tokenizer.ggml.model": "gpt2",
    "tokenizer.ggml.pre": "default",
    "tokenizer.ggml.tokens": BYTE_TO_CHAR.slice(),
    "tokenizer.ggml.merges": [],
  };
  const tok = Tokenizer.fromGGUF(readGGUF(writeGGUF(small)));
  assert.equal(tok.decode(tok.encode("Hi, 123 ok")), "Hi, 123 ok");
});

Deno.test("SymbolChain: merges unlink the right symbol and relink its neighbours", () => {
  const c = new SymbolChain(4);
  assert.deepEqual([...c.next], [1, 2, 3, -1]);
  assert.deepEqual([...c.prev], [-1, 0, 1, 2]);
  c.absorb(1, 2); // 0 [1 2] 3
  assert.deepEqual([...c.next].filter((_, i) => i !== 2), [1, 3, -1]);
  assert.equal(c.prev[3], 1);
  c.absorb(1, 3); // the last symbol: nothing after it to relink
  assert.equal(c.next[1], -1);
  c.absorb(0, 1);
  assert.equal(c.next[0], -1);
  assert.deepEqual([...new SymbolChain(0).next], []);
});
