// Checks that need no GPU: HF config parsing, weight checks, sampling and streaming text.
import assert from "node:assert/strict";
import { InputError, ShapeError } from "../src/mod.ts";
import { parseLlamaConfig, ropeInvFreq } from "../src/models/llama_config.ts";
import { checkLlamaWeights, llamaWeightShapes } from "../src/models/llama_weights.ts";
import { argmax, Sampler } from "../src/models/sampling.ts";
import { TextStream, type TextTokenizer } from "../src/models/text_stream.ts";
import { hfConfig, randomWeights, tinyConfig } from "./llama_reference.ts";

Deno.test("config: HF keys, defaults and derived head_dim", () => {
  const c = parseLlamaConfig(hfConfig(tinyConfig()));
  assert.deepEqual(
    [c.hiddenSize, c.numHeads, c.numKvHeads, c.headDim, c.numLayers, c.vocabSize],
    [32, 4, 2, 8, 2, 64],
  );
  const j = hfConfig(tinyConfig());
  delete j.head_dim;
  delete j.num_key_value_heads;
  const d = parseLlamaConfig(j);
  assert.equal(d.headDim, 8);
  assert.equal(d.numKvHeads, 4, "num_key_value_heads defaults to num_attention_heads");
  assert.deepEqual(parseLlamaConfig({ ...j, eos_token_id: [1, 5] }).eosTokenIds, [1, 5]);
});

Deno.test("config: unsupported architectures and inconsistent sizes name the key", () => {
  const j = hfConfig(tinyConfig());
  const bad = (over: Record<string, unknown>, re: RegExp) =>
    assert.throws(() => parseLlamaConfig({ ...j, ...over }, "m/config.json"), (e: Error) => {
      assert.ok(e instanceof InputError, e.message);
      assert.match(e.message, /^m\/config\.json: /);
      assert.match(e.message, re);
      return true;
    });
  bad(
    { architectures: ["Qwen2ForCausalLM"] },
    /architecture \["Qwen2ForCausalLM"\] is not supported/,
  );
  bad(
    { num_key_value_heads: 3 },
    /num_attention_heads 4 is not a multiple of num_key_value_heads 3/,
  );
  bad(
    { head_dim: undefined, hidden_size: 30 },
    /hidden_size 30 is not divisible by num_attention_heads 4/,
  );
  bad({ head_dim: 7 }, /head_dim 7 must be even/);
  bad({ hidden_size: -1 }, /'hidden_size' must be a positive integer/);
  bad({ vocab_size: undefined }, /missing required key 'vocab_size'/);
  bad({ hidden_act: "gelu" }, /hidden_act "gelu" is not supported/);
  bad({ rope_scaling: { type: "yarn", factor: 2 } }, /rope_scaling type "yarn" is not supported/);
  bad({ attention_bias: true }, /'attention_bias': true is not supported/);
});

Deno.test("config: llama3 rope scaling leaves high frequencies and divides low ones", () => {
  const base = parseLlamaConfig(hfConfig(tinyConfig({ headDim: 64, hiddenSize: 256 })));
  const scaled = parseLlamaConfig({
    ...hfConfig(tinyConfig({ headDim: 64, hiddenSize: 256 })),
    rope_theta: 500000,
    rope_scaling: {
      rope_type: "llama3",
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    },
  });
  const a = ropeInvFreq({ ...base, ropeTheta: 500000 }), b = ropeInvFreq(scaled);
  assert.equal(b[0], a[0], "the highest frequency is unchanged");
  assert.ok(Math.abs(b[31] - a[31] / 8) < 1e-15, "the lowest frequency is divided by factor");
});

Deno.test("weights: missing, unexpected, wrong-shaped and wrong-dtype weights name the tensor", () => {
  const c = tinyConfig();
  const w = randomWeights(c, 1);
  assert.equal(checkLlamaWeights(c, w, "f32").size, llamaWeightShapes(c).size);
  const without = new Map(w);
  without.delete("model.layers.1.mlp.up_proj.weight");
  assert.throws(
    () => checkLlamaWeights(c, without, "f32", "model.safetensors"),
    /model\.safetensors: missing 1 weight\(s\) the config needs: model\.layers\.1\.mlp\.up_proj\.weight/,
  );
  const extra = new Map(w).set(
    "model.layers.2.mlp.up_proj.weight",
    w.get("model.layers.1.mlp.up_proj.weight")!,
  );
  assert.throws(
    () => checkLlamaWeights(c, extra, "f32"),
    /unexpected weight\(s\) model\.layers\.2\.mlp\.up_proj\.weight/,
  );
  const wrong = new Map(w).set("model.layers.0.self_attn.k_proj.weight", {
    shape: [32, 32],
    data: new Float32Array(32 * 32),
  });
  assert.throws(() => checkLlamaWeights(c, wrong, "f32"), (e: Error) => {
    assert.ok(e instanceof ShapeError);
    assert.match(
      e.message,
      /'model\.layers\.0\.self_attn\.k_proj\.weight' has shape \[32, 32\], the config needs \[16, 32\]/,
    );
    return true;
  });
  const ints = new Map(w).set("model.norm.weight", { shape: [32], data: new Int32Array(32) });
  assert.throws(
    () => checkLlamaWeights(c, ints, "f32"),
    /'model\.norm\.weight' is i32; f32 and f16/,
  );
  // tied embeddings: a stored lm_head is tolerated, rotary buffers are ignored
  const tolerated = new Map(w)
    .set("lm_head.weight", w.get("model.embed_tokens.weight")!)
    .set("model.layers.0.self_attn.rotary_emb.inv_freq", { shape: [4], data: new Float32Array(4) });
  assert.equal(checkLlamaWeights(c, tolerated, "f32").size, llamaWeightShapes(c).size);
  // narrowing to f16 on the host
  const f16 = checkLlamaWeights(c, w, "f16");
  assert.ok(f16.get("model.norm.weight") instanceof Float16Array);
});

Deno.test("sampling: greedy, top-k 1 and tiny top-p are argmax; a seed reproduces draws", () => {
  const row = Float32Array.from([0.1, 2.5, -1, 2.5, 0.3]);
  assert.equal(argmax(row), 1, "first index on ties");
  assert.equal(new Sampler({ temperature: 0 }).sample(row), 1);
  assert.equal(new Sampler({ temperature: 1, topK: 1, seed: 3 }).sample(row), 1);
  assert.equal(new Sampler({ temperature: 1, topP: 1e-6, seed: 3 }).sample(row), 1);
  const draw = (seed: number) => {
    const s = new Sampler({ temperature: 0.8, topK: 4, topP: 0.95, seed });
    return Array.from({ length: 50 }, () => s.sample(row));
  };
  assert.deepEqual(draw(11), draw(11));
  assert.notDeepEqual(draw(11), draw(12));
  assert.ok(draw(11).every((i) => i !== 2), "top-k 4 drops the least likely token");
  // frequencies follow softmax(row / T) for T = 1
  const s = new Sampler({ temperature: 1, seed: 5 });
  const counts = new Array(5).fill(0);
  for (let i = 0; i < 20000; i++) counts[s.sample(row)]++;
  const z = [...row].reduce((a, x) => a + Math.exp(x), 0);
  counts.forEach((n, i) =>
    assert.ok(Math.abs(n / 20000 - Math.exp(row[i]) / z) < 0.02, `token ${i}: ${n / 20000}`)
  );
  assert.throws(() => new Sampler({ temperature: -1 }), /temperature must be a number ≥ 0/);
  assert.throws(() => new Sampler({ topP: 0 }), /topP must be in \(0, 1\]/);
  assert.throws(() => new Sampler({ topK: 1.5 }), /topK must be an integer/);
});

/** Bytes as tokens: 'é' is two tokens, so its first half decodes to U+FFFD. */
const BYTES: TextTokenizer = {
  encode: (t) => [...new TextEncoder().encode(t)],
  decode: (ids) => new TextDecoder().decode(Uint8Array.from(ids)),
};
/** The same with a streaming decoder (as src/tokenizer's Tokenizer has). */
const STREAMING: TextTokenizer = {
  ...BYTES,
  decodeStream: () => {
    const d = new TextDecoder();
    return {
      push: (ids) =>
        d.decode(Uint8Array.from(typeof ids === "number" ? [ids] : ids), { stream: true }),
      flush: () => d.decode(),
    };
  },
};

for (const [name, tok] of [["decode", BYTES], ["decodeStream", STREAMING]] as const) {
  Deno.test(`text stream (${name}): holds back incomplete characters, cuts at stop strings`, () => {
    const s = new TextStream(tok, ["END"]);
    const pieces = BYTES.encode("café ENDx").map((id) => s.push(id));
    assert.deepEqual(pieces.slice(0, 5).map((p) => p.text), ["c", "a", "f", "", "é"]);
    const stopAt = pieces.findIndex((p) => p.stopped);
    assert.equal(stopAt, 8, "stopped on the D of END");
    assert.equal(s.text, "café ", "the stop string is not part of the text");
    assert.equal(
      pieces.map((p) => p.text).join(""),
      "café ",
      "'E' and 'EN' are held back: they may start the stop string",
    );
    const t = new TextStream(tok, ["END"]);
    const streamed = BYTES.encode("an E").map((id) => t.push(id).text).join("");
    assert.equal(streamed + t.flush(), "an E", "held-back text comes out at the end");
  });
}
