// The demo's program analysis and drawings, checked in Deno without a GPU: every model the page
// offers compiles in both modes, and the steps, edges and memory plan it draws agree with the
// compiler's own counts (CompiledGraph.stats).
import assert from "node:assert/strict";
import { compile } from "../../src/mod.ts";
import { analyze, compareArrays, median } from "../../demo/analysis.ts";
import { buildModel, MODEL_NAMES } from "../../demo/models.ts";
import { graphSvg, kernelsHtml, memorySvg, timingSvg } from "../../demo/render.ts";

const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;

for (const model of MODEL_NAMES) {
  for (const mode of ["eager", "default"] as const) {
    Deno.test(`demo analysis: ${model} (${mode}) matches the compiler's stats`, () => {
      const spec = buildModel(model, "tiny");
      const g = compile(spec.fn, { inputs: spec.inputs, mode });
      const a = analyze(g);
      const stats = g.stats as unknown as Record<string, number | undefined>;
      assert.deepEqual(a.warnings, []);
      assert.equal(a.steps.filter((s) => s.kind === "kernel").length, g.stats.kernels);
      assert.equal(a.steps.filter((s) => s.kind === "host").length, g.stats.hostOps);
      if (stats.peakBytes !== undefined) assert.equal(a.allocatedBytes, stats.peakBytes);
      assert.equal(a.unplannedBytes, g.stats.unplannedBytes);
      assert.ok(a.allocatedBytes <= a.unplannedBytes);
      assert.ok(a.peakLiveBytes <= a.allocatedBytes);
      // every edge joins drawn nodes; every output and every step has a producer
      const ids = new Set([
        ...a.inputs.map((i) => `in:${i}`),
        ...a.steps.map((s) => `step:${s.index}`),
        ...a.outputs.map((o) => `out:${o}`),
      ]);
      for (const e of a.edges) assert.ok(ids.has(e.from) && ids.has(e.to), JSON.stringify(e));
      for (const o of a.outputs) {
        assert.ok(a.edges.some((e) => e.to === `out:${o}`), `output ${o} has no producer`);
      }
      for (const s of a.steps) {
        assert.ok(
          a.edges.some((e) => e.to === `step:${s.index}`),
          `step ${s.name} has no input edge`,
        );
      }
      // memory: tenants of one storage never overlap, and every storage has a sane span
      for (const st of a.storages) {
        for (let i = 1; i < st.tenants.length; i++) {
          assert.ok(
            st.tenants[i].first > st.tenants[i - 1].last,
            `${st.name}: ${JSON.stringify(st.tenants)}`,
          );
        }
        assert.ok(st.first <= st.last && st.last < Math.max(a.steps.length, 1));
      }
      const svg = graphSvg(a);
      assert.equal(count(svg, /class="node kernel"/g), g.stats.kernels);
      assert.equal(count(svg, /class="node host"/g), g.stats.hostOps);
      assert.equal(count(svg, /class="node input"/g), spec.inputs.length);
      assert.equal(count(svg, /class="edge"/g), a.edges.length);
      assert.equal(count(memorySvg(a), /class="storage /g), a.storages.length);
      const k = kernelsHtml(a);
      assert.equal(count(k, /<details class="kernel" data-kind="kernel"/g), g.stats.kernels);
      assert.equal(count(k, /@compute/g), g.stats.kernels);
    });
  }
}

Deno.test("demo analysis: the vLLM-style block has a host step between partitions", () => {
  const spec = buildModel("vllm", "tiny");
  const a = analyze(compile(spec.fn, { inputs: spec.inputs, mode: "default" }));
  const host = a.steps.filter((s) => s.kind === "host");
  assert.equal(host.length, 1);
  assert.equal(host[0].name, "inductor::host_readback");
  assert.ok(
    a.steps.some((s) => s.nodeKind === "fallback" && s.kind === "kernel"),
    "attention op kernel",
  );
  assert.match(graphSvg(a), /class="node host"/);
});

Deno.test("demo helpers: compareArrays, median, timing chart", () => {
  const e = compareArrays(
    new Float32Array([1, NaN, 3, Infinity]),
    new Float32Array([1, 2, 3.5, Infinity]),
  );
  assert.deepEqual({ nan: e.nan, bad: e.bad, n: e.n }, { nan: 1, bad: 2, n: 4 });
  assert.equal(e.maxAbs, 0.5);
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  const svg = timingSvg([
    { group: "run", series: "eager", ms: 2 },
    { group: "run", series: "default", ms: 1 },
  ]);
  assert.equal(count(svg, /class="bar s\d"/g), 2);
});
