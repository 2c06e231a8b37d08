// Matmul tile configs timed per kernel on the current adapter (the page side of
// `deno run -A bench/matmul_browser.ts`, which runs it in headless Chromium on SwiftShader; it
// also runs under Deno). For each workload (matmul n x n, the bench's decoder) every kernel of
// the compiled program is generated as prepare() would (the default), and each matmul kernel
// again under every candidate tile config (genMatmul with a fixed config, as autotuning tries
// them). Each variant runs on the same random inputs; its outputs must match the default's
// within 1e-4 relative to the output's largest magnitude (matmul n x n: the default is checked
// against a float64 reference on 256 sampled elements). Times follow the bench's differential
// rule: (N launches + one queue wait) − (one launch + one wait), over N − 1, interleaved.
import { compile, getDevice } from "../src/mod.ts";
import { targetInput, TILE_CONFIGS } from "../src/codegen/autotune.ts";
import { kernelTargetFor } from "../src/codegen/kernel_target.ts";
import { generateKernel } from "../src/codegen/wgsl/generate.ts";
import { genMatmul, type MatmulConfig } from "../src/codegen/wgsl/matmul.ts";
import type { KernelSpec } from "../src/codegen/wgsl/kernel_spec.ts";
import { gpuBytes, numel } from "../src/dtype.ts";
import { decoderFn, decoderInputs, SMALL_DECODER } from "../src/models/decoder.ts";
import type { InputSpec, TensorProxy } from "../src/mod.ts";
import { median, randomArray } from "./harness.ts";
import { launchesForSpan, launchTimer } from "./launch_timer.ts";

export interface SweepOptions {
  /** Matmul sizes n (n x n @ n x n) and decoder sequence lengths (batch 1, one layer). */
  matmuls: number[];
  decoders: number[];
  /** Config names to try (see configName); empty: every candidate. */
  only: string[];
  rounds: number;
}

export interface SweepRow {
  workload: string;
  kernel: string;
  /** "default" (what prepare() picks) or a config name. */
  variant: string;
  flop: number;
  rounds: number[];
  note?: string;
}

/** Candidates: the autotune list plus smaller register tiles per invocation (SwiftShader runs
 * four invocations as SIMD lanes, so a lane's accumulators cost four times the registers). */
export const CANDIDATES: MatmulConfig[] = [
  ...TILE_CONFIGS,
  { kind: "register", tileM: 16, tileN: 16, tileK: 4, threadM: 4, threadN: 4 },
  { kind: "register", tileM: 16, tileN: 32, tileK: 4, threadM: 2, threadN: 4 },
  { kind: "register", tileM: 32, tileN: 32, tileK: 4, threadM: 2, threadN: 4 },
  { kind: "register", tileM: 32, tileN: 64, tileK: 4, threadM: 4, threadN: 4 },
  { kind: "register", tileM: 64, tileN: 64, tileK: 4, threadM: 4, threadN: 4 },
  { kind: "register", tileM: 16, tileN: 64, tileK: 4, threadM: 2, threadN: 8 },
  { kind: "register", tileM: 32, tileN: 32, tileK: 4, threadM: 4, threadN: 8 },
  { kind: "register", tileM: 64, tileN: 64, tileK: 4, threadM: 8, threadN: 4 },
  // large tiles per invocation in small workgroups (operand reuse per load)
  { kind: "register", tileM: 64, tileN: 64, tileK: 4, threadM: 16, threadN: 16 },
  { kind: "register", tileM: 128, tileN: 64, tileK: 4, threadM: 16, threadN: 16 },
  { kind: "register", tileM: 64, tileN: 128, tileK: 4, threadM: 16, threadN: 16 },
  { kind: "register", tileM: 128, tileN: 128, tileK: 4, threadM: 8, threadN: 16 },
  { kind: "register", tileM: 128, tileN: 128, tileK: 4, threadM: 16, threadN: 8 },
  { kind: "register", tileM: 64, tileN: 64, tileK: 4, threadM: 8, threadN: 16 },
  { kind: "register", tileM: 128, tileN: 128, tileK: 4, threadM: 32, threadN: 16 },
  { kind: "register", tileM: 128, tileN: 128, tileK: 4, threadM: 16, threadN: 32 },
  { kind: "register", tileM: 128, tileN: 128, tileK: 4, threadM: 32, threadN: 32 },
  { kind: "register", tileM: 64, tileN: 128, tileK: 4, threadM: 16, threadN: 32 },
  { kind: "register", tileM: 128, tileN: 256, tileK: 4, threadM: 16, threadN: 32 },
  { kind: "register", tileM: 128, tileN: 128, tileK: 4, threadM: 8, threadN: 32 },
  { kind: "register", tileM: 64, tileN: 256, tileK: 4, threadM: 8, threadN: 64 },
  // narrow outputs (attention's P @ V, n = head dim 16)
  { kind: "register", tileM: 32, tileN: 16, tileK: 4, threadM: 4, threadN: 4 },
  { kind: "register", tileM: 32, tileN: 16, tileK: 4, threadM: 8, threadN: 4 },
  { kind: "register", tileM: 64, tileN: 16, tileK: 4, threadM: 16, threadN: 4 },
  { kind: "register", tileM: 16, tileN: 16, tileK: 4, threadM: 2, threadN: 4 },
  { kind: "register", tileM: 32, tileN: 16, tileK: 4, threadM: 4, threadN: 8 },
  // lane-strided scalar tiles (tileK other than 4: no vec4 tile)
  { kind: "register", tileM: 32, tileN: 32, tileK: 8, threadM: 4, threadN: 4 },
  { kind: "register", tileM: 32, tileN: 32, tileK: 8, threadM: 2, threadN: 4 },
  { kind: "register", tileM: 64, tileN: 64, tileK: 8, threadM: 4, threadN: 4 },
];

export function configName(c: MatmulConfig): string {
  return `${
    c.kind === "shared" ? "sh" : "rg"
  }${c.tileM}x${c.tileN}x${c.tileK}-${c.threadM}x${c.threadN}${c.pipelined ? "-p" : ""}`;
}

interface Kernel {
  workload: string;
  spec: KernelSpec;
  /** Byte size of each binding. */
  sizes: number[];
  variants: { name: string; spec: KernelSpec }[];
  flop: number;
  /** Matmul n x n: check the default against a float64 reference. */
  refN?: number;
}

function programKernels(
  workload: string,
  fn: (...xs: TensorProxy[]) => TensorProxy,
  inputs: InputSpec[],
  o: SweepOptions,
  target: ReturnType<typeof kernelTargetFor>,
): Kernel[] {
  const cg = compile(fn, { inputs });
  const out: Kernel[] = [];
  for (const w of [...cg.program.partitions.values(), cg.program.main]) {
    for (const l of w.lines) {
      if (l.op !== "kernel" || l.spec.custom) continue;
      const input = targetInput(w, l, target);
      const spec = generateKernel(input);
      const sizes = spec.bindings.map((b) => {
        const buf = w.sched.byName.get(b.storage);
        return buf ? Math.max(4, numel(buf.shape) * gpuBytes(buf.dtype)) : 4;
      });
      const k: Kernel = { workload, spec, sizes, variants: [], flop: 0 };
      if (l.node.kind === "matmul") {
        const seen = new Set([spec.wgsl]);
        for (const c of CANDIDATES) {
          const name = configName(c);
          // (every candidate the list names; by default only register tiles: SwiftShader took
          // minutes and gigabytes compiling even the 32x32 shared tile of the decoder's q/k/v)
          if (o.only.length ? !o.only.includes(name) : c.kind === "shared") continue;
          try {
            const v = genMatmul(input, c);
            if (seen.has(v.wgsl)) continue;
            seen.add(v.wgsl);
            k.variants.push({ name, spec: v });
          } catch { /* config invalid for this shape */ }
        }
      }
      out.push(k);
    }
  }
  return out;
}

export async function runSweep(
  o: SweepOptions,
  log: (s: string) => void,
): Promise<{ device: string; rows: SweepRow[] }> {
  const h = await getDevice();
  const dev = h.device;
  const target = kernelTargetFor(h);
  const kernels: Kernel[] = [];
  for (const n of o.matmuls) {
    const ks = programKernels(
      `matmul-${n}`,
      (a, b) => a.matmul(b),
      [{ shape: [n, n] }, { shape: [n, n] }],
      o,
      target,
    );
    for (const k of ks) [k.flop, k.refN] = [2 * n * n * n, n];
    kernels.push(...ks);
  }
  for (const s of o.decoders) {
    const c = { ...SMALL_DECODER, batch: 1, seq: s, layers: 1 };
    kernels.push(...programKernels(`decoder-1x${s}`, decoderFn(c), decoderInputs(c), o, target));
  }
  const rows: SweepRow[] = [];
  for (const k of kernels) {
    // random inputs in [-1, 1) (an index input would read out of range: zeros there instead)
    const host = k.sizes.map((bytes, i) =>
      k.spec.bindings[i].dtype === "f32"
        ? randomArray(bytes / 4, 12345 + i)
        : new Float32Array(bytes / 4)
    );
    const bufs = k.sizes.map((bytes) =>
      dev.createBuffer({
        size: Math.ceil(bytes / 16) * 16,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      })
    );
    const reset = () => bufs.forEach((b, i) => dev.queue.writeBuffer(b, 0, host[i]));
    const outs = k.spec.bindings.flatMap((b, i) => b.access === "read_write" ? [i] : []);
    const readOuts = async () => {
      const res: Float32Array[] = [];
      for (const i of outs) {
        const st = dev.createBuffer({
          size: bufs[i].size,
          usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        });
        const enc = dev.createCommandEncoder();
        enc.copyBufferToBuffer(bufs[i], 0, st, 0, bufs[i].size);
        dev.queue.submit([enc.finish()]);
        await st.mapAsync(GPUMapMode.READ);
        res.push(new Float32Array(st.getMappedRange().slice(0)));
        st.destroy();
      }
      return res;
    };
    const all = [{ name: "default", spec: k.spec }, ...k.variants];
    const runs: { name: string; run: (n: number) => Promise<number>; ms: number[] }[] = [];
    let expected: Float32Array[] | null = null;
    for (const v of all) {
      const row: SweepRow = {
        workload: k.workload,
        kernel: k.spec.name,
        variant: v.name,
        flop: k.flop,
        rounds: [],
      };
      rows.push(row);
      try {
        const tc = performance.now();
        dev.pushErrorScope("validation");
        const module = dev.createShaderModule({ code: v.spec.wgsl });
        const pipeline = await dev.createComputePipelineAsync({
          layout: "auto",
          compute: { module, entryPoint: "main" },
        });
        const bind = dev.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: bufs.map((buffer, binding) => ({ binding, resource: { buffer } })),
        });
        const err = await dev.popErrorScope();
        if (err) throw new Error(err.message);
        log(`${k.spec.name} ${v.name}: compiled in ${(performance.now() - tc).toFixed(0)} ms`);
        const run = launchTimer(dev, pipeline, bind, v.spec.workgroups);
        reset();
        await run(1);
        const got = await readOuts();
        if (!expected) {
          expected = got;
          if (k.refN) checkReference(host[0], host[1], got[0], k.refN);
        } else checkSame(expected, got);
        runs.push({ name: v.name, run, ms: row.rounds });
      } catch (e) {
        row.note = `error: ${(e as Error).message.split("\n")[0]}`;
        log(`${k.workload} ${k.spec.name} ${v.name}: ${row.note}`);
      }
    }
    // launches per timing: the span of N launches reaches ~150 ms (at least 2)
    const counts = new Map<string, number>();
    for (const r of runs) {
      const one = await r.run(1);
      const n = await launchesForSpan(r.run, 150);
      counts.set(r.name, one > 400 ? 2 : n);
    }
    for (let round = 0; round < o.rounds; round++) {
      for (const r of runs) {
        const n = counts.get(r.name)!;
        const one = await r.run(1);
        const many = await r.run(n);
        r.ms.push(Math.max(many - one, 1e-6) / (n - 1));
      }
    }
    for (const r of runs) {
      const row = rows.find((x) => x.kernel === k.spec.name && x.variant === r.name)!;
      log(formatRow(row));
    }
    bufs.forEach((b) => b.destroy());
  }
  return { device: h.info, rows };
}

function checkReference(a: Float32Array, b: Float32Array, c: Float32Array, n: number): void {
  for (let s = 0; s < 256; s++) {
    const i = (s * 7919) % n, j = (s * 104729 + 13) % n;
    let ref = 0, mag = 0;
    for (let q = 0; q < n; q++) {
      ref += a[i * n + q] * b[q * n + j];
      mag += Math.abs(a[i * n + q] * b[q * n + j]);
    }
    const err = Math.abs(c[i * n + j] - ref) / (mag + 1e-30);
    if (!(err < 1e-5)) throw new Error(`default kernel wrong at (${i}, ${j}): rel err ${err}`);
  }
}

function checkSame(want: Float32Array[], got: Float32Array[]): void {
  want.forEach((w, o) => {
    let scale = 0;
    for (const x of w) scale = Math.max(scale, Math.abs(x));
    for (let i = 0; i < w.length; i++) {
      if (!(Math.abs(got[o][i] - w[i]) <= 1e-4 * scale)) {
        throw new Error(`output ${o}[${i}] = ${got[o][i]}, default ${w[i]}`);
      }
    }
  });
}

export function formatRow(r: SweepRow): string {
  const sorted = [...r.rounds].sort((x, y) => x - y);
  const med = sorted.length ? median(sorted) : undefined;
  const gf = r.flop && med ? ` ${(r.flop / med / 1e6).toFixed(2).padStart(6)} GFLOP/s` : "";
  return `${r.workload.padEnd(14)} ${r.kernel.slice(0, 28).padEnd(28)} ${r.variant.padEnd(20)} ${
    med === undefined ? "-" : med.toFixed(3).padStart(9)
  } ms${gf}  [${sorted.map((t) => t.toFixed(2)).join(" ")}]${r.note ? " " + r.note : ""}`;
}

/** The page entry (bench/browser.ts's runInPage calls `run`). */
export function run(o: SweepOptions): Promise<{ device: string; rows: SweepRow[] }> {
  return runSweep(o, (s) => console.log(s));
}
