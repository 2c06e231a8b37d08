// The benchmark suite, platform neutral: Deno (bench/main.ts) and the browser page
// (bench/browser_entry.ts) run this same code; they differ only in how peers' packages load.
import { getDevice } from "../src/mod.ts";
import { errMessage, now, type Row } from "./harness.ts";
import { runLlm, selectLlm } from "./llm.ts";
import { measure } from "./measure.ts";
import { type OurSystem, runOurs } from "./ours.ts";
import { JaxPeer } from "./peers/jax.ts";
import { OrtPeer } from "./peers/ort.ts";
import { TfjsPeer } from "./peers/tfjs.ts";
import type { Loader, Peer } from "./peers/types.ts";
import { type Reference, reference, select, type Workload, workloads } from "./workloads.ts";

export interface SuiteOptions {
  quick: boolean;
  /** Include the FULL_ONLY workloads (matmul-2048). */
  full?: boolean;
  /** `--only`: workload names or families. */
  only: string[] | null;
  /** Systems to run (all when null): ours, ours-noreplay, ours-eager, tfjs-webgpu, jax-js,
   * jax-js-eager, ort-web; ours-plainread only when named. */
  systems: string[] | null;
  load: Loader;
  /** Progress lines (not the table). */
  log: (line: string) => void;
  /** Longest wait for one system on one workload before it is marked failed. */
  timeoutMs?: number;
  /** The Llama folder of the llm-* rows (bench/llm.ts); null skips them (the browser page). */
  llmModel?: string | URL | null;
}

export interface SuiteResult {
  device: string;
  peers: Record<string, string>;
  rows: Row[];
  ms: number;
}

const OURS: OurSystem[] = ["ours", "ours-noreplay", "ours-eager"];
/** Ours' diagnostic systems, run only when `--systems` names them. */
const OURS_ON_REQUEST: OurSystem[] = ["ours-plainread"];
export const PEER_SYSTEMS = ["tfjs-webgpu", "jax-js", "jax-js-eager", "ort-web"];

/** `p`, or an Error naming `what` after `ms`. Nothing can cancel a timed-out run, so the error
 * comes only once it has settled (or after `ms` more): its leftover calls would otherwise compete
 * with the next system's timing (in Chromium, tfjs-webgpu's dispatch-500 calls of ~20 s ran on
 * under jax-js's). A run settling after its timeout still counts as timed out. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timedOut = false;
  const ids: ReturnType<typeof setTimeout>[] = [];
  const never = new Promise<never>(() => {});
  const t = new Promise<never>((_, rej) => {
    ids.push(setTimeout(() => {
      timedOut = true;
      const drain = new Promise<boolean>((res) => ids.push(setTimeout(() => res(false), ms)));
      Promise.race([p.then(() => true, () => true), drain]).then((settled) => {
        rej(
          new Error(`timed out after ${ms / 1000} s (${what})${settled ? "" : "; still running"}`),
        );
      });
    }, ms));
  });
  const own = p.then((v) => (timedOut ? never : v), (e) => (timedOut ? never : Promise.reject(e)));
  return Promise.race([own, t]).finally(() => ids.forEach(clearTimeout));
}

export async function runSuite(o: SuiteOptions): Promise<SuiteResult> {
  const t0 = now();
  const timeout = o.timeoutMs ?? 180_000;
  const want = (s: string) => !o.systems || o.systems.includes(s);
  const named = (s: string) => o.systems?.includes(s) ?? false;
  const h = await getDevice();
  const device = h.info;
  o.log(`device: ${device}`);

  const peers: Peer[] = [new TfjsPeer(), new JaxPeer(true), new JaxPeer(false), new OrtPeer()]
    .filter((p) => want(p.system));
  const peerInfo: Record<string, string> = {};
  const peerError = new Map<string, string>();
  for (const p of peers) {
    try {
      peerInfo[p.system] = await withTimeout(p.init(o.load), timeout, `${p.system} init`);
      o.log(`peer ${p.system}: ${peerInfo[p.system]}`);
    } catch (e) {
      peerError.set(p.system, `init failed: ${errMessage(e)}`);
      peerInfo[p.system] = peerError.get(p.system)!;
      o.log(`peer ${p.system}: ${peerInfo[p.system]}`);
    }
  }

  const rows: Row[] = [];
  for (const w of select(workloads(o.quick), o.only, o.full)) {
    const run = (s: string) => want(s) && !w.skip?.includes(s);
    const limit = w.timeoutMs ?? timeout;
    const tw = now();
    const inputs = w.data();
    const tr = now();
    const ref = reference(w, inputs);
    o.log(`${w.name}: reference ${(now() - tr).toFixed(0)} ms`);
    const wrows: Row[] = [];
    for (const s of [...OURS, ...OURS_ON_REQUEST.filter(named)].filter(run)) {
      const r = await withTimeout(runOurs(s, w, inputs, ref), limit, s).catch((
        e,
      ) => [{ workload: w.name, system: s, median_ms: NaN, ok: false, note: errMessage(e) }]);
      for (const x of r) logRow(o, x);
      wrows.push(...r);
    }
    for (const p of peers.filter((p) => run(p.system))) {
      const err = peerError.get(p.system);
      const r: Row = err
        ? { workload: w.name, system: p.system, median_ms: NaN, ok: false, note: err }
        : await withTimeout(runPeer(p, w, inputs, ref), limit, p.system).catch((
          e,
        ) => ({
          workload: w.name,
          system: p.system,
          median_ms: NaN,
          ok: false,
          note: errMessage(e),
        }));
      logRow(o, r);
      wrows.push(r);
    }
    finish(w, wrows);
    rows.push(...wrows);
    o.log(`${w.name}: ${((now() - tw) / 1000).toFixed(1)} s`);
  }
  const llm = o.llmModel ? selectLlm(o.only) : [];
  if (llm.length) {
    const tl = now();
    const tfjs = peers.find((p) => p.system === "tfjs-webgpu") as TfjsPeer | undefined;
    const tfErr = peerError.get("tfjs-webgpu");
    const lrows = await runLlm({
      dir: o.llmModel!,
      quick: o.quick,
      ours: [...OURS, ...OURS_ON_REQUEST.filter(named)].filter(want),
      tfjs: !tfjs ? null : tfErr ? { error: tfErr } : tfjs.tf,
      workloads: llm,
      log: o.log,
      guard: (p, what) => withTimeout(p, timeout, `${what} llm`),
    });
    for (const name of llm) finish({}, lrows.filter((r) => r.workload === name));
    rows.push(...lrows);
    o.log(`llm: ${((now() - tl) / 1000).toFixed(1)} s`);
  }
  return { device, peers: peerInfo, rows, ms: now() - t0 };
}

function logRow(o: SuiteOptions, r: Row): void {
  const ms = (x: number | undefined, what: string) =>
    x !== undefined && Number.isFinite(x) ? `, ${what} ${x.toFixed(3)} ms` : "";
  o.log(
    `  ${r.system}: ${Number.isFinite(r.median_ms) ? `${r.median_ms.toFixed(2)} ms` : "-"}` +
      `${ms(r.all_ms, "all uploaded")}${ms(r.device_ms, "device")}${ms(r.call_ms, "1 call")}` +
      `${ms(r.replay_ms, "replay")}${r.kernels !== undefined ? `, ${r.kernels} kernels` : ""}` +
      `${r.ok ? "" : ` FAIL ${r.note}`}`,
  );
}

/** Throughput (from the device time when there is one) and, for our rows, the best peer's time
 * over ours in each of the three columns (each against the fastest peer in that column). */
export function finish(w: Pick<Workload, "flops" | "bytes">, rows: Row[]): void {
  for (const r of rows) {
    const ms = r.device_ms ?? r.median_ms;
    if (!r.ok || !Number.isFinite(ms) || ms <= 0) continue;
    if (w.flops) r.gflops = w.flops / (ms * 1e6);
    if (w.bytes) r.gbps = w.bytes / (ms * 1e6);
  }
  const peers = rows.filter((r) => r.ok && PEER_SYSTEMS.includes(r.system));
  const best = (col: "median_ms" | "device_ms" | "call_ms") => {
    let b: Row | null = null;
    for (const p of peers) {
      const v = p[col];
      if (v !== undefined && Number.isFinite(v) && (!b || v < (b[col] as number))) b = p;
    }
    return b;
  };
  const cols = [
    ["median_ms", "vs_best", "best_peer"],
    ["device_ms", "vs_best_device", "best_peer_device"],
    ["call_ms", "vs_best_call", "best_peer_call"],
  ] as const;
  for (const [col, ratio, name] of cols) {
    const b = best(col);
    if (!b) continue;
    for (const r of rows) {
      const v = r[col];
      if (PEER_SYSTEMS.includes(r.system) || !r.ok || v === undefined || !(v > 0)) continue;
      r[ratio] = (b[col] as number) / v;
      r[name] = b.system;
    }
  }
}

/** A peer through the same measurement as ours (bench/measure.ts). */
async function runPeer(p: Peer, w: Workload, inputs: Float32Array[], ref: Reference): Promise<Row> {
  const row: Row = { workload: w.name, system: p.system, median_ms: NaN, ok: false };
  const t0 = now();
  const prepared = await p.prepare(w, inputs);
  try {
    await measure(row, w, prepared, ref, t0);
  } finally {
    await prepared.dispose();
  }
  return row;
}
