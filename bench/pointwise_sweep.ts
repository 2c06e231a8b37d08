// The gelu kernel's raw WGSL variants (bench/pointwise_variants.ts) timed on the current adapter:
// the page side of `deno run -A bench/pointwise_browser.ts` (headless Chromium on SwiftShader;
// with --deno it runs on Deno's adapter). The default is the kernel prepare() generates for the
// adapter (generateKernel on its target). Every variant runs on the same random inputs; gelu
// variants must match the default within 1e-6 absolute on every element, and every variant (the
// default included) its body's float64 reference on 65536 sampled elements (1e-6 absolute +
// 1e-6 relative; erf's A&S 7.1.26 error is 1.5e-7). Times follow the bench's differential rule:
// (N launches + one queue wait) − (one launch + one wait), over N − 1, N grown until the
// difference spans ≥ 150 ms, variants interleaved round by round; medians reported.
import { compile, getDevice } from "../src/mod.ts";
import { targetInput } from "../src/codegen/autotune.ts";
import { kernelTargetFor } from "../src/codegen/kernel_target.ts";
import { generateKernel } from "../src/codegen/wgsl/generate.ts";
import { median, randomArray } from "./harness.ts";
import { launchesForSpan, launchTimer } from "./launch_timer.ts";
import { type Body, reference, VARIANTS, variantWgsl, workgroupsOf } from "./pointwise_variants.ts";

export interface PointwiseSweepOptions {
  rows: number;
  cols: number;
  /** Variant names to run besides the default; empty: all. */
  only: string[];
  rounds: number;
  /** T(N) − T(1) must reach this many ms before N stops growing (150 by default; more where the
   * machine is shared and the queue waits jitter by tens of ms). */
  spanMs?: number;
}

export interface PointwiseRow {
  variant: string;
  rounds: number[];
  /** T(N) / N per round (no differential: for kernels of hundreds of ms, where one queue wait
   * is negligible and the difference of two noisy times doubles the noise). */
  perLaunch: number[];
  /** CPU ms per launch (the GPU process's in Chromium, Deno's own under Deno) over N launches,
   * per round: not inflated by other jobs' use of the cores, unlike wall time. */
  cpuPerLaunch: number[];
  /** Launches per timing (N). */
  n: number;
  note?: string;
}

interface Candidate {
  name: string;
  body: Body;
  wgsl: string;
  workgroups: [number, number, number];
}

/** The kernel prepare() would generate for gelu(x * a + b) on this adapter, its bindings in the
 * order x, a, b, out. */
function defaultKernel(
  rows: number,
  cols: number,
  target: ReturnType<typeof kernelTargetFor>,
): Candidate {
  const cg = compile((x, a, b) => x.mul(a).add(b).gelu(), {
    inputs: [
      { name: "x", shape: [rows, cols] },
      { name: "a", shape: [cols] },
      { name: "b", shape: [cols] },
    ],
  });
  const found = [...cg.program.partitions.values(), cg.program.main].flatMap((w) =>
    w.lines.flatMap((l) => l.op === "kernel" ? [{ w, l }] : [])
  );
  if (found.length !== 1) throw new Error(`expected one kernel, got ${found.length}`);
  const spec = generateKernel(targetInput(found[0].w, found[0].l, target));
  const order = spec.bindings.map((b) => b.storage).join(",");
  if (order !== "x,a,b,buf0") throw new Error(`unexpected binding order ${order}`);
  return { name: "default", body: "gelu", wgsl: spec.wgsl, workgroups: spec.workgroups };
}

export async function runPointwiseSweep(
  o: PointwiseSweepOptions,
  log: (s: string) => void,
): Promise<{ device: string; rows: PointwiseRow[] }> {
  const h = await getDevice();
  const dev = h.device;
  const { rows: R, cols: C } = o;
  const cands: Candidate[] = [defaultKernel(R, C, kernelTargetFor(h))];
  for (const p of VARIANTS) {
    if (o.only.length && !o.only.includes(p.name)) continue;
    const [gx, gy] = workgroupsOf(p, R, C);
    cands.push({ name: p.name, body: p.body, wgsl: variantWgsl(p, R, C), workgroups: [gx, gy, 1] });
  }
  const host = [randomArray(R * C, 1), randomArray(C, 2), randomArray(C, 3)];
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const bufs = [...host.map((a) => a.byteLength), R * C * 4].map((size) =>
    dev.createBuffer({ size, usage })
  );
  host.forEach((a, i) => dev.queue.writeBuffer(bufs[i], 0, a));
  // a variant that skips elements must not pass on the previous one's output: cleared first
  const clearOut = () => {
    const enc = dev.createCommandEncoder();
    enc.clearBuffer(bufs[3]);
    dev.queue.submit([enc.finish()]);
  };
  const readOut = async (): Promise<Float32Array> => {
    const st = dev.createBuffer({
      size: bufs[3].size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = dev.createCommandEncoder();
    enc.copyBufferToBuffer(bufs[3], 0, st, 0, bufs[3].size);
    dev.queue.submit([enc.finish()]);
    await st.mapAsync(GPUMapMode.READ);
    const a = new Float32Array(st.getMappedRange().slice(0));
    st.destroy();
    return a;
  };

  // an explicit layout: "auto" would drop the bindings a probe (copy) leaves unused
  const entry = (binding: number, type: GPUBufferBindingType): GPUBindGroupLayoutEntry => ({
    binding,
    visibility: GPUShaderStage.COMPUTE,
    buffer: { type },
  });
  const layoutFor = (wgsl: string) => {
    const bgl = dev.createBindGroupLayout({
      entries: [0, 1, 2, 3].map((i) =>
        entry(i, wgsl.includes(`read_write> t${i}:`) ? "storage" : "read-only-storage")
      ),
    });
    return { bgl, layout: dev.createPipelineLayout({ bindGroupLayouts: [bgl] }) };
  };
  const rows: PointwiseRow[] = [];
  const runs: { row: PointwiseRow; run: (n: number) => Promise<number> }[] = [];
  let expected: Float32Array | null = null;
  for (const c of cands) {
    const row: PointwiseRow = {
      variant: c.name,
      rounds: [],
      perLaunch: [],
      cpuPerLaunch: [],
      n: 0,
    };
    rows.push(row);
    try {
      const tc = performance.now();
      dev.pushErrorScope("validation");
      const module = dev.createShaderModule({ code: c.wgsl });
      const { bgl, layout } = layoutFor(c.wgsl);
      const pipeline = await dev.createComputePipelineAsync({
        layout,
        compute: { module, entryPoint: "main" },
      });
      const bind = dev.createBindGroup({
        layout: bgl,
        entries: bufs.map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      const err = await dev.popErrorScope();
      if (err) throw new Error(err.message);
      log(`${c.name}: compiled in ${(performance.now() - tc).toFixed(0)} ms`);
      const run = launchTimer(dev, pipeline, bind, c.workgroups);
      clearOut();
      await run(1);
      const got = await readOut();
      if (!c.body.startsWith("op-")) checkReference(c.body, host, got, R, C);
      if (c.body === "gelu") {
        if (!expected) expected = got;
        else checkSame(expected, got);
      }
      runs.push({ row, run });
    } catch (e) {
      row.note = `error: ${(e as Error).message.split("\n")[0]}`;
      log(`${c.name}: ${row.note}`);
    }
  }
  const spanMs = o.spanMs ?? 150;
  for (const r of runs) r.row.n = await launchesForSpan(r.run, spanMs);
  for (let round = 0; round < o.rounds; round++) {
    for (const r of runs) {
      const one = await r.run(1);
      const c0 = await cpuMs();
      const many = await r.run(r.row.n);
      r.row.cpuPerLaunch.push((await cpuMs() - c0) / r.row.n);
      r.row.rounds.push(Math.max(many - one, 1e-6) / (r.row.n - 1));
      r.row.perLaunch.push(many / r.row.n);
    }
    log(`round ${round + 1}/${o.rounds} done`);
  }
  bufs.forEach((b) => b.destroy());
  return { device: h.info, rows };
}

/** CPU ms used so far by whatever runs the kernels: Chromium's GPU process (bench/browser.ts
 * exposes `__gpuCpuMs` to the page) or this Deno process (/proc/self/stat, 10 ms ticks). */
async function cpuMs(): Promise<number> {
  const g = globalThis as { __gpuCpuMs?: () => Promise<number> };
  if (g.__gpuCpuMs) return await g.__gpuCpuMs();
  const stat = await Deno.readTextFile("/proc/self/stat");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

function checkReference(
  body: Body,
  [x, a, b]: Float32Array[],
  got: Float32Array,
  R: number,
  C: number,
): void {
  for (let s = 0; s < 65536; s++) {
    // every row and column is sampled; the last element too
    const i = s === 0 ? R * C - 1 : (s * 2654435761) % (R * C);
    const c = i % C;
    const want = reference(body, x[i], a[c], b[c]);
    if (!(Math.abs(got[i] - want) <= 1e-6 + 1e-6 * Math.abs(want))) {
      throw new Error(`${body}: element ${i} = ${got[i]}, float64 reference ${want}`);
    }
  }
}

function checkSame(want: Float32Array, got: Float32Array): void {
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= 1e-6)) {
      throw new Error(`element ${i} = ${got[i]}, default ${want[i]}`);
    }
  }
}

export function formatPointwiseRow(r: PointwiseRow): string {
  const sorted = [...r.rounds].sort((x, y) => x - y);
  const med = sorted.length ? median(sorted).toFixed(2).padStart(9) : "        -";
  const per = [...r.perLaunch].sort((x, y) => x - y);
  const pl = per.length
    ? `T(N)/N median ${median(per).toFixed(2).padStart(8)} min ${per[0].toFixed(2).padStart(8)}`
    : "";
  const cpu = [...r.cpuPerLaunch].sort((x, y) => x - y);
  const cm = cpu.length ? `cpu ${median(cpu).toFixed(1).padStart(7)} ms` : "";
  return `${r.variant.padEnd(20)} ${med} ms ${pl} ${cm} N=${String(r.n).padEnd(4)} [${
    sorted.map((t) => t.toFixed(1)).join(" ")
  }]${r.note ? " " + r.note : ""}`;
}

/** The page entry (bench/browser.ts's runInPage calls `run`). */
export function run(o: PointwiseSweepOptions): Promise<{ device: string; rows: PointwiseRow[] }> {
  return runPointwiseSweep(o, (s) => console.log(s));
}
