// Our three columns: fused with replay (`ours`), fused without replay (`ours-noreplay`) and one
// kernel per op (`ours-eager`), and on request (`--systems`) `ours-plainread`: `ours` with every
// read through a fresh staging buffer and its awaited map promise (runtime.readbackCacheBytes 0),
// which shows how much of a lead in Deno is our staged read. Through the public API only: the weights are Tensors bound once
// as `params`, activations go to `cg.run()` as host arrays (host to host) or as resident Tensors
// with `{ output: "tensor" }` (device time), measured by bench/measure.ts like every peer. Plus
// two diagnostics: `replay_ms` (cg.timeDevice, the recorded launches alone) and, for dispatch-*,
// the submit-per-kernel baseline (the same launches, each submitted and awaited).
import {
  compile,
  type CompiledGraph,
  config as globalConfig,
  type Tensor,
  tensor,
} from "../src/mod.ts";
import { errMessage, now, type Row, timeDifferential, timeIt } from "./harness.ts";
import { Checker, measure } from "./measure.ts";
import type { DeviceCalls, PreparedRun } from "./peers/types.ts";
import { isWeight, type Reference, uploadAllMatters, type Workload } from "./workloads.ts";

export type OurSystem = "ours" | "ours-noreplay" | "ours-eager" | "ours-plainread";

/** Each system's compile mode and graph config, and the global (runtime) config it runs under. */
export const OUR_SETTINGS: Record<
  OurSystem,
  { mode: "default" | "eager"; config: Record<string, unknown>; runtime?: Record<string, unknown> }
> = {
  "ours": { mode: "default", config: {} },
  "ours-noreplay": { mode: "default", config: { "inductor.replay": false } },
  "ours-eager": { mode: "eager", config: {} },
  "ours-plainread": { mode: "default", config: {}, runtime: { "runtime.readbackCacheBytes": 0 } },
};

/** `fn` under `system`'s runtime config (restored after). */
export function underRuntime<T>(system: OurSystem, fn: () => Promise<T>): Promise<T> {
  const runtime = OUR_SETTINGS[system].runtime;
  return runtime ? globalConfig.patch(runtime, fn) : fn();
}

/** Runs one of our systems on a workload: cold and warm compile, then bench/measure.ts's
 * columns, then the diagnostics; every result checked. */
export function runOurs(
  system: OurSystem,
  w: Workload,
  inputs: Float32Array[],
  ref: Reference,
): Promise<Row[]> {
  return underRuntime(system, () => runOursIn(system, w, inputs, ref));
}

async function runOursIn(
  system: OurSystem,
  w: Workload,
  inputs: Float32Array[],
  ref: Reference,
): Promise<Row[]> {
  const { mode, config } = OUR_SETTINGS[system];
  const rows: Row[] = [];
  const row: Row = { workload: w.name, system, median_ms: NaN, ok: false };
  const owned: { dispose(): unknown }[] = [];
  const graphs: CompiledGraph[] = [];
  try {
    const t0 = now();
    const params: Record<string, Tensor> = {};
    const acts: Float32Array[] = [];
    inputs.forEach((d, i) => {
      const s = w.specs[i];
      if (!isWeight(w, i)) return void acts.push(d);
      const t = tensor(d, s.shape, { name: s.name });
      owned.push(t);
      params[s.name!] = t;
    });
    const tc = now();
    const cg = compile(w.fn, { inputs: w.specs, mode, config, params });
    graphs.push(cg);
    await cg.prepare();
    row.compile_cold_ms = now() - tc;
    let cgAll: CompiledGraph | null = null;

    const prepared: PreparedRun = {
      run: async () => (await cg.run(acts))[0] as Float32Array,
      runAll: uploadAllMatters(w)
        ? async () => (await cgAll!.run(inputs))[0] as Float32Array
        : undefined,
      device: (): Promise<DeviceCalls> => {
        const xs = cg.inputSpecs.map((s, i) => tensor(acts[i], s.shape, { name: s.name }));
        let last: Tensor | null = null;
        return Promise.resolve({
          call: async () => {
            last?.dispose();
            last = null;
            last = (await cg.run(xs, { output: "tensor" }))[0];
          },
          read: async () => await last!.read() as Float32Array,
          dispose: () => {
            last?.dispose();
            for (const x of xs) x.dispose();
          },
        });
      },
      dispose: () => {},
    };

    row.kernels = cg.stats.kernels; // replaced by the count when the prototypes can be hooked
    await measure(row, w, prepared, ref, t0, async () => {
      // the same graph compiled again (compile cache and pipeline cache hits)
      const t1 = now();
      const cg2 = compile(w.fn, { inputs: w.specs, mode, config, params });
      await cg2.prepare();
      row.compile_warm_ms = now() - t1;
      await cg2.disposeAsync();
      if (prepared.runAll) {
        // every input uploaded per run: the same graph without params
        cgAll = compile(w.fn, { inputs: w.specs, mode, config });
        graphs.push(cgAll);
        await cgAll.prepare();
      }
    });
    row.peak_bytes = cg.stats.peakBytes;
    row.unplanned_bytes = cg.stats.unplannedBytes;
    if (cg.stats.hostOps > 0) {
      row.note = row.note ? `${row.note}; includes host steps` : "includes host steps";
    }

    // the diagnostics replay the inputs last bound: bind host uploads again (the device calls'
    // resident activations are disposed by now)
    await cg.run(acts);
    if (system !== "ours-noreplay") await replayTime(row, w, cg, ref);
    if (system === "ours" && w.kind === "dispatch") {
      rows.push(await submitPerKernel(w, cg, ref));
    }
  } catch (e) {
    row.ok = false;
    row.note = errMessage(e);
  } finally {
    for (const g of graphs) await g.disposeAsync().catch(() => {});
    for (const t of owned) t.dispose();
  }
  return [row, ...rows];
}

/** `replay_ms`: the executor's recorded launches replayed with the inputs of the last run
 * (cg.timeDevice; no binding, no output copy), by the same differential method; checked. */
async function replayTime(row: Row, w: Workload, cg: CompiledGraph, ref: Reference) {
  const c = new Checker(row, w, ref);
  const tr = await timeDifferential(async (n) => n * (await cg.timeDevice(n)), w.policy);
  if (c.check((await cg.readOutputs())[0] as Float32Array, "replay")) row.replay_ms = tr.perCall;
}

/** Our fused kernels, each submitted and awaited alone, inputs resident. */
async function submitPerKernel(w: Workload, cg: CompiledGraph, ref: Reference): Promise<Row> {
  const r: Row = {
    workload: w.name,
    system: "submit-per-kernel",
    median_ms: NaN,
    kernels: cg.stats.kernels,
    submits: cg.stats.kernels,
    ok: true,
    note: "our fused kernels, each submitted and awaited alone, inputs resident",
  };
  const ts = await timeIt(() => cg.timeDevice(1, { submitEach: true }), {
    ...w.policy,
    warmup: 0,
  });
  if (new Checker(r, w, ref).check((await cg.readOutputs())[0] as Float32Array, "replay")) {
    r.median_ms = ts.median;
    r.call_ms = ts.median;
  }
  r.reps = ts.reps;
  return r;
}
