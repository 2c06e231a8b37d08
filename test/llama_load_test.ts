// loadLlama on folders: the bundled model's prompt encoding and a short greedy run, and bad
// folders — a missing file, another architecture, inconsistent sizes, wrong-shaped or missing
// weights, no tokenizer, a prompt longer than the context — each a clear error naming the file,
// key or tensor.
import assert from "node:assert/strict";
import { InputError, loadLlama, ShapeError } from "../src/mod.ts";
import { readSafetensors, writeSafetensors } from "../src/io/safetensors.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const ODD = `${ROOT}test/fixtures/llama-odd`;
const TINY = `${ROOT}demo/tiny-llama`;

/** A copy of llama-odd with `edit` applied to its config and weights. */
async function oddCopy(
  edit: (
    config: Record<string, unknown>,
    weights: ReturnType<typeof readSafetensors>,
  ) => void = () => {},
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "llama-load-" });
  const config = JSON.parse(await Deno.readTextFile(`${ODD}/config.json`));
  const weights = readSafetensors(await Deno.readFile(`${ODD}/model.safetensors`));
  edit(config, weights);
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
  await Deno.writeFile(`${dir}/model.safetensors`, writeSafetensors(weights));
  return dir;
}

async function rejects(
  p: Promise<unknown>,
  cls: new (m: string) => Error,
  re: RegExp,
): Promise<void> {
  await assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof cls, `${e.name}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

Deno.test("load: the bundled model encodes prompts with its bos and generates", async () => {
  const m = await loadLlama(TINY, { warmup: false });
  try {
    assert.deepEqual(m.encode("The meaning of life is"), [0, 316, 450, 271, 279, 288, 650, 302]);
    const toks = [];
    for await (const t of m.generate("A fortune:", { maxTokens: 5 })) toks.push(t);
    assert.equal(toks.length, 5);
    assert.equal(m.lastGeneration!.text, toks.map((t) => t.text).join(""));
  } finally {
    await m.dispose();
  }
});

Deno.test("load: a folder missing a file names the file", async () => {
  const dir = await oddCopy();
  try {
    await Deno.remove(`${dir}/model.safetensors`);
    await rejects(loadLlama(dir), InputError, /cannot read model\.safetensors/);
    await Deno.remove(`${dir}/config.json`);
    await rejects(loadLlama(dir), InputError, /cannot read config\.json/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("load: another architecture or inconsistent sizes name config.json and the key", async () => {
  for (
    const [edit, re] of [
      [
        (c: Record<string, unknown>) => (c.architectures = ["GPT2LMHeadModel"]),
        /config\.json: architecture \["GPT2LMHeadModel"\] is not supported/,
      ],
      [
        (c: Record<string, unknown>) => (c.num_key_value_heads = 4),
        /config\.json: num_attention_heads 6 is not a multiple of num_key_value_heads 4/,
      ],
    ] as const
  ) {
    const dir = await oddCopy(edit);
    try {
      await rejects(loadLlama(dir), InputError, re);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("load: wrong-shaped and missing weights name the tensor and the file", async () => {
  let dir = await oddCopy((_c, w) => {
    const t = w["model.layers.2.mlp.down_proj.weight"];
    w["model.layers.2.mlp.down_proj.weight"] = { ...t, shape: [100, 72] };
  });
  try {
    await rejects(
      loadLlama(dir),
      ShapeError,
      /model\.safetensors: weight 'model\.layers\.2\.mlp\.down_proj\.weight' has shape \[100, 72\], the config needs \[72, 100\]/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  dir = await oddCopy((_c, w) => delete w["lm_head.weight"]);
  try {
    await rejects(
      loadLlama(dir),
      InputError,
      /model\.safetensors: missing 1 weight\(s\) the config needs: lm_head\.weight/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("load: without tokenizer.json text prompts are refused, ids work; long prompts refused", async () => {
  const dir = await oddCopy();
  const m = await loadLlama(dir, { warmup: false });
  try {
    assert.throws(
      () => m.generate("hello"),
      /a text prompt needs a tokenizer \(this model has none: no tokenizer\.json\)/,
    );
    const ids = [];
    for await (const t of m.generate([3, 4, 5], { maxTokens: 3, ignoreEos: true })) ids.push(t.id);
    assert.equal(ids.length, 3);
    // llama-odd's context is 64 tokens
    // refused at the call, before any step runs
    assert.throws(
      () => m.generate(new Array(64).fill(3)),
      /the prompt is 64 tokens, longer than the context allows \(64 tokens/,
    );
    assert.throws(() => m.generate([3, 97]), /prompt token 97 is outside the vocabulary \[0, 97\)/);
    assert.throws(() => m.generate([3], { temperature: -1 }), /temperature must be a number ≥ 0/);
  } finally {
    await m.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("load: a sharded checkpoint (model.safetensors.index.json) loads like one file", async () => {
  const dir = await oddCopy();
  const one = await loadLlama(dir, { warmup: false });
  const want = await one.forward([5, 6, 7]);
  await one.dispose();
  const w = readSafetensors(await Deno.readFile(`${dir}/model.safetensors`));
  const names = Object.keys(w);
  const half = Math.ceil(names.length / 2);
  const shards = [names.slice(0, half), names.slice(half)];
  const weightMap: Record<string, string> = {};
  for (const [i, part] of shards.entries()) {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    await Deno.writeFile(
      `${dir}/${file}`,
      writeSafetensors(Object.fromEntries(part.map((n) => [n, w[n]]))),
    );
    for (const n of part) weightMap[n] = file;
  }
  await Deno.remove(`${dir}/model.safetensors`);
  await Deno.writeTextFile(
    `${dir}/model.safetensors.index.json`,
    JSON.stringify({ weight_map: weightMap }),
  );
  const m = await loadLlama(dir, { warmup: false });
  try {
    assert.deepEqual(await m.forward([5, 6, 7]), want);
    await Deno.remove(`${dir}/model-00002-of-00002.safetensors`);
    await rejects(loadLlama(dir), InputError, /cannot read model-00002-of-00002\.safetensors/);
  } finally {
    await m.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});
