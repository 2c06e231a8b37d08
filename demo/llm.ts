// `deno task demo`: load the bundled tiny Llama (demo/tiny-llama, trained on fortune cookies),
// compile its step graphs vLLM-style (a graph per token bucket, split at the paged attention op),
// generate text for a few prompts, and print prefill and decode tokens/s, kernels per decode step
// and the decode step's partitions. The decoder-block demo is `deno task demo:decoder`.
import { getDevice, loadLlama } from "../src/mod.ts";
import { DEFAULT_MODEL, describeProgress } from "./generate.ts";

const PROMPTS = ["The secret of a happy life is", "Q: Why did the chicken cross the road?\nA:"];

const enc = new TextEncoder();
const out = (s: string) => Deno.stdout.writeSync(enc.encode(s));
const h = await getDevice();
out(`adapter: ${h.info}\n`);
const t0 = performance.now();
const model = await loadLlama(Deno.args[0] ?? DEFAULT_MODEL, {
  warmup: true,
  onLoadProgress: (p) => {
    if (p.phase !== "download") out(`  ${describeProgress(p)}\n`);
  },
});
const c = model.config;
out(
  `model: ${c.numLayers} layers, hidden ${c.hiddenSize}, ${c.numHeads} heads (${c.numKvHeads} kv), ` +
    `head ${c.headDim}, vocab ${c.vocabSize}, context ${model.runner.maxModelLen}, ` +
    `${model.weightDtype} weights; loaded and compiled in ${
      (performance.now() - t0).toFixed(0)
    } ms (token buckets ${model.runner.captureSizes.join(", ")})\n\n`,
);
for (const prompt of PROMPTS) {
  out(`> ${prompt}`);
  for await (const t of model.generate(prompt, { maxTokens: 48, temperature: 0 })) out(t.text);
  const r = model.lastGeneration!;
  out(
    `\n  [prefill ${r.promptIds.length} tokens: ${r.prefillTokensPerS.toFixed(0)} tokens/s; ` +
      `decode ${r.decodeSteps} steps: ${r.decodeTokensPerS.toFixed(1)} tokens/s; ` +
      `finish: ${r.finishReason}]\n\n`,
  );
}
const s = model.decodeStats;
const g = model.runner.graph(model.runner.bucketFor(1));
const devMs = await model.runner.timeDevice(1, 20);
out(
  `decode step: ${s.kernels} kernels, ${s.partitions} partitions (${s.replayablePartitions} ` +
    `recorded once and replayed, the rest are the ${c.numLayers} paged attentions); ` +
    `device time ${devMs.toFixed(2)} ms per step (replays, no readback)\n`,
);
for (const line of g.explain().split("\n").filter((l) => l.startsWith("partition "))) {
  out(`  ${line.length > 150 ? line.slice(0, 147) + "..." : line}\n`);
}
await model.dispose();
