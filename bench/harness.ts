// Timing, counting and checking helpers shared by every system in the suite. Platform neutral:
// no Deno APIs here, so the same code runs in Deno and in the browser page.

/** One row of the suite's output (the `--json` format). Every time is in milliseconds; the
 * method is README.md's "Benchmarks" (and bench/measure.ts). */
export interface Row {
  workload: string;
  system: string;
  /** Median host-to-host time with the weights resident: activations uploaded from host
   * arrays, the output read back. The headline column. */
  median_ms: number;
  /** Median host-to-host time with every input (weights too) uploaded from host arrays; only
   * where the weights are a real part of the inputs (`uploadAllMatters`). */
  all_ms?: number;
  /** Device time per call: (N back-to-back calls + one sync − one call + one sync) / (N − 1),
   * every input resident, outputs left on the device; the sync reads the last output back. */
  device_ms?: number;
  /** One call + one sync (the same read), every input resident. */
  call_ms?: number;
  /** N of the device-time method. */
  device_calls?: number;
  /** Ours, diagnostic: the executor's recorded launches replayed (`cg.timeDevice`), by the same
   * differential method: the kernels alone, without run()'s binding and output copies. */
  replay_ms?: number;
  /** LLM rows: tokens per second host to host (tokens per step / median_ms). */
  tokens_per_s?: number;
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
  /** Best peer's time / ours (above 1: ours is faster), from median_ms, device_ms and call_ms;
   * each from the fastest peer in that column. */
  vs_best?: number;
  vs_best_device?: number;
  vs_best_call?: number;
  /** The peers those ratios are against. */
  best_peer?: string;
  best_peer_device?: string;
  best_peer_call?: string;
  /** Max |out - ref| / max |ref| over the checked elements, worst over every checked result. */
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
   * repetitions, at least one); the device time's pairs stop once their measured times add up
   * to it (at least one pair). Default 4000. */
  capMs?: number;
  /** N of the device-time method (at least 2). */
  deviceCalls: number;
  /** (1 call, N calls) pairs timed for the device time (fewer when capMs is spent). */
  deviceReps: number;
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

/** T(N) − T(1) must reach this before N stops growing: a queue wait in Deno has a ~10 ms polling
 * granularity and jitter of milliseconds, so on a GPU, where a call's kernels take microseconds,
 * the policy's N alone measured the jitter (device times of 0 or above the kernels' replay). */
export const MIN_SPAN_MS = 50;
/** N never grows past this (a call too fast to time then reads as its launch rate). */
export const MAX_DEVICE_CALLS = 4096;

/** The device-time method, the same for every system: `calls(n)` makes n back-to-back calls
 * with every input resident, outputs left on the device, then one sync; it may return its own
 * elapsed ms (else it is timed here). N starts at the policy's and doubles (by the same rule for
 * every system) until T(N) − T(1) ≥ MIN_SPAN_MS; then pairs of calls(1) and calls(N) are timed
 * alternately; `perCall` = (median T(N) − median T(1)) / (N − 1), which cancels the sync's fixed
 * cost (a queue wait, the readback), and `oneCall` = median T(1). */
export async function timeDifferential(
  calls: (n: number) => Promise<number | void>,
  p: RepPolicy,
): Promise<{ perCall: number; oneCall: number; reps: number; calls: number }> {
  let n = Math.max(2, p.deviceCalls);
  const time = async (k: number) => {
    const t = now();
    const own = await calls(k);
    return typeof own === "number" ? own : now() - t;
  };
  const one: number[] = [], many: number[] = [];
  // the budget counts the measured times (the same rule for every system, whatever its speed)
  let spent = 0;
  const cap = p.capMs ?? 4000;
  for (;;) {
    const t1 = await time(1), tn = await time(n);
    spent += t1 + tn;
    if (tn - t1 >= MIN_SPAN_MS || n >= MAX_DEVICE_CALLS || spent > cap) {
      one.push(t1); // the probe at the final N is the first pair
      many.push(tn);
      break;
    }
    // grow towards the span (at least doubling), estimated from this probe
    const per = Math.max((tn - t1) / (n - 1), 1e-3);
    n = Math.min(MAX_DEVICE_CALLS, Math.max(2 * n, Math.ceil((1.5 * MIN_SPAN_MS) / per)));
  }
  while (one.length < Math.max(1, p.deviceReps)) {
    if (spent > cap) break;
    one.push(await time(1));
    many.push(await time(n));
    spent += one[one.length - 1] + many[many.length - 1];
  }
  const t1 = median(one), tn = median(many);
  return { perCall: Math.max(0, (tn - t1) / (n - 1)), oneCall: t1, reps: one.length, calls: n };
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
  x === undefined
    ? ""
    : x >= 100
    ? x.toFixed(0)
    : x >= 10
    ? x.toFixed(1)
    : x >= 1
    ? x.toFixed(2)
    : x.toFixed(3);
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
    "h2h ms",
    "all-up ms",
    "dev ms",
    "1call ms",
    "replay ms",
    "GFLOP/s",
    "GB/s",
    "tok/s",
    "best/ours h2h",
    "best/ours dev",
    "best/ours 1call",
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
    fmtMs(r.all_ms),
    fmtMs(r.device_ms),
    fmtMs(r.call_ms),
    fmtMs(r.replay_ms),
    fmtNum(r.gflops),
    fmtNum(r.gbps),
    fmtNum(r.tokens_per_s),
    fmtRatio(r.vs_best),
    fmtRatio(r.vs_best_device),
    fmtRatio(r.vs_best_call),
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
