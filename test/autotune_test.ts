// Compile-time autotuning: the chosen matmul tile config is correct, and it is remembered in the
// persistent tuning cache, so a second process benchmarks nothing.
import assert from "node:assert/strict";
import { lastJson, runDenoScript } from "./helpers.ts";

const script = (cacheUrl: string) => `
  import { compile, interpret } from "${new URL("../src/mod.ts", import.meta.url).href}";
  import { counters } from "${new URL("../src/inductor/counters.ts", import.meta.url).href}";
  void "${cacheUrl}";
  const cg = compile((a, b, c) => a.matmul(b).add(c).relu(), {
    inputs: [{ shape: [40, 24] }, { shape: [24, 36] }, { shape: [36] }],
    config: { "inductor.maxAutotune": true },
  });
  const ins = [new Float32Array(960).map((_, i) => Math.sin(i)), new Float32Array(864).map((_, i) => Math.cos(i)), new Float32Array(36).fill(0.1)];
  const [got] = await cg.run(ins);
  const [want] = interpret(cg.graph, ins);
  let err = 0;
  for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
  console.log(JSON.stringify({ err, benchmarks: counters.autotuneBenchmarks, runs: counters.autotuneRuns }));
`;

Deno.test("autotuning picks a correct config and persists it across processes", async () => {
  const dir = await Deno.makeTempDir();
  const run = async () =>
    lastJson(
      await runDenoScript(script(dir), ["-A"], { WEBGPU_INDUCTOR_CACHE_DIR: `${dir}/cache` }),
    );
  try {
    const first = await run();
    assert.ok(first.err < 1e-4, `max error ${first.err}`);
    assert.equal(first.runs, 1);
    assert.equal(first.benchmarks, 1, "the first process benchmarks the matmul");
    const stored = JSON.parse(await Deno.readTextFile(`${dir}/cache/tuning.json`));
    assert.equal(Object.keys(stored).length, 1);
    const second = await run();
    assert.ok(second.err < 1e-4);
    assert.equal(second.benchmarks, 0, "the second process finds the choice in the cache");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const reductionScript = `
  import { compile, interpret } from "${new URL("../src/mod.ts", import.meta.url).href}";
  import { counters } from "${new URL("../src/inductor/counters.ts", import.meta.url).href}";
  const cg = compile((x) => x.softmax(-1), {
    inputs: [{ shape: [96, 256] }],
    config: { "inductor.maxAutotune": true },
  });
  const ins = [new Float32Array(96 * 256).map((_, i) => Math.sin(i) * 4)];
  const [got] = await cg.run(ins);
  const [want] = interpret(cg.graph, ins);
  let err = 0;
  for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
  const wgsl = cg.kernelSpecs().map((k) => k.wgsl).join("\\n");
  console.log(JSON.stringify({ err, benchmarks: counters.autotuneBenchmarks, wgsl }));
`;

Deno.test("autotuning times reduction layouts and persists the choice", async () => {
  const dir = await Deno.makeTempDir();
  const run = async () =>
    lastJson(
      await runDenoScript(reductionScript, ["-A"], { WEBGPU_INDUCTOR_CACHE_DIR: `${dir}/cache` }),
    );
  try {
    const first = await run();
    assert.ok(first.err < 1e-5, `max error ${first.err}`);
    assert.equal(first.benchmarks, 1, "the softmax kernel's layouts are timed");
    const second = await run();
    assert.ok(second.err < 1e-5);
    assert.equal(second.benchmarks, 0, "the second process finds the layout in the cache");
    assert.equal(second.wgsl, first.wgsl, "and runs the same kernel");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
