// WrapperCodegen tests: memoryPlanReuse (same-size reuse, never a graph input's storage, the
// trailing-line trim, `inductor.allowBufferReuse`), a liveness check of every planned program
// (no kernel touches a freed buffer), and the CompiledGraph stats built from the program.
import assert from "node:assert/strict";
import {
  compile,
  type CompiledGraph,
  config,
  interpret,
  ops,
  type TypedArray,
} from "../src/mod.ts";
import {
  printLine,
  type Program,
  type ProgramLine,
  WrapperCodegen,
} from "../src/codegen/wrapper.ts";
import { gpuBytes, numel } from "../src/dtype.ts";
import type { Scheduler } from "../src/inductor/scheduler.ts";
import { decoderFn, decoderInputs, SMALL_DECODER } from "../src/models/decoder.ts";
import {
  assertClose,
  f32,
  type Fn,
  freshSeed,
  LOOSE,
  randomArray,
  rng,
  type Spec,
} from "./helpers.ts";

/** Four [4, 8] pointwise ops: in eager mode every one is a realized buffer. */
const chain: Fn = (x) => x.mul(2).add(1).relu().exp();

function wrappers(p: Program): WrapperCodegen[] {
  return [...p.partitions.values(), p.main];
}
function linesOf(p: Program): ProgramLine[] {
  return wrappers(p).flatMap((w) => w.lines);
}
function reuseLines(p: Program) {
  return linesOf(p).filter((l): l is Extract<ProgramLine, { op: "reuse" }> => l.op === "reuse");
}
function bytes(s: Scheduler, name: string): number {
  const b = s.byName.get(name)!;
  return numel(b.shape) * gpuBytes(b.dtype);
}

/** Walks every wrapper of a planned program: an allocation or reuse creates a name, a free
 * ends it, a reuse takes over a storage whose free line was marked reused; every kernel binding
 * and partition argument must be live, and so must every returned name. */
function checkPlan(cg: CompiledGraph, label: string): void {
  const s = cg.scheduler;
  const inputs = new Set(s.graph.inputs);
  for (const w of wrappers(cg.program)) {
    const where = (l: ProgramLine) => `${label}/${w.name}: ${printLine(l, s)}`;
    const live = new Set(w.signature ? w.signature.inputs : s.graph.inputs);
    const handedOver = new Set<string>();
    for (const l of w.lines) {
      switch (l.op) {
        case "alloc":
          assert.ok(!live.has(l.buf), `allocated twice: ${where(l)}`);
          live.add(l.buf);
          break;
        case "free":
          assert.ok(live.has(l.buf), `freed but not live: ${where(l)}`);
          live.delete(l.buf);
          if (l.reused) handedOver.add(l.buf);
          break;
        case "reuse":
          assert.ok(handedOver.delete(l.prev), `reuse of a storage not freed for it: ${where(l)}`);
          assert.ok(!inputs.has(l.prev), `reuses a graph input: ${where(l)}`);
          assert.ok(
            !(w.signature?.inputs.includes(l.prev) ?? false),
            `reuses a partition input: ${where(l)}`,
          );
          assert.equal(bytes(s, l.prev), bytes(s, l.next), `size mismatch: ${where(l)}`);
          live.add(l.next);
          break;
        case "kernel":
          for (const b of l.spec.bindings) {
            assert.ok(live.has(b.storage), `kernel binds dead ${b.storage}: ${where(l)}`);
          }
          break;
        case "partition":
          for (const i of l.sig.inputs) assert.ok(live.has(i), `dead arg ${i}: ${where(l)}`);
          for (const i of l.sig.inputs) if (l.sig.inputDeallocation.get(i)) live.delete(i);
          for (const o of l.sig.outputs) live.add(o);
          break;
        default:
          break;
      }
    }
    assert.equal(handedOver.size, 0, `${label}/${w.name}: reused frees never taken over`);
    for (const r of w.returns()) assert.ok(live.has(r), `${label}/${w.name} returns dead ${r}`);
  }
}

async function checkOnGpu(cg: CompiledGraph, specs: Spec[], label: string): Promise<void> {
  const seed = freshSeed();
  const make = (): TypedArray[] => {
    const r = rng(seed);
    return specs.map((sp) => randomArray(sp.shape, sp.dtype, r));
  };
  try {
    const expected = interpret(cg.graph, make());
    const got = await cg.run(make(), { poison: true });
    assert.equal(got.length, expected.length);
    got.forEach((g, i) =>
      assertClose(g, expected[i], LOOSE, `${label} output ${i} (seed ${seed})`)
    );
  } finally {
    await cg.disposeAsync();
  }
}

// ---- memoryPlanReuse --------------------------------------------------------------------------

Deno.test("memoryPlanReuse: a freed buffer of the same size serves a later allocation", async () => {
  const cg = compile(chain, { inputs: [f32(4, 8)], mode: "eager" });
  const reuses = reuseLines(cg.program).map((l) => `${l.prev}->${l.next}`);
  assert.deepEqual(reuses, ["buf0->buf2", "buf1->buf3"]);
  // the freed buffers' lines are marked reused (printed as comments, not `del`)
  const freed = linesOf(cg.program).filter((l) => l.op === "free" && l.reused);
  assert.deepEqual(freed.map((l) => (l as { buf: string }).buf), ["buf0", "buf1"]);
  assert.deepEqual(
    cg.program.partitions.get(0)!.lines.map((l) => printLine(l, cg.scheduler)).slice(3, 6),
    ["buf1 = empty([4, 8], f32)", "k1_add(buf0, buf1!)  # grid [1, 1, 1]", "# buf0 reused"],
  );
  checkPlan(cg, "chain eager");
  await checkOnGpu(cg, [f32(4, 8)], "chain eager with reuse");
});

Deno.test("memoryPlanReuse: a different size is never reused", () => {
  // exp(x) [4, 8] dies after the sum; the later [4] allocations must not take it
  const cg = compile((x) => x.exp().sum(-1).neg().mul(3), { inputs: [f32(4, 8)], mode: "eager" });
  const reuses = reuseLines(cg.program).map((l) => `${l.prev}->${l.next}`);
  assert.deepEqual(reuses, ["buf1->buf3"]);
  checkPlan(cg, "mixed sizes");
});

Deno.test("memoryPlanReuse: never reuses a graph input's storage", async (t) => {
  for (const replay of [true, false]) {
    await t.step(`inductor.replay=${replay}`, () => {
      const cg = compile(chain, {
        inputs: [f32(4, 8)],
        mode: "eager",
        config: { "inductor.replay": replay },
      });
      // arg0 is freed after the first kernel, exactly when buf1 ([4, 8] too) is allocated
      const lines = linesOf(cg.program);
      const argFree = lines.find((l) => l.op === "free" && l.buf === "arg0");
      assert.ok(argFree && argFree.op === "free");
      assert.equal(argFree.pool, false, "an input's free line is not pooled");
      assert.equal(argFree.reused, false);
      assert.ok(lines.some((l) => l.op === "alloc" && l.buf === "buf1"), "buf1 gets new storage");
      for (const l of reuseLines(cg.program)) assert.notEqual(l.prev, "arg0");
      checkPlan(cg, `chain replay=${replay}`);
    });
  }
});

Deno.test("memoryPlanReuse: the trailing-line trim", async (t) => {
  await t.step("drops a trailing allocation nothing returns", () => {
    const cg = compile((x) => {
      const y = x.add(1);
      ops.empty([4, 8]); // allocation-only node, last in the schedule
      return y;
    }, { inputs: [f32(4, 8)], mode: "eager", config: { "inductor.replay": false } });
    assert.deepEqual(cg.scheduler.nodes.map((n) => n.kind), ["pointwise", "nop"]);
    const text = cg.program.main.print();
    assert.equal(
      text,
      [
        "def call(arg0):",
        "    buf0 = empty([4, 8], f32)",
        "    k0_add(arg0, buf0!)  # grid [1, 1, 1]",
        "    return (buf0)",
      ].join("\n"),
    );
  });

  await t.step("stops at the first line that is not memory or concerns an output", () => {
    const cg = compile(chain, { inputs: [f32(4, 8)], mode: "eager" });
    const w = new WrapperCodegen("call", cg.scheduler);
    const kernel = cg.program.partitions.get(0)!.lines.find((l) => l.op === "kernel")!;
    w.lines = [
      { op: "alloc", buf: "buf0" },
      kernel,
      { op: "alloc", buf: "buf1" },
      { op: "free", buf: "buf0", reused: false, pool: true },
      { op: "alloc", buf: "buf2" }, // an output: the trim stops here
      { op: "free", buf: "buf1", reused: false, pool: true },
      { op: "alloc", buf: "buf3" },
    ];
    w.trimAndPlan(new Set(["buf2"]));
    assert.deepEqual(w.lines.map((l) => printLine(l, cg.scheduler)), [
      "buf0 = empty([4, 8], f32)",
      printLine(kernel, cg.scheduler),
      "buf1 = empty([4, 8], f32)",
      "# buf0 reused",
      "buf2 = buf0; del buf0  # reuse",
    ]);
  });

  await t.step("a trailing kernel stops the trim", () => {
    const cg = compile(chain, { inputs: [f32(4, 8)], mode: "eager" });
    const w = new WrapperCodegen("call", cg.scheduler);
    const kernel = cg.program.partitions.get(0)!.lines.find((l) => l.op === "kernel")!;
    w.lines = [{ op: "alloc", buf: "buf0" }, kernel];
    w.trimAndPlan(new Set());
    assert.equal(w.lines.length, 2);
  });
});

Deno.test("inductor.allowBufferReuse=false disables reuse", async () => {
  const on = compile(chain, { inputs: [f32(4, 8)], mode: "eager" });
  const off = compile(chain, {
    inputs: [f32(4, 8)],
    mode: "eager",
    config: { "inductor.allowBufferReuse": false },
  });
  assert.equal(reuseLines(on.program).length, 2);
  assert.equal(reuseLines(off.program).length, 0);
  assert.ok(linesOf(off.program).every((l) => l.op !== "free" || !l.reused));
  assert.equal(off.stats.peakBytes, off.stats.unplannedBytes);
  assert.equal(off.stats.peakBytes, 4 * 128);
  // config.patch around compile does the same
  const patched = config.patch(
    { "inductor.allowBufferReuse": false },
    () => compile(chain, { inputs: [f32(4, 8)], mode: "eager" }),
  );
  assert.equal(reuseLines(patched.program).length, 0);
  checkPlan(off, "reuse off");
  await on.disposeAsync();
  await checkOnGpu(off, [f32(4, 8)], "chain eager without reuse");
});

// ---- every planned program is live-consistent ---------------------------------------------

Deno.test("planned programs never touch a freed buffer", async (t) => {
  const graphs: [string, Fn, Spec[]][] = [
    ["chain", chain, [f32(4, 8)]],
    ["value used twice", (x) => {
      const y = x.mul(2).exp();
      return [y.sum(-1), y.add(1).relu()];
    }, [f32(4, 8)]],
    ["softmax", (x) => x.softmax(-1), [f32(4, 8)]],
    [
      "layer_norm_linear_relu",
      (x, g, b, w, bias) => x.layerNorm([8], g, b).linear(w, bias).relu(),
      [f32(4, 8), f32(8), f32(8), f32(6, 8), f32(6)],
    ],
    ["matmul residual", (a, b, r) => a.matmul(b).add(r), [f32(4, 8), f32(8, 6), f32(4, 6)]],
    ["decoder", decoderFn(SMALL_DECODER), decoderInputs(SMALL_DECODER) as Spec[]],
  ];
  for (const [name, fn, inputs] of graphs) {
    for (const mode of ["default", "eager"] as const) {
      for (const replay of [true, false]) {
        await t.step(`${name} ${mode} replay=${replay}`, () => {
          const cg = compile(fn, { inputs, mode, config: { "inductor.replay": replay } });
          checkPlan(cg, `${name} ${mode}`);
        });
      }
    }
  }
});

// ---- stats ------------------------------------------------------------------------------------

Deno.test("stats: kernels, partitions, planned vs unplanned bytes", async (t) => {
  await t.step("eager chain of realized ops", () => {
    const cg = compile(chain, { inputs: [f32(4, 8)], mode: "eager" });
    assert.deepEqual(cg.stats, {
      kernels: 4,
      hostOps: 0,
      partitions: 1,
      replayablePartitions: 1,
      peakBytes: 2 * 128,
      unplannedBytes: 4 * 128,
      irBuffers: 5,
    });
    assert.ok(cg.stats.peakBytes < cg.stats.unplannedBytes);
  });
  await t.step("fused chain", () => {
    const cg = compile(chain, { inputs: [f32(4, 8)] });
    assert.equal(cg.stats.kernels, 1);
    assert.equal(cg.stats.peakBytes, 128);
    assert.equal(cg.stats.unplannedBytes, 128);
  });
  await t.step("replay off: one partition, none replayable", () => {
    const cg = compile(chain, {
      inputs: [f32(4, 8)],
      mode: "eager",
      config: { "inductor.replay": false },
    });
    assert.equal(cg.stats.partitions, 1);
    assert.equal(cg.stats.replayablePartitions, 0);
    assert.equal(cg.program.partitions.size, 0);
    assert.equal(cg.stats.kernels, 4);
    assert.equal(cg.stats.peakBytes, 2 * 128);
  });
  await t.step("decoder: planning saves memory in both modes", () => {
    for (const mode of ["default", "eager"] as const) {
      const cg = compile(decoderFn(SMALL_DECODER), { inputs: decoderInputs(SMALL_DECODER), mode });
      assert.equal(cg.stats.partitions, 1, mode);
      assert.equal(cg.stats.replayablePartitions, 1, mode);
      assert.equal(cg.stats.hostOps, 0, mode);
      assert.ok(cg.stats.peakBytes < cg.stats.unplannedBytes, `${mode}: ${cg.stats.peakBytes}`);
      const kernels = linesOf(cg.program).filter((l) => l.op === "kernel").length;
      assert.equal(cg.stats.kernels, kernels, mode);
    }
  });
  await t.step("explain() header carries the stats", () => {
    const cg = compile(chain, { inputs: [f32(4, 8)], mode: "eager" });
    assert.equal(
      cg.explain().split("\n")[0],
      "mode: eager; kernels: 4; host ops: 0; partitions: 1 (1 replayable); memory: 256 bytes " +
        "planned, 512 unplanned",
    );
  });
});
