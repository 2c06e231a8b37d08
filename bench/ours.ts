// Our three columns: fused with replay (`ours`), fused without replay (`ours-noreplay`) and one
// kernel per op (`ours-eager`), through the public compile()/prepare()/run() API; plus the
// device-only timing (CompiledGraph.timeDevice: the recorded launches replayed with inputs
// resident) and the submit-per-kernel baseline (the same launches, each submitted and awaited).
import { compile, type CompiledGraph } from "../src/mod.ts";
import { countGPU, errMessage, now, relErr, type RepPolicy, type Row, timeIt } from "./harness.ts";
import type { Reference, Workload } from "./workloads.ts";

export type OurSystem = "ours" | "ours-noreplay" | "ours-eager";

const SETTINGS: Record<OurSystem, { mode: "default" | "eager"; config: Record<string, unknown> }> =
  {
    "ours": { mode: "default", config: {} },
    "ours-noreplay": { mode: "default", config: { "inductor.replay": false } },
    "ours-eager": { mode: "eager", config: {} },
  };

export function checkOut(w: Workload, out: ArrayLike<number>, ref: Reference): number {
  return relErr(out, ref.values, ref.idx, w.outLen);
}

/** Runs one of our systems on a workload: cold and warm compile, first result, counted call,
 * timed host-to-host runs and (fused and eager) device-only runs, every result checked. */
export async function runOurs(
  system: OurSystem,
  w: Workload,
  inputs: Float32Array[],
  ref: Reference,
  policy: RepPolicy,
): Promise<Row[]> {
  const { mode, config } = SETTINGS[system];
  const rows: Row[] = [];
  let cg: CompiledGraph | null = null;
  const row: Row = { workload: w.name, system, median_ms: NaN, ok: false };
  try {
    const t0 = now();
    cg = compile(w.fn, { inputs: w.specs, mode, config });
    await cg.prepare();
    row.compile_cold_ms = now() - t0;
    // the first call is also the counted one
    let out!: Float32Array;
    const g = cg;
    const counted = await countGPU(async () => {
      out = (await g.run(inputs))[0] as Float32Array;
    });
    row.first_ms = now() - t0;
    row.kernels = counted?.kernels ?? cg.stats.kernels;
    row.submits = counted?.submits;
    row.err = checkOut(w, out, ref);

    const t1 = now();
    const cg2 = compile(w.fn, { inputs: w.specs, mode, config });
    await cg2.prepare();
    row.compile_warm_ms = now() - t1;
    await cg2.disposeAsync();

    row.peak_bytes = cg.stats.peakBytes;
    row.unplanned_bytes = cg.stats.unplannedBytes;
    const t = await timeIt(async () => {
      out = (await g.run(inputs))[0] as Float32Array;
    }, policy);
    row.median_ms = t.median;
    row.reps = t.reps;
    row.err = Math.max(row.err, checkOut(w, out, ref));
    row.ok = row.err <= w.tol;
    if (!row.ok) row.note = `max rel err ${row.err.toExponential(2)} > ${w.tol}`;

    if (system !== "ours-noreplay") {
      // device-only: the executor's recorded launches replayed with inputs resident (the last
      // run left them on the device), outputs read back afterwards and checked
      if (cg.stats.hostOps > 0) row.note = "device time includes host steps";
      if (policy.warmup) await g.timeDevice(1);
      const td = await timeIt(() => g.timeDevice(1), { ...policy, warmup: 0 });
      // a wait on the queue has a fixed cost (about 10-20 ms in Deno on NVIDIA's Vulkan
      // driver): when one replay is quick, time N back to back and subtract one, so the
      // per-replay time excludes it
      let deviceMs = td.median;
      if (td.median < 100) {
        const n = 21;
        const one: number[] = [], many: number[] = [];
        for (let r = 0; r < 3; r++) {
          one.push(await g.timeDevice(1));
          many.push((await g.timeDevice(n)) * n);
        }
        const med = (a: number[]) => a.sort((x, y) => x - y)[1];
        deviceMs = Math.max(0, (med(many) - med(one)) / (n - 1));
      }
      const derr = checkOut(w, (await g.readOutputs())[0] as Float32Array, ref);
      if (derr <= w.tol) row.device_ms = deviceMs;
      else {
        row.ok = false;
        row.note = `device replay: max rel err ${derr.toExponential(2)}`;
      }
      if (system === "ours" && w.kind === "dispatch") {
        const ts = await timeIt(() => g.timeDevice(1, { submitEach: true }), {
          ...policy,
          warmup: 0,
        });
        const serr = checkOut(w, (await g.readOutputs())[0] as Float32Array, ref);
        rows.push({
          workload: w.name,
          system: "submit-per-kernel",
          median_ms: ts.median,
          device_ms: ts.median,
          kernels: cg.stats.kernels,
          submits: cg.stats.kernels,
          reps: ts.reps,
          err: serr,
          ok: serr <= w.tol,
          note: "our fused kernels, each submitted and awaited alone, inputs resident",
        });
      }
    }
  } catch (e) {
    row.ok = false;
    row.note = errMessage(e);
  } finally {
    await cg?.disposeAsync().catch(() => {});
  }
  return [row, ...rows];
}
