// The bench's pure parts: the differential device-time formula, the ratio columns (best peer /
// ours, per column), which inputs are weights and where the all-uploaded column is measured.
// `deno test -A bench/bench_test.ts` (no GPU needed).
import assert from "node:assert/strict";
import {
  MAX_DEVICE_CALLS,
  MIN_SPAN_MS,
  type RepPolicy,
  type Row,
  timeDifferential,
} from "./harness.ts";
import { launchesForSpan } from "./launch_timer.ts";
import { configQuery } from "./browser.ts";
import {
  argmax,
  LLM_DECODE,
  LLM_PREFILL,
  llmPrompt,
  llmRows,
  type LlmStepper,
  selectLlm,
  timeGreedy,
} from "./llm.ts";
import { finish, withTimeout } from "./suite.ts";
import { isWeight, select, uploadAllMatters, workloads } from "./workloads.ts";

const policy = (deviceCalls: number, deviceReps: number): RepPolicy => ({
  warmup: 0,
  minReps: 1,
  maxReps: 1,
  budgetMs: 0,
  deviceCalls,
  deviceReps,
});

Deno.test("timeDifferential: (T(N) - T(1)) / (N - 1) cancels the sync's fixed cost", async () => {
  // a fixed 11 ms wait plus 3 ms per call, reported by the calls themselves (T(21) - T(1) =
  // 60 ms: N stays at the policy's)
  const seen: number[] = [];
  const r = await timeDifferential((n) => {
    seen.push(n);
    return Promise.resolve(11 + 3 * n);
  }, policy(21, 3));
  assert.ok(Math.abs(r.perCall - 3) < 1e-9);
  assert.ok(Math.abs(r.oneCall - 14) < 1e-9);
  assert.deepEqual(r.reps, 3);
  assert.deepEqual(seen, [1, 21, 1, 21, 1, 21]);
});

Deno.test("timeDifferential: N below 2 is raised to 2; a negative difference is 0", async () => {
  const seen: number[] = [];
  const r = await timeDifferential((n) => {
    seen.push(n);
    return Promise.resolve(n === 1 ? 20 : 15);
  }, policy(1, 1));
  // a difference that never reaches the span: N grows to its ceiling, and the time is 0
  assert.deepEqual(seen, [1, 2, 1, MAX_DEVICE_CALLS]);
  assert.deepEqual(r.perCall, 0);
  assert.equal(r.calls, MAX_DEVICE_CALLS);
});

Deno.test("timeDifferential: N grows until T(N) - T(1) spans MIN_SPAN_MS (microsecond calls)", async () => {
  // a GPU: an 11 ms wait and 0.1 ms per call. At N = 21 the difference (2 ms) is below the
  // wait's jitter; N is raised to cover 1.5 x MIN_SPAN_MS, then the pairs are timed there
  const seen: number[] = [];
  const r = await timeDifferential((n) => {
    seen.push(n);
    return Promise.resolve(11 + 0.1 * n);
  }, policy(21, 3));
  const big = Math.ceil((1.5 * MIN_SPAN_MS) / 0.1);
  assert.deepEqual(seen, [1, 21, 1, big, 1, big, 1, big]);
  assert.equal(r.calls, big);
  assert.ok(Math.abs(r.perCall - 0.1) < 1e-9);
  assert.equal(r.reps, 3);
});

Deno.test("timeDifferential: pairs stop once their measured times pass capMs (at least one)", async () => {
  // 4 s per call: a pair of T(1) and T(3) measures 16 s, over a 10 s cap after the first pair
  const slow: number[] = [];
  const r = await timeDifferential((n) => {
    slow.push(n);
    return Promise.resolve(4000 * n);
  }, { ...policy(3, 3), capMs: 10_000 });
  assert.deepEqual(slow, [1, 3]);
  assert.equal(r.reps, 1);
  assert.equal(r.perCall, 4000);
  // 1 s per call: pairs of 4 s, the cap passed after the third
  const fast: number[] = [];
  const f = await timeDifferential((n) => {
    fast.push(n);
    return Promise.resolve(1000 * n);
  }, { ...policy(3, 5), capMs: 10_000 });
  assert.deepEqual(fast, [1, 3, 1, 3, 1, 3]);
  assert.equal(f.reps, 3);
});

Deno.test("policies: every workload times at least 3 pairs at N >= 3 and 3 repetitions", () => {
  // the seconds-long workloads once took one pair at N = 2 and one repetition, which swung
  for (const w of workloads(false)) {
    assert.ok(w.policy.deviceReps >= 3, `${w.name}: ${w.policy.deviceReps} pairs`);
    assert.ok(w.policy.deviceCalls >= 3, `${w.name}: N = ${w.policy.deviceCalls}`);
    assert.ok(w.policy.minReps >= 3, `${w.name}: ${w.policy.minReps} repetitions`);
  }
});

Deno.test("finish: ratios are the best peer's time / ours, column by column", () => {
  const w = workloads(true).find((x) => x.name.startsWith("matmul"))!;
  const row = (system: string, h: number, d: number, c: number): Row => ({
    workload: w.name,
    system,
    median_ms: h,
    device_ms: d,
    call_ms: c,
    ok: true,
  });
  const ours = row("ours", 10, 4, 20);
  const rows = [
    ours,
    row("jax-js", 20, 2, 30),
    row("tfjs-webgpu", 30, 1, 25),
    { ...row("ort-web", 1, 1, 1), ok: false }, // a failed peer never counts
  ];
  finish(w, rows);
  assert.deepEqual(ours.vs_best, 2);
  assert.deepEqual(ours.best_peer, "jax-js");
  assert.deepEqual(ours.vs_best_device, 0.25);
  assert.deepEqual(ours.best_peer_device, "tfjs-webgpu");
  assert.deepEqual(ours.vs_best_call, 1.25);
  assert.deepEqual(rows[1].vs_best, undefined); // peers get no ratio
  assert.ok(Math.abs(ours.gflops! - w.flops! / 4e6) < 1e-9);
});

Deno.test("weights: declared per workload; all-uploaded column only where they matter", () => {
  const all = [...workloads(true), ...workloads(false)];
  for (const w of all) {
    const names = w.specs.map((s) => s.name!);
    for (const n of w.weights) assert(names.includes(n), `${w.name}: weight '${n}' not an input`);
    // at least one activation crosses per call
    assert(w.specs.some((_, i) => !isWeight(w, i)), `${w.name}: no activation`);
  }
  const matters = (prefix: string) =>
    all.filter((w) => w.name.startsWith(prefix)).every(uploadAllMatters);
  for (const p of ["matmul", "matvec", "decoder", "dispatch"]) assert(matters(p), p);
  for (const p of ["gelu", "softmax", "layernorm", "rmsnorm"]) {
    assert(all.filter((w) => w.name.startsWith(p)).every((w) => !uploadAllMatters(w)), p);
  }
  const dec = all.find((w) => w.name === "decoder-1x128")!;
  assert.deepEqual(dec.specs.filter((_, i) => !isWeight(dec, i)).map((s) => s.name), ["x"]);
});

Deno.test("llm: --only selects the llm rows by family or name; all by default", () => {
  assert.deepEqual(selectLlm(null), [LLM_PREFILL, LLM_DECODE]);
  assert.deepEqual(selectLlm(["llm"]), [LLM_PREFILL, LLM_DECODE]);
  assert.deepEqual(selectLlm(["llm-decode"]), [LLM_DECODE]);
  assert.deepEqual(selectLlm(["matmul", "llm-prefill"]), [LLM_PREFILL]);
  assert.deepEqual(selectLlm(["matmul"]), []);
  const p = llmPrompt(1024);
  assert.equal(p.length, 128);
  assert.ok(p.every((id) => Number.isInteger(id) && id >= 0 && id < 1024));
});

Deno.test("llm: argmax takes the first maximum and the first NaN, as torch.argmax", () => {
  assert.equal(argmax([1, 3, 2, 3]), 1);
  assert.equal(argmax([-Infinity, -5, -7]), 1);
  assert.equal(argmax([1, NaN, 9, NaN]), 1);
  assert.equal(argmax(new Float32Array([0.5])), 0);
});

Deno.test("llm: timeGreedy feeds each step the argmax of the last logits; rows in tokens/s", async () => {
  // a fake model whose next token is always (last token + 1) mod 10
  const V = 10, fed: number[][] = [];
  let resets = 0;
  const s: LlmStepper = {
    reset: () => void resets++,
    step: (ids) => {
      fed.push([...ids]);
      const logits = new Float32Array(V);
      logits[(ids[ids.length - 1] + 1) % V] = 1;
      return Promise.resolve(logits);
    },
  };
  const t = await timeGreedy(s, [4, 7], 3, 2, 1);
  assert.deepEqual(t.tokens, [8, 9, 0, 1]);
  assert.deepEqual(fed.slice(0, 4), [[4, 7], [8], [9], [0]]);
  assert.equal(fed.length, 3 * 4, "1 warm-up + 2 repetitions of prefill + 3 decode steps");
  assert.equal(resets, 3 + 1, "a fresh sequence per repetition, released at the end");
  assert.equal(t.reps, 2);
  const [pre, dec] = llmRows("x", { ...t, prefillMs: 64, decodeMs: 20 }, 128);
  assert.equal(pre.workload, LLM_PREFILL);
  assert.equal(pre.median_ms, 64);
  assert.equal(pre.tokens_per_s, 2000);
  assert.equal(dec.workload, LLM_DECODE);
  assert.equal(dec.tokens_per_s, 50);
});

Deno.test("select: --only by name or family; matmul-2048 only by name or with --full", () => {
  const all = workloads(false);
  const names = (only: string[] | null, full = false) => select(all, only, full).map((w) => w.name);
  assert.deepEqual(names(["matmul"]), ["matmul-512", "matmul-1024"]);
  assert.deepEqual(names(["matmul"], true), ["matmul-512", "matmul-1024", "matmul-2048"]);
  assert.deepEqual(names(["matmul-2048"]), ["matmul-2048"]);
  assert.deepEqual(names(["decoder"]), ["decoder-1x128", "decoder-8x128"]);
  assert.ok(!names(null).includes("matmul-2048"));
  assert.ok(names(null, true).includes("matmul-2048"));
});

Deno.test("withTimeout: a result in time; a timed-out run reported once it has settled", async () => {
  assert.equal(await withTimeout(Promise.resolve(7), 50, "x"), 7);
  await assert.rejects(withTimeout(Promise.reject(new Error("bad")), 50, "x"), /bad/);
  let settledAt = 0;
  const slow = new Promise<number>((res) => setTimeout(() => res(1), 60)).then((v) => {
    settledAt = performance.now();
    return v;
  });
  await assert.rejects(withTimeout(slow, 40, "peer"), /timed out after 0.04 s \(peer\)$/);
  assert.ok(settledAt > 0, "the error came after the run settled");
  const stuck = new Promise<number>(() => {});
  await assert.rejects(withTimeout(stuck, 10, "peer"), /\(peer\); still running$/);
});

Deno.test("launchesForSpan: N doubles at least until T(N) - T(1) spans the target, capped", async () => {
  const seen: number[] = [];
  // 2 ms per launch plus a 10 ms wait: 150 ms needs N - 1 >= 75
  const n = await launchesForSpan((k) => {
    seen.push(k);
    return Promise.resolve(10 + 2 * k);
  }, 150);
  assert.ok(2 * (n - 1) >= 150, `N ${n} spans ${2 * (n - 1)} ms`);
  assert.equal(seen[0], 2);
  // a launch too fast to time stops at the cap
  assert.equal(await launchesForSpan(() => Promise.resolve(10), 150), MAX_DEVICE_CALLS);
});

Deno.test("configQuery: the schema's environment overrides become the page's URL query", () => {
  assert.equal(configQuery({ HOME: "/root" }), "");
  assert.equal(
    configQuery({
      WEBGPU_INDUCTOR_SUBMIT_BATCH_SIZE: "7",
      PATH: "/bin",
      WEBGPU_INDUCTOR_VALIDATE: "0",
    }),
    "?WEBGPU_INDUCTOR_SUBMIT_BATCH_SIZE=7&WEBGPU_INDUCTOR_VALIDATE=0",
  );
});
