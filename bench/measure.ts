// One measurement procedure for every system (ours and each peer), so that every column is timed
// the same way for all of them (README.md "Benchmarks"):
//   1. the first call (cold), counted (kernels, submits) and checked;
//   2. `median_ms`: host to host with the weights resident, activations uploaded per call;
//   3. `all_ms`: host to host with every input uploaded (only where the weights matter);
//   4. `device_ms` and `call_ms`: every input resident, N back-to-back calls leaving their
//      outputs on the device, then one sync (reading the last output back with the system's own
//      read), by timeDifferential.
// Every result a column is timed on is compared with the reference; a column whose result is
// wrong gets no time and fails the row.
import {
  countGPU,
  errMessage,
  now,
  relErr,
  type Row,
  timeDifferential,
  timeIt,
} from "./harness.ts";
import type { DeviceCalls, PreparedRun } from "./peers/types.ts";
import type { Reference, Workload } from "./workloads.ts";

/** Checks results into a row: the worst error so far, and why the row failed. */
export class Checker {
  constructor(readonly row: Row, readonly w: Workload, readonly ref: Reference) {}

  /** True when `out` is within tolerance; otherwise marks the row failed, naming `what`. */
  check(out: ArrayLike<number>, what: string): boolean {
    const e = relErr(out, this.ref.values, this.ref.idx, this.w.outLen);
    this.row.err = Math.max(this.row.err ?? 0, e);
    if (e <= this.w.tol) return true;
    this.fail(
      `${what}: max rel err ${Number.isFinite(e) ? e.toExponential(2) : e} > ${this.w.tol}`,
    );
    return false;
  }

  fail(why: string): void {
    this.row.ok = false;
    this.row.note = this.row.note ? `${this.row.note}; ${why}` : why;
  }
}

/** Runs steps 1-4 on a prepared system, filling `row` (ok unless a check or a step failed).
 * `t0` is when preparing began (first_ms runs from it); `afterFirst` runs between the first
 * call and the timed ones (ours: the warm compile). */
export async function measure(
  row: Row,
  w: Workload,
  prep: PreparedRun,
  ref: Reference,
  t0: number,
  afterFirst?: () => Promise<void>,
): Promise<void> {
  const c = new Checker(row, w, ref);
  const policy = w.policy;
  row.ok = true;
  let out: ArrayLike<number> = [];
  const counted = await countGPU(async () => {
    out = await prep.run();
  });
  row.first_ms = now() - t0;
  row.kernels = counted?.kernels ?? row.kernels;
  row.submits = counted?.submits;
  c.check(out, "first call");
  await afterFirst?.();

  const t = await timeIt(async () => {
    out = await prep.run();
  }, policy);
  if (c.check(out, "host to host")) row.median_ms = t.median;
  row.reps = t.reps;

  if (prep.runAll) {
    const all = prep.runAll;
    try {
      const ta = await timeIt(async () => {
        out = await all();
      }, policy);
      if (c.check(out, "all uploaded")) row.all_ms = ta.median;
    } catch (e) {
      c.fail(`all uploaded: ${errMessage(e)}`);
    }
  }

  let d: DeviceCalls | undefined;
  try {
    d = await prep.device();
    const calls = d;
    let last: ArrayLike<number> = [];
    const run = async (n: number) => {
      for (let i = 0; i < n; i++) await calls.call();
      last = await calls.read();
    };
    // warm-up (a peer's device path may be a new session): N calls, checked, and their
    // dispatches counted: a system that skipped the work of calls whose output nobody read
    // (a lazy one) would dispatch fewer than N times a call's kernels
    const n = Math.max(2, policy.deviceCalls);
    const counted = await countGPU(() => run(n));
    if (!c.check(last, "device warm-up")) return;
    if (counted && row.kernels && counted.kernels < (n * row.kernels) / 2) {
      c.fail(
        `device calls: ${n} calls dispatched ${counted.kernels} kernels (one call: ` +
          `${row.kernels}); work was skipped`,
      );
      return;
    }
    const td = await timeDifferential(run, policy);
    if (c.check(last, "device calls")) {
      row.device_ms = td.perCall;
      row.call_ms = td.oneCall;
      row.device_calls = td.calls;
    }
  } catch (e) {
    c.fail(`device calls: ${errMessage(e)}`);
  } finally {
    d?.dispose();
  }
}
