// `deno task generate`: argument parsing, and the command itself (a child process) printing one
// JSON object whose greedy ids equal the library's for the same prompt.
import assert from "node:assert/strict";
import { DEFAULT_MODEL, DEFAULT_PROMPT, describeProgress, parseArgs } from "../demo/generate.ts";
import { loadLlama } from "../src/mod.ts";
import { runDeno } from "./helpers.ts";

Deno.test("generate CLI: options, defaults and bad values", () => {
  const d = parseArgs([]);
  assert.equal(d.model, DEFAULT_MODEL);
  assert.equal(d.prompt, DEFAULT_PROMPT);
  assert.equal(d.temperature, 0, "greedy by default");
  const a = parseArgs([
    "--model=/m",
    "--prompt",
    "hi there",
    "--max-tokens",
    "7",
    "--temperature=0.5",
    "--top-k",
    "3",
    "--top-p",
    "0.9",
    "--seed",
    "42",
    "--json",
  ]);
  assert.deepEqual(a, {
    model: "/m",
    prompt: "hi there",
    maxTokens: 7,
    temperature: 0.5,
    topK: 3,
    topP: 0.9,
    seed: 42,
    json: true,
  });
  assert.throws(() => parseArgs(["--max-tokens", "2.5"]), /--max-tokens needs an integer/);
  assert.throws(() => parseArgs(["--bogus"]), /unknown option --bogus/);
  assert.throws(() => parseArgs(["stray"]), /unexpected argument 'stray'/);
  assert.match(
    describeProgress({ phase: "download", file: "model.safetensors", loaded: 1e6, total: 2e6 }),
    /model\.safetensors: 1\.0 \/ 2\.0 MB/,
  );
});

Deno.test("generate CLI: --json prints the same greedy ids as the library", async () => {
  const prompt = "Computers are";
  const run = await runDeno([
    "-A",
    new URL("../demo/generate.ts", import.meta.url).pathname,
    "--prompt",
    prompt,
    "--max-tokens",
    "6",
    "--json",
  ]);
  assert.ok(run.success, run.stderr);
  const out = JSON.parse(run.stdout);
  assert.deepEqual(Object.keys(out).sort(), [
    "decode_tokens_per_s",
    "ids",
    "kernels_per_step",
    "partitions",
    "prefill_tokens_per_s",
    "prompt_ids",
    "text",
  ]);
  const m = await loadLlama(DEFAULT_MODEL, { warmup: false });
  try {
    const ids: number[] = [];
    for await (const t of m.generate(prompt, { maxTokens: 6 })) ids.push(t.id);
    assert.deepEqual(out.prompt_ids, m.lastGeneration!.promptIds);
    assert.deepEqual(out.ids, ids);
    assert.equal(out.text, m.lastGeneration!.text);
    assert.equal(out.kernels_per_step, m.decodeStats.kernels);
    assert.equal(out.partitions, 2 * m.config.numLayers + 1);
    assert.ok(out.decode_tokens_per_s > 0 && out.prefill_tokens_per_s > 0);
    assert.match(run.stderr, /ready/, "progress goes to stderr");
  } finally {
    await m.dispose();
  }
});
