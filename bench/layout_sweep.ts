// The reduction-layout sweep behind `deno task bench:layouts` (and its `--browser` page): each
// reduction workload compiled once per `inductor.reductionLayout` value, every result checked
// against the float64 reference, then the device time of each layout by the bench's differential
// (the same N calls + one read − one call + one read as `dev ms`, on every input resident),
// layouts interleaved round by round so that load on a shared machine hits each alike.
import { compile, type CompiledGraph, getDevice, type Tensor, tensor } from "../src/mod.ts";
import { errMessage, median, now, relErr, timeDifferential } from "./harness.ts";
import { isWeight, reference, select, type Workload, workloads } from "./workloads.ts";

export interface SweepOptions {
  quick: boolean;
  /** Workload names or families (default: matvec, softmax, layernorm, rmsnorm). */
  only: string[] | null;
  /** `inductor.reductionLayout` values ("auto", "serial", "64x1x4", …), or "autotune" (auto
   * with inductor.maxAutotune: the candidates timed on the adapter at prepare()). */
  layouts: string[];
  /** Interleaved rounds (each a (1 call, N calls) pair per layout). */
  rounds: number;
  log: (s: string) => void;
}

export interface SweepRow {
  workload: string;
  layout: string;
  /** Median device ms per call over the rounds (NaN when the layout failed). */
  device_ms: number;
  /** Every round's figure, in order. */
  rounds: number[];
  /** The kernels' layouts as `cg.explain()` reports them (the reduction lines). */
  explain: string;
  err?: number;
  note?: string;
}

/** The default layouts: the automatic choice and the CPU-adapter alternatives. */
export const DEFAULT_LAYOUTS = [
  "auto",
  "serial",
  "64x1x4",
  "64x1x2",
  "32x1",
  "16x1",
  "8x1",
  "32x1x4",
  "16x1x4",
  "8x8",
  "4x16",
  "tree",
];

const REDUCTIONS = ["matvec", "softmax", "layernorm", "rmsnorm"];

interface Prepared {
  layout: string;
  cg: CompiledGraph;
  xs: Tensor[];
  explain: string;
  err: number;
}

async function prepareLayout(
  w: Workload,
  inputs: Float32Array[],
  ref: ReturnType<typeof reference>,
  layout: string,
  params: Record<string, Tensor>,
): Promise<Prepared> {
  const cg = compile(w.fn, {
    inputs: w.specs,
    params,
    // "autotune": the layouts timed on the adapter at prepare() (inductor.maxAutotune)
    config: layout === "autotune"
      ? { "inductor.maxAutotune": true }
      : { "inductor.reductionLayout": layout },
  });
  await cg.prepare();
  const acts = inputs.filter((_, i) => !isWeight(w, i));
  const xs = cg.inputSpecs.map((s, i) => tensor(acts[i], s.shape, { name: s.name }));
  const out = (await cg.run(xs))[0] as Float32Array;
  const explain = cg.kernelSpecs().map((k) =>
    `${k.name} @workgroup_size(${/@workgroup_size\(([^)]*)\)/.exec(k.wgsl)?.[1] ?? "?"}) x ${
      [k.workgroups].flat().join("x")
    }`
  ).join("; ");
  return { layout, cg, xs, explain, err: relErr(out, ref.values, ref.idx, w.outLen) };
}

/** Runs the sweep on this realm's WebGPU adapter; rows in workload, then layout order. */
export async function runSweep(o: SweepOptions): Promise<{ device: string; rows: SweepRow[] }> {
  const h = await getDevice();
  o.log(`device: ${h.info}`);
  const rows: SweepRow[] = [];
  for (const w of select(workloads(o.quick), o.only ?? REDUCTIONS)) {
    const inputs = w.data();
    const ref = reference(w, inputs);
    const params: Record<string, Tensor> = {};
    inputs.forEach((d, i) => {
      if (isWeight(w, i)) params[w.specs[i].name!] = tensor(d, w.specs[i].shape);
    });
    const ready: Prepared[] = [];
    for (const layout of o.layouts) {
      try {
        const p = await prepareLayout(w, inputs, ref, layout, params);
        if (p.err > w.tol) {
          rows.push(row(w, layout, [], p.explain, `error ${p.err.toExponential(1)}`, p.err));
          p.cg.dispose();
        } else ready.push(p);
      } catch (e) {
        rows.push(row(w, layout, [], "", errMessage(e)));
      }
    }
    const times = new Map<string, number[]>(ready.map((p) => [p.layout, []]));
    const policy = { ...w.policy, deviceReps: 1, capMs: Infinity };
    const t0 = now();
    for (let r = 0; r < o.rounds; r++) {
      // rotate the starting layout each round: no layout always runs first or last
      for (let k = 0; k < ready.length; k++) {
        const p = ready[(k + r) % ready.length];
        let last: Tensor | null = null;
        const { perCall } = await timeDifferential(async (n) => {
          for (let c = 0; c < n; c++) {
            last?.dispose();
            last = (await p.cg.run(p.xs, { output: "tensor" }))[0];
          }
          await last!.read();
        }, policy);
        (last as Tensor | null)?.dispose();
        times.get(p.layout)!.push(perCall);
      }
    }
    for (const p of ready) {
      const ts = times.get(p.layout)!;
      rows.push(row(w, p.layout, ts, p.explain, undefined, p.err));
      o.log(`${w.name} ${p.layout}: ${median(ts).toFixed(2)} ms [${ts.map((t) => t.toFixed(1))}]`);
      p.cg.dispose();
      for (const x of p.xs) x.dispose();
    }
    for (const t of Object.values(params)) t.dispose();
    o.log(`${w.name}: ${((now() - t0) / 1000).toFixed(1)} s`);
  }
  return { device: h.info, rows };
}

function row(
  w: Workload,
  layout: string,
  ts: number[],
  explain: string,
  note?: string,
  err?: number,
): SweepRow {
  return {
    workload: w.name,
    layout,
    device_ms: ts.length ? median(ts) : NaN,
    rounds: ts,
    explain,
    ...(err !== undefined ? { err } : {}),
    ...(note ? { note } : {}),
  };
}
