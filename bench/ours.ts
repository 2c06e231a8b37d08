// Our three columns: fused with replay (`ours`), fused without replay (`ours-noreplay`) and one
// kernel per op (`ours-eager`), through the public compile()/prepare()/run() API; plus the
// device-only timing and the submit-per-kernel baseline, which replay the compiled kernels
// (same WGSL, grids and bindings) from the program with inputs resident on the device.
import { compile, type CompiledGraph, getDevice } from "../src/mod.ts";
import type { DeviceHandle } from "../src/runtime/device.ts";
import { getPipeline } from "../src/runtime/pipeline_cache.ts";
import type { KernelSpec } from "../src/codegen/wgsl/kernel_spec.ts";
import type { WrapperCodegen } from "../src/inductor/wrapper.ts";
import { gpuBytes, numel } from "../src/dtype.ts";
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
      const dev = await KernelReplay.create(cg, inputs);
      if (!dev) row.note = "no device-only time (host steps in the program)";
      else {
        try {
          if (policy.warmup) await dev.run(false);
          const td = await timeIt(() => dev.run(false), { ...policy, warmup: 0 });
          const dout = await dev.read();
          const derr = checkOut(w, dout, ref);
          if (derr <= w.tol) row.device_ms = td.median;
          else {
            row.ok = false;
            row.note = `device replay: max rel err ${derr.toExponential(2)}`;
          }
          if (system === "ours" && w.kind === "dispatch") {
            const ts = await timeIt(() => dev.run(true), { ...policy, warmup: 0 });
            const serr = checkOut(w, await dev.read(), ref);
            rows.push({
              workload: w.name,
              system: "submit-per-kernel",
              median_ms: ts.median,
              device_ms: ts.median,
              kernels: dev.kernels,
              submits: dev.kernels,
              reps: ts.reps,
              err: serr,
              ok: serr <= w.tol,
              note: "our fused kernels, each submitted and awaited alone, inputs resident",
            });
          }
        } finally {
          dev.dispose();
        }
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

/** The compiled program's kernels replayed by the bench: one buffer per storage name (no
 * memory planning), inputs written once, every launch encoded into one command buffer (or, for
 * the submit-per-kernel baseline, each submitted and awaited alone). It measures the kernels'
 * device time, which `cg.run` cannot report apart from its transfers. */
class KernelReplay {
  #buffers: GPUBuffer[] = [];
  #launches: { pipeline: GPUComputePipeline; bind: GPUBindGroup; grid: number[] }[] = [];
  #out!: { buffer: GPUBuffer; bytes: number };

  private constructor(readonly h: DeviceHandle) {}

  get kernels(): number {
    return this.#launches.length;
  }

  static async create(cg: CompiledGraph, inputs: Float32Array[]): Promise<KernelReplay | null> {
    const h = await getDevice();
    const r = new KernelReplay(h);
    try {
      return (await r.#build(cg, inputs)) ? r : (r.dispose(), null);
    } catch (e) {
      r.dispose();
      throw e;
    }
  }

  #buffer(bytes: number, label: string): GPUBuffer {
    const b = this.h.device.createBuffer({
      label,
      size: Math.max(4, Math.ceil(bytes / 4) * 4),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.#buffers.push(b);
    return b;
  }

  async #build(cg: CompiledGraph, inputs: Float32Array[]): Promise<boolean> {
    const sched = cg.scheduler;
    const program = cg.program;
    const bytesOf = (name: string) => {
      const b = sched.byName.get(name);
      if (!b) throw new Error(`kernel replay: unknown buffer '${name}'`);
      return numel(b.shape) * gpuBytes(b.dtype);
    };
    const scope = new Map<string, GPUBuffer>();
    cg.inputSpecs.forEach((s, i) => {
      const b = this.#buffer(inputs[i].byteLength, s.name);
      this.h.device.queue.writeBuffer(b, 0, inputs[i]);
      scope.set(s.name, b);
    });
    const specs: { spec: KernelSpec; bufs: GPUBuffer[] }[] = [];
    const walk = (w: WrapperCodegen, sc: Map<string, GPUBuffer>): GPUBuffer[] | null => {
      const get = (n: string) => {
        const b = sc.get(n);
        if (!b) throw new Error(`kernel replay: '${n}' is not bound in ${w.name}`);
        return b;
      };
      for (const l of w.lines) {
        switch (l.op) {
          case "alloc":
            sc.set(l.buf, this.#buffer(bytesOf(l.buf), l.buf));
            break;
          case "reuse":
            sc.set(l.next, get(l.prev));
            break;
          case "kernel":
            specs.push({ spec: l.spec, bufs: l.spec.bindings.map((b) => get(b.storage)) });
            break;
          case "custom":
            if (l.buf.layout !== "alias") return null; // a host step: not a device-only graph
            sc.set(l.buf.name, get(l.buf.target!));
            break;
          case "partition": {
            const inner = new Map<string, GPUBuffer>();
            for (const i of l.sig.inputs) inner.set(i, get(i));
            const part = program.partitions.get(l.index);
            if (!part) throw new Error(`kernel replay: no partition ${l.index}`);
            const outs = walk(part, inner);
            if (!outs) return null;
            l.sig.outputs.forEach((o, i) => sc.set(o, outs[i]));
            break;
          }
        }
      }
      return w.returns().map(get);
    };
    const outs = walk(program.main, scope);
    if (!outs) return false;
    const outName = program.main.returns()[0];
    this.#out = { buffer: outs[0], bytes: bytesOf(outName) };
    for (const { spec, bufs } of specs) {
      const pipeline = await getPipeline(this.h, { name: spec.name, wgsl: spec.wgsl });
      const bind = this.h.device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: bufs.map((buffer, i) => ({ binding: i, resource: { buffer } })),
      });
      this.#launches.push({ pipeline, bind, grid: spec.workgroups });
    }
    return true;
  }

  /** All launches in one pass and one submit (or one submit + wait each), then waits. */
  async run(perKernel: boolean): Promise<void> {
    const dev = this.h.device;
    if (perKernel) {
      for (const l of this.#launches) {
        const enc = dev.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(l.pipeline);
        pass.setBindGroup(0, l.bind);
        pass.dispatchWorkgroups(l.grid[0], l.grid[1], l.grid[2]);
        pass.end();
        dev.queue.submit([enc.finish()]);
        await dev.queue.onSubmittedWorkDone();
      }
      return;
    }
    const enc = dev.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (const l of this.#launches) {
      pass.setPipeline(l.pipeline);
      pass.setBindGroup(0, l.bind);
      pass.dispatchWorkgroups(l.grid[0], l.grid[1], l.grid[2]);
    }
    pass.end();
    dev.queue.submit([enc.finish()]);
    await dev.queue.onSubmittedWorkDone();
  }

  async read(): Promise<Float32Array> {
    const dev = this.h.device;
    const staging = dev.createBuffer({
      size: this.#out.buffer.size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = dev.createCommandEncoder();
    enc.copyBufferToBuffer(this.#out.buffer, 0, staging, 0, this.#out.buffer.size);
    dev.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(staging.getMappedRange().slice(0, this.#out.bytes));
    staging.destroy();
    return out;
  }

  dispose(): void {
    for (const b of this.#buffers) b.destroy();
    this.#buffers = [];
    this.#launches = [];
  }
}
