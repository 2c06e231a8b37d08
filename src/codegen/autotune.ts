// Compile-time autotuning of the matmul template (upstream max_autotune's benchmark of template
// choices). With `inductor.maxAutotune`, or several `inductor.compileSizes` (vLLM forces
// max-autotune for static compile sizes), every wrapper that launches matmul kernels gets an
// autotune script that benchmarks a few tile configs on the adapter. As upstream, the script is
// a separate piece of code run in an isolated scope (`new Function`: it sees only globals and
// its `ctx`). The main wrapper writes the stream helper's import at the top of its script; a
// partition's wrapper leaves that to its parent (upstream SubgraphPythonWrapperCodegen), so in
// the 2.9.0 port a partition's script fails with "get_raw_stream is not defined" — patch D.
import { customKernelSpec } from "./wgsl/custom.ts";
import { generateKernel, groupKind } from "./wgsl/generate.ts";
import type { GroupInput } from "./wgsl/kernel_context.ts";
import type { KernelSpec } from "./wgsl/kernel_spec.ts";
import { genMatmul, type MatmulConfig } from "./wgsl/matmul.ts";
import { genReduction, reductionShape } from "./wgsl/reduction.ts";
import { layoutCandidates } from "./wgsl/reduction_layout.ts";
import type { KernelTarget } from "./wgsl/target.ts";
import { config } from "../config.ts";
import { gpuBytes, numel } from "../dtype.ts";
import { CompileError } from "../errors.ts";
import { createStorageBuffer, destroyBuffer } from "../runtime/buffers.ts";
import type { DeviceHandle } from "../runtime/device.ts";
import { getPipeline } from "../runtime/pipeline_cache.ts";
import { getRawStream, type Stream } from "../runtime/stream.ts";
import { hashString } from "../runtime/hash.ts";
import { tuningCache } from "../runtime/tuning_cache.ts";
import { counters } from "../inductor/counters.ts";
import { checkTarget, kernelTargetFor } from "./kernel_target.ts";
import type { Program, ProgramLine, WrapperCodegen } from "./wrapper.ts";

type KernelLine = Extract<ProgramLine, { op: "kernel" }>;

/** The kernel each launch line runs on a given adapter (the program itself keeps the
 * compile-time kernels: it is shared by every CompiledGraph compiled from the same graph). */
export type KernelChoice = Map<KernelLine, KernelSpec>;

/** Tile configs tried for each matmul (invalid ones for a shape are skipped). */
export const TILE_CONFIGS: MatmulConfig[] = [
  { kind: "shared", tileM: 32, tileN: 32, tileK: 16, threadM: 4, threadN: 4 },
  { kind: "shared", tileM: 64, tileN: 64, tileK: 16, threadM: 4, threadN: 4 },
  { kind: "shared", tileM: 64, tileN: 64, tileK: 16, threadM: 8, threadN: 8 },
  { kind: "shared", tileM: 4, tileN: 64, tileK: 16, threadM: 4, threadN: 1 },
  { kind: "register", tileM: 32, tileN: 32, tileK: 4, threadM: 4, threadN: 4 },
  { kind: "register", tileM: 32, tileN: 64, tileK: 4, threadM: 4, threadN: 8 },
  { kind: "register", tileM: 64, tileN: 64, tileK: 4, threadM: 8, threadN: 8 },
  { kind: "register", tileM: 1, tileN: 256, tileK: 4, threadM: 1, threadN: 4 },
  // taller and wider vec4 register tiles (in the lavapipe microbenchmark of matmul 1024 within
  // 10% of the 8x8 tile either way)
  { kind: "register", tileM: 128, tileN: 64, tileK: 4, threadM: 16, threadN: 8 },
  { kind: "register", tileM: 64, tileN: 128, tileK: 4, threadM: 8, threadN: 16 },
  { kind: "register", tileM: 128, tileN: 128, tileK: 4, threadM: 16, threadN: 16 },
  // GPUs: 8x8 register tiles per thread with the next k slice prefetched into registers
  // (register double buffering) and conflict-free column-strided reads of workgroup memory
  { kind: "shared", tileM: 128, tileN: 128, tileK: 8, threadM: 8, threadN: 8, pipelined: true },
  { kind: "shared", tileM: 128, tileN: 128, tileK: 16, threadM: 8, threadN: 8, pipelined: true },
  { kind: "shared", tileM: 64, tileN: 128, tileK: 16, threadM: 4, threadN: 8, pipelined: true },
  { kind: "shared", tileM: 64, tileN: 64, tileK: 16, threadM: 4, threadN: 4, pipelined: true },
];

/** Autotune timing: launches are doubled until r launches take this much longer than one. */
const TUNE_MIN_MS = 20;
/** ...or up to this many launches (a kernel too fast to time is then timed by its launch rate). */
const TUNE_MAX_LAUNCHES = 1024;

export function autotuneEnabled(): boolean {
  return config.bool("inductor.maxAutotune") || config.ints("inductor.compileSizes").length > 1;
}

interface TuneKernel {
  name: string;
  candidates: KernelSpec[];
  /** Element counts and dtypes of the kernel's bindings (for scratch buffers). */
  sizes: number[];
}

/** The autotune block of one wrapper, as code text (printable, like upstream's). */
export function autotuneScript(w: WrapperCodegen): string {
  const lines: string[] = [];
  // the main wrapper writes its imports; a partition's wrapper defers them to its parent
  if (!w.signature) lines.push("const get_raw_stream = ctx.getRawStream;");
  lines.push(
    "const stream = await get_raw_stream(0);",
    "const choices = [];",
    "for (const kernel of ctx.kernels) choices.push(await ctx.benchmark(stream, kernel));",
    "return choices;",
  );
  return lines.join("\n");
}

/** A kernel line's group as codegen input for `target`. */
export function targetInput(w: WrapperCodegen, l: KernelLine, t: KernelTarget): GroupInput {
  return {
    ...w.sched.groupInput(l.spec.name, l.node.members),
    matmulKind: t.matmulKind,
    reductionWorkgroup: t.reductionWorkgroup,
    f16Storage: t.f16,
    subgroups: t.subgroups,
    adapterClass: t.adapterClass,
    adapterFlavour: t.adapterFlavour,
    vectorize: t.vectorize,
    matmulTextures: t.matmulTextures,
  };
}

/** Regenerate every kernel for the adapter's target (compile() ran before the device was known;
 * bindings and stores do not change): matmul template flavour, reduction workgroup and combine,
 * f16 storage, custom ops' own kernels. */
export function selectKernels(p: Program, t: KernelTarget): KernelChoice {
  const out: KernelChoice = new Map();
  for (const w of [...p.partitions.values(), p.main]) {
    for (const l of w.lines) {
      if (l.op !== "kernel") continue;
      if (l.spec.custom) {
        const s = w.sched;
        const buf = l.node.members[0];
        out.set(l, customKernelSpec(l.spec.name, buf, (x) => s.byName.get(x)!, s.realName, t.f16));
      } else out.set(l, generateKernel(targetInput(w, l, t)));
    }
  }
  return out;
}

/** Pick the kernels for device `h`: the adapter's target, then (when enabled) matmul tile
 * configs and reduction layouts benchmarked on it. Returns the target and the kernel of every launch line. */
export async function runAutotune(
  h: DeviceHandle,
  p: Program,
  target: KernelTarget = kernelTargetFor(h),
): Promise<{ target: KernelTarget; kernels: KernelChoice }> {
  const chosen = selectKernels(p, target);
  checkTarget(h, target, [...chosen.values()]);
  if (!autotuneEnabled()) return { target, kernels: chosen };
  for (const w of [...p.partitions.values(), p.main]) {
    const lines = w.lines.filter((l): l is KernelLine =>
      l.op === "kernel" && !l.spec.custom &&
      (l.node.kind === "matmul" || l.node.kind === "reduction")
    );
    if (!lines.length) continue;
    const kernels: TuneKernel[] = lines.map((l) => {
      const input = targetInput(w, l, target);
      const first = chosen.get(l)!;
      const seen = new Set<string>([first.wgsl]);
      const candidates = [first];
      const add = (make: () => KernelSpec) => {
        try {
          const spec = make();
          if (!seen.has(spec.wgsl)) {
            seen.add(spec.wgsl);
            candidates.push(spec);
          }
        } catch { /* config invalid for this shape */ }
      };
      if (groupKind(input) === "matmul") {
        // configs of the template flavour that suits the adapter
        for (const cfg of TILE_CONFIGS.filter((c) => c.kind === target.matmulKind)) {
          add(() => genMatmul(input, cfg));
        }
      } else {
        // reduction layouts: rows per workgroup x lanes per row, vec4 or scalar steps
        for (const layout of layoutCandidates(reductionShape(input))) {
          add(() => genReduction({ ...input, reductionLayout: layout }));
        }
      }
      const sizes = first.bindings.map((b) => {
        const buf = w.sched.byName.get(b.storage);
        return buf ? numel(buf.shape) * gpuBytes(buf.dtype) : 4;
      });
      return { name: first.name, candidates, sizes };
    });
    const script = autotuneScript(w);
    const block = new Function("ctx", `"use strict"; return (async () => {\n${script}\n})();`);
    let choices: number[];
    try {
      counters.autotuneRuns++;
      choices = await block({
        kernels,
        getRawStream,
        benchmark: (s: Stream, k: TuneKernel) => benchmark(h, s, k),
      });
    } catch (e) {
      throw new CompileError(
        `Failed to run autotuning code block of ${w.name}: ${(e as Error).message}\n${script}`,
      );
    }
    lines.forEach((l, i) => chosen.set(l, kernels[i].candidates[choices[i]]));
  }
  return { target, kernels: chosen };
}

/** Time each candidate on scratch buffers; index of the best. Each candidate's time is the
 * difference of r launches + one sync and one launch + one sync, over r − 1, with r doubled until
 * the difference is at least TUNE_MIN_MS: a queue wait costs ~10 ms in Deno on lavapipe and
 * NVIDIA's Vulkan driver alike and varies by milliseconds, so 3 launches + a wait (what this did
 * before) picked at random among sub-millisecond GPU kernels. Mirrors the role of upstream's
 * `benchmarker.benchmark_gpu` (many reps, the fixed cost taken out). */
async function benchmark(h: DeviceHandle, s: Stream, k: TuneKernel): Promise<number> {
  const key = `${h.info}\n${k.candidates.map((c) => hashString(c.wgsl)).join(",")}`;
  const hit = await tuningCache().get(key);
  if (hit !== undefined && hit < k.candidates.length) return hit;
  counters.autotuneBenchmarks++;
  const bufs = k.sizes.map((n, i) => createStorageBuffer(h, n, `${k.name}:tune${i}`));
  let best = 0, bestMs = Infinity;
  try {
    for (let c = 0; c < k.candidates.length; c++) {
      const spec = k.candidates[c];
      const pipeline = await getPipeline(h, { name: `${spec.name}:tune${c}`, wgsl: spec.wgsl });
      const bindGroup = h.device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: bufs.map((buffer, i) => ({ binding: i, resource: { buffer } })),
      });
      const timed = async (launches: number) => {
        const t0 = performance.now();
        for (let r = 0; r < launches; r++) {
          s.launch(pipeline, [bindGroup], spec.workgroups, spec.name);
        }
        await s.synchronize();
        return performance.now() - t0;
      };
      // warm-up; a candidate that alone outlasts the threshold needs only two launches
      const warm = await timed(1);
      let ms = Infinity;
      for (let r = warm > 2 * TUNE_MIN_MS ? 2 : 4;; r *= 2) {
        const one = await timed(1);
        const diff = (await timed(r)) - one;
        ms = Math.max(diff, 1e-6) / (r - 1);
        // stop once the difference outweighs the wait's jitter, or a candidate is already
        // slower than the best by this much
        if (diff >= TUNE_MIN_MS || r >= TUNE_MAX_LAUNCHES || ms > 2 * bestMs) break;
      }
      if (ms < bestMs) [best, bestMs] = [c, ms];
    }
  } finally {
    for (const b of bufs) destroyBuffer(b);
  }
  await tuningCache().set(key, best);
  return best;
}
