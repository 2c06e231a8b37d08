// Timing, counting and checking helpers shared by every system in the suite. Platform neutral:
// no Deno APIs here, so the same code runs in Deno and in the browser page.

/** One row of the suite's output (the `--json` format). */
export interface Row {
  workload: string;
  system: string;
  /** Median host-to-host time: inputs uploaded from host arrays, outputs read back. */
  median_ms: number;
  /** Median device time: inputs resident, outputs left on the device, synchronised with
   * onSubmittedWorkDone (or the peer's own block-until-ready). */
  device_ms?: number;
  /** Throughput from device_ms (or from median_ms when there is no device time). */
  gflops?: number;
  gbps?: number;
  /** Kernel dispatches (dispatchWorkgroups calls) and queue submits counted during one call. */
  kernels?: number;
  submits?: number;
  /** Ours: device bytes for intermediates and outputs after memory planning, and without. */
  peak_bytes?: number;
  unplanned_bytes?: number;
  /** Time from nothing (cold caches) to the first result on the host. */
  first_ms?: number;
  /** Ours: compile + prepare, the first time (cold) and again for the same graph (warm). */
  compile_cold_ms?: number;
  compile_warm_ms?: number;
  /** ours / best peer, host-to-host and device-only. */
  vs_best?: number;
  vs_best_device?: number;
  /** Max |out - ref| / max |ref| over the checked elements. */
  err?: number;
  reps?: number;
  ok: boolean;
  note?: string;
}

export const now = (): number => performance.now();

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface RepPolicy {
  warmup: number;
  minReps: number;
  maxReps: number;
  /** Stop once this many ms were spent timing (after minReps). */
  budgetMs: number;
  /** Stop once this many ms were spent even before minReps (a slow system gets fewer
   * repetitions, at least one). Default 4000. */
  capMs?: number;
}

/** Warm-ups, then repetitions until minReps and (budget spent or maxReps). `fn` must resolve
 * only when the work is complete (a readback or onSubmittedWorkDone). */
export async function timeIt(
  fn: () => Promise<unknown>,
  p: RepPolicy,
): Promise<{ median: number; reps: number; times: number[] }> {
  for (let i = 0; i < p.warmup; i++) await fn();
  const times: number[] = [];
  const start = now();
  const cap = p.capMs ?? 4000;
  for (;;) {
    const n = times.length, spent = now() - start;
    const more = n < p.minReps ? spent < cap : n < p.maxReps && spent < p.budgetMs;
    if (n > 0 && !more) break;
    const t = now();
    await fn();
    times.push(now() - t);
  }
  return { median: median(times), reps: times.length, times };
}

// deno-lint-ignore no-explicit-any
const G = globalThis as any;

/** Counts dispatchWorkgroups and queue.submit calls made by anything in this realm while `fn`
 * runs (every system records through the same WebGPU prototypes). */
export async function countGPU(
  fn: () => Promise<unknown>,
): Promise<{ kernels: number; submits: number } | null> {
  const pass = G.GPUComputePassEncoder?.prototype;
  const queue = G.GPUQueue?.prototype;
  if (!pass?.dispatchWorkgroups || !queue?.submit) {
    await fn();
    return null;
  }
  const d0 = pass.dispatchWorkgroups, s0 = queue.submit;
  let kernels = 0, submits = 0;
  pass.dispatchWorkgroups = function (this: unknown, ...a: unknown[]) {
    kernels++;
    return d0.apply(this, a);
  };
  queue.submit = function (this: unknown, ...a: unknown[]) {
    submits++;
    return s0.apply(this, a);
  };
  try {
    await fn();
  } finally {
    pass.dispatchWorkgroups = d0;
    queue.submit = s0;
  }
  return { kernels, submits };
}

/** Which output elements a check compares: all of them, or these indices. */
export type Sample = { all: true } | { idx: number[] };

/** Max |out - ref| / max(|ref|) over the sampled positions (ref holds the sampled values in
 * order); NaN/Inf or a length mismatch give Infinity. */
export function relErr(
  out: ArrayLike<number>,
  ref: ArrayLike<number>,
  idx: number[] | null,
  expectLen: number,
): number {
  if (out.length !== expectLen) return Infinity;
  let num = 0, den = 0;
  const n = idx ? idx.length : ref.length;
  for (let i = 0; i < n; i++) {
    const o = out[idx ? idx[i] : i];
    const r = ref[i];
    if (!Number.isFinite(o)) return Infinity;
    num = Math.max(num, Math.abs(o - r));
    den = Math.max(den, Math.abs(r));
  }
  return num / Math.max(den, 1e-30);
}

/** Seeded uniform floats in [lo, hi) (mulberry32). */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  const span = hi - lo;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    a[i] = lo + span * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return a;
}

export function errMessage(e: unknown): string {
  const m = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return m.split("\n")[0].slice(0, 160);
}

const fmtMs = (x?: number) =>
  x === undefined ? "" : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
const fmtNum = (x?: number) =>
  x === undefined ? "" : x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(2);
const fmtBytes = (x?: number) =>
  x === undefined
    ? ""
    : x >= 1 << 20
    ? `${(x / (1 << 20)).toFixed(1)}M`
    : `${Math.ceil(x / 1024)}K`;
const fmtRatio = (x?: number) => x === undefined ? "" : `${x.toFixed(2)}x`;

/** The stdout table: one line per row, grouped by workload. */
export function formatTable(rows: Row[]): string {
  const header = [
    "workload",
    "system",
    "median ms",
    "dev ms",
    "GFLOP/s",
    "GB/s",
    "vs best",
    "dev vs best",
    "kern",
    "subm",
    "mem plan/unpl",
    "first ms",
    "compile cold/warm",
    "err",
    "ok",
  ];
  const body = rows.map((r) => [
    r.workload,
    r.system,
    fmtMs(r.median_ms),
    fmtMs(r.device_ms),
    fmtNum(r.gflops),
    fmtNum(r.gbps),
    fmtRatio(r.vs_best),
    fmtRatio(r.vs_best_device),
    r.kernels === undefined ? "" : String(r.kernels),
    r.submits === undefined ? "" : String(r.submits),
    r.peak_bytes === undefined ? "" : `${fmtBytes(r.peak_bytes)}/${fmtBytes(r.unplanned_bytes)}`,
    fmtMs(r.first_ms),
    r.compile_cold_ms === undefined
      ? ""
      : `${fmtMs(r.compile_cold_ms)}/${fmtMs(r.compile_warm_ms)}`,
    r.err === undefined ? "" : Number.isFinite(r.err) ? r.err.toExponential(1) : "inf",
    r.ok ? (r.note ? `ok (${r.note})` : "ok") : `FAIL${r.note ? `: ${r.note}` : ""}`,
  ]);
  const w = header.map((h, c) =>
    Math.max(h.length, ...body.map((b) => (c === header.length - 1 ? 0 : b[c].length)))
  );
  const line = (cells: string[]) =>
    cells.map((c, i) => i === cells.length - 1 ? c : i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))
      .join("  ");
  const out = [line(header)];
  let last = "";
  body.forEach((b, i) => {
    if (rows[i].workload !== last && i > 0) out.push("");
    last = rows[i].workload;
    out.push(line(b));
  });
  return out.join("\n");
}
