// The page self-test the browser tests drive: compiles every case in demo/cases.ts in eager and
// default mode with NaN-poisoned outputs, compares with the float64 reference interpreter, and
// reports the init layer's state. The JSON report lands in globalThis.__selftest and #report.
// Query: cases=all|none|name,name (default all), modes=eager,default.
import {
  appliedPatches,
  compile,
  config,
  describeTarget,
  getDevice,
  interpret,
  type PatchReport,
  PORTED_FROM,
  VERSION,
} from "../src/mod.ts";
import { compareArrays, type ErrorStats } from "./analysis.ts";
import { CASES } from "./cases.ts";
import { $, checkWebGPU, fail, query, setState } from "./page.ts";
import { randomInputs } from "./rng.ts";

export interface CaseResult {
  name: string;
  mode: string;
  ok: boolean;
  kernels?: number;
  /** The adapter and code paths the kernels were prepared for (CompiledGraph.target). */
  target?: string;
  /** Kernels that reduce with subgroup operations. */
  subgroupKernels?: number;
  outputs?: ErrorStats[];
  error?: string;
  ms: number;
}

export interface SelfTestReport {
  ok: boolean;
  userAgent: string;
  webgpu: boolean;
  adapter: string | null;
  portedFrom: string;
  version: string;
  patches: PatchReport[];
  /** Whether appliedPatches() returned an array (the init layer's registry is reachable). */
  patchesIsArray: boolean;
  explain: string;
  entries: { key: string; value: unknown; source: string }[];
  cases: CaseResult[];
  ms: number;
}

async function main(): Promise<void> {
  setState("running");
  const t0 = performance.now();
  const q = query();
  const sel = q.get("cases") ?? "all";
  const modes = (q.get("modes") ?? "eager,default").split(",").filter((m) =>
    m === "eager" || m === "default"
  );
  const cases = sel === "all"
    ? CASES
    : sel === "none"
    ? []
    : CASES.filter((c) => sel.split(",").includes(c.name));
  const patches = appliedPatches();
  const gpu = await checkWebGPU();
  const report: SelfTestReport = {
    ok: true,
    userAgent: navigator.userAgent,
    webgpu: gpu.ok,
    adapter: null,
    portedFrom: PORTED_FROM,
    version: VERSION,
    patches,
    patchesIsArray: Array.isArray(patches),
    explain: config.explain(),
    entries: config.entries().map((e) => ({ key: e.key, value: e.value, source: e.source })),
    cases: [],
    ms: 0,
  };
  if (cases.length) {
    if (!gpu.ok) throw new Error(`WebGPU is not available: ${gpu.detail}`);
    report.adapter = (await getDevice()).info;
  }
  const list = $("cases");
  for (const c of cases) {
    for (const mode of modes as ("eager" | "default")[]) {
      const t1 = performance.now();
      const r: CaseResult = { name: c.name, mode, ok: false, ms: 0 };
      try {
        const g = compile(c.fn, { inputs: c.inputs, mode });
        r.kernels = g.stats.kernels;
        const inputs = randomInputs(c.inputs, 1234, c.intHigh);
        const outs = await g.run(inputs, { poison: true });
        r.target = describeTarget(g.target);
        r.subgroupKernels = g.kernelSpecs().filter((k) =>
          k.wgsl.includes("subgroupAdd") ||
          k.wgsl.includes("subgroupMax") || k.wgsl.includes("subgroupMin")
        ).length;
        const ref = interpret(g.graph, inputs);
        r.outputs = outs.map((o, i) => compareArrays(o, ref[i], c.atol ?? 1e-4, c.rtol ?? 1e-3));
        r.ok = outs.length === ref.length && r.outputs.every((e) => e.bad === 0);
        await g.disposeAsync();
      } catch (e) {
        r.error = `${(e as Error).name}: ${(e as Error).message}`;
      }
      r.ms = performance.now() - t1;
      report.cases.push(r);
      const li = document.createElement("li");
      li.className = r.ok ? "ok" : "bad";
      li.textContent =
        `${r.ok ? "ok  " : "FAIL"} ${c.name} (${mode}) ${r.kernels ?? "?"} kernel(s) ` +
        `${r.error ?? (r.outputs ?? []).map((o) => o.maxAbs.toExponential(1)).join(" ")} ${
          r.ms.toFixed(0)
        } ms`;
      list.append(li);
    }
  }
  report.ok = report.cases.every((r) => r.ok);
  report.ms = performance.now() - t0;
  (globalThis as { __selftest?: SelfTestReport }).__selftest = report;
  $("report").textContent = JSON.stringify(report, null, 2);
  setState("done");
}

main().catch(fail);
