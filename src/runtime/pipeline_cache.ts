// Compute pipelines cached per device by a hash of their WGSL source: identical kernels compile
// once, also when requested concurrently. createComputePipelineAsync calls in flight are bounded by
// `inductor.compileThreads` (upstream: TORCHINDUCTOR_COMPILE_THREADS). WGSL errors become
// CompileErrors that name the kernel and show the offending lines.
import { config } from "../config.ts";
import { CompileError } from "../errors.ts";
import type { DeviceHandle } from "./device.ts";
import { assertLive, lostError, raceLoss } from "./errors.ts";
import { hashString } from "./hash.ts";

export interface PipelineSpec {
  /** Kernel name, used as the pipeline label and in error messages. */
  name: string;
  wgsl: string;
  entryPoint?: string;
}

export interface PipelineCacheStats {
  /** Shader modules + pipelines actually created. */
  compiled: number;
  /** Requests answered by the cache (including joins of an in-flight compile). */
  hits: number;
  /** Most createComputePipelineAsync calls in flight at once. */
  inFlightMax: number;
}

interface Entry {
  wgsl: string;
  entryPoint: string;
  pipeline: Promise<GPUComputePipeline>;
}

// Keyed by GPUDevice: a re-acquired device after a loss starts with an empty cache.
let caches = new WeakMap<GPUDevice, Map<string, Entry>>();
let stats: PipelineCacheStats = { compiled: 0, hits: 0, inFlightMax: 0 };

export function pipelineCacheStats(): PipelineCacheStats {
  return { ...stats };
}

/** Forgets every cached pipeline and zeroes the counters (compiles in flight still finish). */
export function clearPipelineCache(): void {
  caches = new WeakMap();
  stats = { compiled: 0, hits: 0, inFlightMax: inFlight };
}

// A small semaphore; the bound is read at acquire time so config changes apply to later compiles.
let inFlight = 0;
const waiters: (() => void)[] = [];

async function acquireSlot(): Promise<void> {
  while (inFlight >= config.int("inductor.compileThreads")) {
    await new Promise<void>((r) => waiters.push(r));
  }
  inFlight++;
  stats.inFlightMax = Math.max(stats.inFlightMax, inFlight);
}

function releaseSlot(): void {
  inFlight--;
  waiters.shift()?.();
}

/** The compute pipeline (layout "auto") for `spec` on `h`, compiled once per distinct source.
 * A cached pipeline keeps the label of the first request that compiled it. */
export function getPipeline(h: DeviceHandle, spec: PipelineSpec): Promise<GPUComputePipeline> {
  const entryPoint = spec.entryPoint ?? "main";
  try {
    assertLive(h, `compiling kernel '${spec.name}'`);
  } catch (e) {
    return Promise.reject(e);
  }
  let cache = caches.get(h.device);
  if (!cache) caches.set(h.device, cache = new Map());
  const key = hashString(`${entryPoint}\n${spec.wgsl}`);
  const hit = cache.get(key);
  if (hit && hit.wgsl === spec.wgsl && hit.entryPoint === entryPoint) {
    stats.hits++;
    return hit.pipeline;
  }
  const pipeline = compile(h, spec.name, spec.wgsl, entryPoint);
  // On a (vanishingly unlikely) hash collision the second source is compiled uncached.
  if (!hit) {
    const entries = cache;
    entries.set(key, { wgsl: spec.wgsl, entryPoint, pipeline });
    // Do not cache failures: a retry (after a fix or a device loss) compiles again.
    pipeline.catch(() => {
      if (entries.get(key)?.pipeline === pipeline) entries.delete(key);
    });
  }
  return pipeline;
}

async function compile(
  h: DeviceHandle,
  name: string,
  wgsl: string,
  entryPoint: string,
): Promise<GPUComputePipeline> {
  await acquireSlot();
  try {
    const doing = `compiling kernel '${name}'`;
    assertLive(h, doing);
    stats.compiled++;
    const device = h.device;
    // Always scoped (even with runtime.validate off): a bad module is reported through
    // getCompilationInfo below, not as an uncaptured error.
    device.pushErrorScope("validation");
    const module = device.createShaderModule({ label: name, code: wgsl });
    device.popErrorScope().catch(() => null);
    try {
      return await raceLoss(
        h,
        device.createComputePipelineAsync({
          label: name,
          layout: "auto",
          compute: { module, entryPoint },
        }),
        doing,
      );
    } catch (e) {
      if (h.lost) throw lostError(h, doing);
      throw await compileError(name, wgsl, entryPoint, module, e as Error);
    }
  } finally {
    releaseSlot();
  }
}

async function compileError(
  name: string,
  wgsl: string,
  entryPoint: string,
  module: GPUShaderModule,
  cause: Error,
): Promise<CompileError> {
  const info = await module.getCompilationInfo().catch(() => null);
  const errors = info?.messages.filter((m) => m.type === "error") ?? [];
  if (errors.length === 0) {
    return new CompileError(
      `kernel '${name}': creating the compute pipeline (entry point '${entryPoint}') failed: ` +
        cause.message,
    );
  }
  const first = errors[0];
  // wgpu/Tint messages may carry their own multi-line excerpt; keep the headline.
  const headline = first.message.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "";
  const where = first.lineNum > 0 ? ` at line ${first.lineNum}:${first.linePos}` : "";
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more error(s))` : "";
  return new CompileError(
    `kernel '${name}': WGSL compilation failed${where}: ${headline}${more}\n` +
      excerpt(wgsl, first.lineNum, first.linePos),
  );
}

/** Source lines around `line` (1-based) with numbers and a caret under column `col`. */
export function excerpt(src: string, line: number, col: number, context = 2): string {
  if (line <= 0) return "";
  const lines = src.split("\n");
  const lo = Math.max(1, line - context);
  const hi = Math.min(lines.length, line + context);
  const w = String(hi).length;
  const out: string[] = [];
  for (let i = lo; i <= hi; i++) {
    out.push(`${i === line ? ">" : " "} ${String(i).padStart(w)} | ${lines[i - 1]}`);
    if (i === line && col > 0) out.push(`  ${" ".repeat(w)} | ${" ".repeat(col - 1)}^`);
  }
  return out.join("\n");
}
