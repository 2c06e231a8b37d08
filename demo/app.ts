// The demo page: builds a model with the tracer, compiles it in eager and default (fused) mode,
// runs it on the page's WebGPU adapter and draws what the compiler did: the partition graph, the
// fused kernels with their WGSL, the memory timeline, timings, and the error vs the float64
// reference interpreter. URL query: model, size, mode (both|eager|default), runs, seed, and any
// WEBGPU_INDUCTOR_* config override (read by the library's env reader).
import {
  appliedPatches,
  compile,
  type CompiledGraph,
  config,
  getDevice,
  interpret,
  PORTED_FROM,
  trace,
  type TypedArray,
  VERSION,
} from "../src/mod.ts";
import { analyze, compareArrays, type ErrorStats, formatBytes, median } from "./analysis.ts";
import {
  buildModel,
  MODEL_NAMES,
  modelInputs,
  type ModelName,
  SIZE_NAMES,
  type SizeName,
} from "./models.ts";
import { $, checkWebGPU, fail, query, setState, showNoWebGPU } from "./page.ts";
import { esc, graphSvg, kernelsHtml, memorySvg, type TimingBar, timingSvg } from "./render.ts";

type Mode = "eager" | "default";

interface ModeResult {
  mode: Mode;
  compiled: CompiledGraph;
  compileColdMs: number;
  compileWarmMs: number;
  traceMs: number;
  runMs: number[];
  errors: ErrorStats[];
}

function pick<T extends string>(v: string | null, allowed: readonly T[], dflt: T): T {
  return v !== null && (allowed as readonly string[]).includes(v) ? (v as T) : dflt;
}

function controls(
  model: ModelName,
  size: SizeName,
  modes: string,
  runs: number,
  seed: number,
): void {
  const opt = (vals: readonly string[], cur: string) =>
    vals.map((v) => `<option${v === cur ? " selected" : ""}>${v}</option>`).join("");
  const form = $("controls") as HTMLFormElement;
  form.innerHTML = `<label>model <select name="model">${opt(MODEL_NAMES, model)}</select></label>
    <label>size <select name="size">${opt(SIZE_NAMES, size)}</select></label>
    <label>mode <select name="mode">${opt(["both", "eager", "default"], modes)}</select></label>
    <label>runs <input name="runs" type="number" min="1" max="200" value="${runs}"></label>
    <label>seed <input name="seed" type="number" value="${seed}"></label>
    <button type="submit">compile &amp; run</button>
    <span class="hint">Config overrides: add <code>?WEBGPU_INDUCTOR_…=value</code> to the URL.</span>`;
  form.onsubmit = (ev) => {
    ev.preventDefault();
    const q = query();
    for (const [k, v] of new FormData(form)) q.set(k, String(v));
    location.search = q.toString();
  };
}

async function runMode(
  mode: Mode,
  model: ReturnType<typeof buildModel>,
  inputs: TypedArray[],
  expected: TypedArray[],
  runs: number,
): Promise<ModeResult> {
  // Cold: trace + lower + schedule + codegen, then device buffers and pipelines.
  let t0 = performance.now();
  const cold = compile(model.fn, { inputs: model.inputs, mode });
  const traceMs = performance.now() - t0;
  await cold.prepare();
  const compileColdMs = performance.now() - t0;
  // Warm: the same again; pipelines now come from the cache.
  t0 = performance.now();
  const compiled = compile(model.fn, { inputs: model.inputs, mode });
  await compiled.prepare();
  const compileWarmMs = performance.now() - t0;
  await cold.disposeAsync();
  const outs = await compiled.run(inputs, { poison: true });
  const errors = outs.map((o, i) => compareArrays(o, expected[i]));
  const runMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    t0 = performance.now();
    await compiled.run(inputs);
    runMs.push(performance.now() - t0);
  }
  return { mode, compiled, compileColdMs, compileWarmMs, traceMs, runMs, errors };
}

function adapterPanel(
  info: string,
  features: Set<string>,
  limits: GPUSupportedLimits,
  hasF16: boolean,
): void {
  const lim = [
    "maxStorageBuffersPerShaderStage",
    "maxComputeWorkgroupStorageSize",
    "maxComputeInvocationsPerWorkgroup",
    "maxStorageBufferBindingSize",
    "maxBufferSize",
  ] as const;
  const overrides = config.entries().filter((e) => e.source !== "default");
  const patches = appliedPatches();
  $("adapter-body").innerHTML = `<dl>
    <dt>adapter</dt><dd class="adapter-info">${esc(info)}</dd>
    <dt>features</dt><dd>${esc([...features].sort().join(", ") || "(none)")}${
    hasF16 ? "" : " — no shader-f16: f16 tensors are stored as two halves per u32"
  }</dd>
    <dt>limits</dt><dd>${lim.map((k) => `${k} ${limits[k]}`).join(" · ")}</dd>
    <dt>library</dt><dd>webgpu-inductor ${esc(VERSION)}, a port of TorchInductor ${
    esc(PORTED_FROM)
  }</dd>
    <dt>patches</dt><dd>${
    patches.length
      ? patches.map((p) => `${esc(p.id)} ${p.applied ? "applied" : "skipped"} (${esc(p.reason)})`)
        .join("; ")
      : "none registered"
  }</dd>
    <dt>config</dt><dd>${
    overrides.map((e) => `<code>${esc(e.key)}=${esc(JSON.stringify(e.value))}</code> (${e.source})`)
      .join(" ")
  }</dd>
  </dl>`;
}

function statsLine(r: ModeResult): string {
  const s = r.compiled.stats as unknown as Record<string, number | undefined>;
  const parts = [`${s.kernels} kernel(s)`, `${s.hostOps ?? 0} host op(s)`];
  if (s.partitions !== undefined) {
    parts.push(`${s.partitions} partition(s), ${s.replayablePartitions ?? 0} replayed`);
  }
  return `${r.mode}: ${parts.join(", ")}`;
}

async function main(): Promise<void> {
  setState("running");
  const q = query();
  const model = pick(q.get("model"), MODEL_NAMES, "vllm");
  const size = pick(q.get("size"), SIZE_NAMES, "small");
  const modeSel = pick(q.get("mode"), ["both", "eager", "default"] as const, "both");
  const runs = Math.max(1, Math.min(200, Number(q.get("runs") ?? 10) || 10));
  const seed = Number(q.get("seed") ?? 1) || 1;
  controls(model, size, modeSel, runs, seed);

  const gpu = await checkWebGPU();
  if (!gpu.ok) return showNoWebGPU(gpu);
  const h = await getDevice();
  adapterPanel(h.info, h.features, h.limits, h.hasF16);

  const spec = buildModel(model, size);
  $("model-title").textContent = spec.title;
  const inputs = modelInputs(spec, seed);
  $("status").textContent = "running the float64 reference…";
  await new Promise((r) => setTimeout(r, 0));
  const graph = trace(spec.fn, spec.inputs);
  const t0 = performance.now();
  const expected = interpret(graph, inputs);
  const refMs = performance.now() - t0;
  $("fx-graph").textContent = graph.print();

  const modes: Mode[] = modeSel === "both" ? ["eager", "default"] : [modeSel];
  const results: ModeResult[] = [];
  for (const m of modes) {
    $("status").textContent = `compiling and running (${m})…`;
    results.push(await runMode(m, spec, inputs, expected, runs));
  }
  const main = results.find((r) => r.mode === "default") ?? results[0];
  const a = analyze(main.compiled);

  $("graph-summary").textContent =
    `${results.map(statsLine).join(" · ")}. Drawn: ${main.mode} mode — ` +
    `kernels are solid boxes, host (custom-op) steps dashed; arrows follow buffers from writer to reader.`;
  $("graph-svg").innerHTML = graphSvg(a);

  $("kernels-summary").textContent =
    `${a.steps.length} step(s) in ${main.mode} mode. Click a kernel for its WGSL.`;
  $("kernels-list").innerHTML = kernelsHtml(a);
  // the kernels' WGSL has its own panel
  $("program").textContent = main.compiled.explain({ wgsl: false });

  const reused = a.storages.filter((st) => st.tenants.length > 1).length;
  $("memory-summary").innerHTML = `${a.storages.length - a.inputs.length} allocation(s) for ` +
    `${
      a.storages.reduce((n, st) => n + (st.role === "input" ? 0 : st.tenants.length), 0)
    } buffers ` +
    `(${reused} reused by the plan): total <b class="total-bytes">${
      formatBytes(a.allocatedBytes)
    }</b> ` +
    `(${a.allocatedBytes} bytes) planned vs ${formatBytes(a.unplannedBytes)} without reuse; ` +
    `inputs ${formatBytes(a.inputBytes)}; peak live ${formatBytes(a.peakLiveBytes)}.` +
    (a.warnings.length ? ` <span class="warn">(${esc(a.warnings.join("; "))})</span>` : "");
  $("memory-svg").innerHTML = memorySvg(a);

  const bars: TimingBar[] = [];
  for (const r of results) {
    bars.push({
      group: "compile (cold)",
      series: r.mode,
      ms: r.compileColdMs,
      note: `trace+lower+codegen ${r.traceMs.toFixed(1)} ms`,
    });
  }
  for (const r of results) {
    bars.push({
      group: "compile (warm)",
      series: r.mode,
      ms: r.compileWarmMs,
      note: "pipeline cache hits",
    });
  }
  for (const r of results) {
    bars.push({
      group: `run (median of ${runs})`,
      series: r.mode,
      ms: median(r.runMs),
      note: "upload + kernels + readback",
    });
  }
  bars.push({ group: "float64 reference (CPU)", series: "interpret", ms: refMs });
  $("timings-svg").innerHTML = timingSvg(bars);
  const ratio = results.length === 2 ? median(results[0].runMs) / median(results[1].runMs) : NaN;
  $("timings-summary").textContent = Number.isFinite(ratio)
    ? `default (fused) vs eager run time: ${
      ratio.toFixed(2)
    }× speed-up (each run uploads inputs and reads outputs back).`
    : `each run uploads inputs and reads outputs back.`;

  $("error-body").innerHTML =
    `<table><tr><th>mode</th><th>output</th><th>elements</th><th>max abs error</th>` +
    `<th>max rel error</th><th>NaN</th><th>outside tol</th></tr>${
      results.flatMap((r) =>
        r.errors.map((e, i) =>
          `<tr class="${e.bad ? "bad" : "ok"}"><td>${r.mode}</td><td>${i}</td><td>${e.n}</td>` +
          `<td class="max-abs">${e.maxAbs.toExponential(2)}</td><td>${
            e.maxRel.toExponential(2)
          }</td>` +
          `<td>${e.nan}</td><td>${e.bad}</td></tr>`
        )
      ).join("")
    }</table><p>Outputs poisoned with NaN before the checked run; tolerance 1e-4 + 1e-3·|ref|.</p>`;

  for (const r of results) r.compiled.dispose();
  $("status").textContent = `done: ${spec.title}`;
  setState("done");
}

main().catch(fail);
