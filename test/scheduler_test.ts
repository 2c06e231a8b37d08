// Scheduler unit tests: dead-node elimination, the fusion cycle check, the storage-binding limit,
// eager vs fused kernel counts of the decoder block (with a reason for every boundary), and
// `inductor.fusion=false`. Graphs that change what runs are also checked on WebGPU against the
// float64 reference with poisoned buffers.
import assert from "node:assert/strict";
import {
  compile,
  CompiledGraph,
  config,
  type Graph,
  interpret,
  trace,
  type TypedArray,
} from "../src/mod.ts";
import { GraphLowering } from "../src/inductor/lowering.ts";
import type { Scheduler, SchedulerNode } from "../src/inductor/scheduler.ts";
import { codegenProgram } from "../src/codegen/wrapper.ts";
import { decoderData, decoderFn, decoderInputs, SMALL_DECODER } from "../src/models/decoder.ts";
import {
  assertClose,
  f32,
  type Fn,
  freshSeed,
  LOOSE,
  randomArray,
  rng,
  type Spec,
  type Tolerance,
} from "./helpers.ts";

/** Lower `graph` with `lower` rules and schedule it with `options`. */
function schedule(
  graph: Graph,
  lower: "eager" | "fused",
  options: Parameters<GraphLowering["updateScheduler"]>[0],
): Scheduler {
  const l = new GraphLowering(graph, { mode: lower, bindingLimit: options.bindingLimit });
  l.run();
  return l.updateScheduler(options);
}

function nodeOf(s: Scheduler, buf: string): SchedulerNode {
  const n = s.nodes.find((x) => x.members.some((m) => m.name === buf));
  assert.ok(n, `no scheduler node computes ${buf}:\n${s.explain()}`);
  return n;
}

/** Runs `cg` on seeded random inputs (poisoned buffers) and compares with the reference. */
async function checkOnGpu(
  cg: CompiledGraph,
  specs: Spec[],
  tol: Tolerance,
  label: string,
  data?: TypedArray[],
): Promise<void> {
  const seed = freshSeed();
  const make = (): TypedArray[] => {
    if (data) return data.map((a) => a.slice());
    const r = rng(seed);
    return specs.map((s) => randomArray(s.shape, s.dtype, r));
  };
  try {
    const expected = interpret(cg.graph, make());
    const got = await cg.run(make(), { poison: true });
    assert.equal(got.length, expected.length);
    got.forEach((g, i) => assertClose(g, expected[i], tol, `${label} output ${i} (seed ${seed})`));
  } finally {
    await cg.disposeAsync();
  }
}

// ---- dead-node elimination ------------------------------------------------------------------

Deno.test("dead-node elimination: an unused intermediate leaves no kernel", async (t) => {
  await t.step("eager: an unused pointwise op (and its unused producer)", async () => {
    const fn: Fn = (x) => {
      x.exp().neg(); // dead chain: neg reads exp, nothing reads neg
      return x.add(1);
    };
    const cg = compile(fn, { inputs: [f32(4, 8)], mode: "eager" });
    const s = cg.scheduler;
    // lowered (eager realizes every op) but removed by the scheduler, to a fixpoint
    assert.deepEqual(s.graph.buffers.filter((b) => b.def.kind !== "input").map((b) => b.name), [
      "buf0",
      "buf1",
      "buf2",
    ]);
    assert.deepEqual(s.nodes.map((n) => n.members.map((m) => m.name)), [["buf2"]]);
    assert.equal(cg.stats.kernels, 1);
    assert.doesNotMatch(s.explain(), /buf0|buf1/);
    await checkOnGpu(cg, [f32(4, 8)], LOOSE, "dce eager");
  });

  await t.step("default: an unused reduction (reductions always get a buffer)", () => {
    const cg = compile((x) => {
      x.sum(-1);
      return x.add(1);
    }, { inputs: [f32(4, 8)] });
    assert.equal(cg.scheduler.graph.buffers.find((b) => b.name === "buf0")?.def.kind, "reduction");
    assert.deepEqual(cg.scheduler.nodes.map((n) => n.members.map((m) => m.name)), [["buf1"]]);
    assert.equal(cg.stats.kernels, 1);
  });

  await t.step("a used intermediate stays", () => {
    const cg = compile((x) => {
      const y = x.exp();
      return [y.sum(-1), x.add(1)];
    }, { inputs: [f32(4, 8)], mode: "eager" });
    assert.equal(cg.stats.kernels, 3);
  });
});

// ---- fusion cycle check -----------------------------------------------------------------------

// a = exp(x) feeds both a matmul and the add that reads the matmul: fusing a with the add would
// put the matmul both before and after the fused kernel.
const cycleFn: Fn = (x, w) => {
  const a = x.exp();
  return a.add(a.matmul(w));
};
const cycleInputs = [f32(4, 4), f32(4, 4)];

Deno.test("willFusionCreateCycle: a -> matmul(a) -> b(a, matmul)", () => {
  const graph = trace(cycleFn, cycleInputs);
  // eager scheduling keeps the three nodes apart, so the check can be asked directly
  const s = schedule(graph, "fused", { mode: "eager" });
  assert.deepEqual(s.nodes.map((n) => [n.kind, n.members.map((m) => m.name)]), [
    ["pointwise", ["buf0"]],
    ["matmul", ["buf1"]],
    ["pointwise", ["buf2"]],
  ]);
  const [a, mm, b] = ["buf0", "buf1", "buf2"].map((n) => nodeOf(s, n));
  assert.equal(s.willFusionCreateCycle(a, b), true, "a with b goes around the matmul");
  assert.equal(s.willFusionCreateCycle(b, a), true, "the check is symmetric");
  assert.equal(s.willFusionCreateCycle(a, mm), false, "a direct producer/consumer pair");
  assert.equal(s.willFusionCreateCycle(mm, b), false, "the matmul's epilogue");
  assert.equal(s.canFuse(a, b), "fusion would create a cycle through another kernel");
});

Deno.test("willFusionCreateCycle: the fusing pipeline keeps the kernels apart", async () => {
  const cg = compile(cycleFn, { inputs: cycleInputs });
  const s = cg.scheduler;
  assert.equal(s.rejected.get("buf0|buf2"), "fusion would create a cycle through another kernel");
  // the add joins the matmul's epilogue instead; a stays its own kernel
  assert.deepEqual(s.nodes.map((n) => n.members.map((m) => m.name)), [["buf0"], ["buf1", "buf2"]]);
  assert.ok(nodeOf(s, "buf2").deps.has(nodeOf(s, "buf0")));
  assert.equal(cg.stats.kernels, 2);
  await checkOnGpu(cg, cycleInputs, LOOSE, "cycle");
});

// ---- storage-binding limit ------------------------------------------------------------------

const TEN = Array.from({ length: 10 }, () => f32(4, 8));
const sumOfTen: Fn = (...xs) => xs.reduce((p, c) => p.add(c));

Deno.test("binding limit: fusion stops before a kernel would bind too many buffers", async () => {
  // eager lowering realizes every add (nine buffers of two reads each); fused scheduling then
  // merges them only while a kernel stays within 4 storage bindings
  const graph = trace(sumOfTen, TEN);
  const s = schedule(graph, "eager", { mode: "fused", bindingLimit: 4 });
  assert.equal(s.bindingLimit, 4);
  for (const n of s.nodes) {
    const k = s.kernelFor(n).bindings.length;
    assert.ok(k <= 4, `${n.name} binds ${k} storage buffers (limit 4)`);
  }
  assert.ok(s.nodes.length < 9, `some adds still fuse:\n${s.explain()}`);
  assert.match(s.explain(), /would bind \d+ storage buffers, over the adapter's limit of 4/);
  const cg = new CompiledGraph(graph, "default", s, codegenProgram(s));
  assert.equal(cg.stats.kernels, s.nodes.length);
  await checkOnGpu(cg, TEN, LOOSE, "binding limit 4");
});

Deno.test("binding limit: the default limit (8) holds for the snapshot graphs and the decoder", () => {
  const graphs: [string, Fn, Spec[]][] = [
    [
      "layer_norm_linear_relu",
      (x, g, b, w, bias) => x.layerNorm([8], g, b).linear(w, bias).relu(),
      [f32(4, 8), f32(8), f32(8), f32(6, 8), f32(6)],
    ],
    ["decoder", decoderFn(SMALL_DECODER), decoderInputs(SMALL_DECODER) as Spec[]],
  ];
  for (const [name, fn, inputs] of graphs) {
    const cg = compile(fn, { inputs });
    for (const n of cg.scheduler.nodes) {
      const k = cg.scheduler.kernelFor(n).bindings.length;
      assert.ok(k <= 8, `${name}: ${n.name} binds ${k} storage buffers`);
    }
  }
});

// A single-use chain `x0 + x1 + ... + x9` inlines into one body; the lowering realizes it once it
// reads more buffers than a kernel may bind (upstream realize_reads_threshold), so no kernel
// binds more than the limit: 4 here, 8 (WebGPU's guaranteed minimum) by default.
Deno.test({
  name: "binding limit: fused lowering of a 10-input pointwise stays within the limit",
  fn: () => {
    const graph = trace(sumOfTen, TEN);
    const s = schedule(graph, "fused", { mode: "fused", bindingLimit: 4 });
    for (const n of s.nodes) {
      const k = s.kernelFor(n).bindings.length;
      assert.ok(k <= 4, `${n.name} binds ${k} storage buffers (limit 4)`);
    }
    const cg = compile(sumOfTen, { inputs: TEN });
    for (const n of cg.scheduler.nodes) {
      assert.ok(cg.scheduler.kernelFor(n).bindings.length <= 8, n.name);
    }
  },
});

// A matmul read only by an epilogue fused into its kernel stays in registers: not stored, and
// its binding does not count against the limit (layer_norm -> linear -> relu is 2 kernels).
Deno.test({
  name: "matmul output read only by its fused epilogue is not stored",
  fn: () => {
    const cg = compile((a, b, r) => a.matmul(b).add(r), {
      inputs: [f32(4, 8), f32(8, 6), f32(4, 6)],
    });
    const s = cg.scheduler;
    assert.deepEqual(s.kernelFor(s.nodes[0]).stores, ["buf1"]);
    const ln = compile((x, g, b, w, bias) => x.layerNorm([8], g, b).linear(w, bias).relu(), {
      inputs: [f32(4, 8), f32(8), f32(8), f32(6, 8), f32(6)],
    });
    assert.equal(ln.stats.kernels, 2);
  },
});

// ---- the decoder block: eager vs fused --------------------------------------------------------

Deno.test("decoder block: fused compile has at most half the kernels of eager", async (t) => {
  const inputs = decoderInputs(SMALL_DECODER);
  const eager = compile(decoderFn(SMALL_DECODER), { inputs, mode: "eager" });
  const fused = compile(decoderFn(SMALL_DECODER), { inputs });
  await t.step("kernel counts", () => {
    assert.ok(
      fused.stats.kernels <= eager.stats.kernels / 2,
      `default ${fused.stats.kernels} kernels vs eager ${eager.stats.kernels}`,
    );
    assert.equal(fused.stats.kernels, fused.scheduler.nodes.length);
    assert.equal(fused.stats.partitions, 1);
    assert.equal(fused.stats.replayablePartitions, 1);
  });
  await t.step("explain() gives a reason for every boundary", () => {
    const lines = fused.scheduler.explain().split("\n");
    assert.equal(lines.length, fused.stats.kernels);
    for (const line of lines) {
      const m = line.match(/^k\d+_\w+ \[(\w+)\] [\w, ]+ — (.*)$/);
      assert.ok(m, `explain line format: ${line}`);
      assert.ok(m[2].trim().length > 0, `empty reason: ${line}`);
      assert.doesNotMatch(m[2], /eager mode/, line);
    }
    // every kernel after the first is separated from a producer for a stated reason
    for (const line of lines.slice(1)) assert.match(line, / — not fused with k\d+_\w+: /);
    for (const line of eager.scheduler.explain().split("\n")) {
      assert.match(line, / — eager mode: one kernel per op$/);
    }
  });
  await t.step("both modes match the reference on WebGPU", async () => {
    const data = decoderData(SMALL_DECODER, 7);
    await checkOnGpu(fused, inputs as Spec[], LOOSE, "decoder default", data);
    await checkOnGpu(eager, inputs as Spec[], LOOSE, "decoder eager", data);
  });
});

// ---- inductor.fusion = false ----------------------------------------------------------------

Deno.test("inductor.fusion=false: one kernel per realized buffer", async () => {
  // exp(x) has two users (realized: buf0); the output is buf1
  const fn: Fn = (x) => {
    const y = x.exp();
    return y.mul(y.add(1)).neg().sum(-1);
  };
  const inputs = [f32(4, 8)];
  const off = config.patch({ "inductor.fusion": false }, () => compile(fn, { inputs }));
  const on = compile(fn, { inputs });
  const realized = off.scheduler.graph.buffers.filter((b) => b.def.kind !== "input");
  assert.deepEqual(realized.map((b) => b.name), ["buf0", "buf1"]);
  assert.equal(off.stats.kernels, realized.length);
  assert.deepEqual(off.scheduler.nodes.map((n) => n.members.map((m) => m.name)), [
    ["buf0"],
    ["buf1"],
  ]);
  for (const n of off.scheduler.nodes) {
    assert.equal(off.scheduler.kernelFor(n).stores.length, 1, n.name);
  }
  assert.equal(on.stats.kernels, 1);
  // the options form of the same switch
  const off2 = compile(fn, { inputs, config: { "inductor.fusion": false } });
  assert.equal(off2.stats.kernels, 2);
  assert.equal(config.bool("inductor.fusion"), true, "the patch is undone");
  await checkOnGpu(off, inputs, LOOSE, "fusion off");
});

// ---- last use and partitions ------------------------------------------------------------------

Deno.test("computeLastUsage and the single partition of a graph without custom ops", () => {
  const cg = compile((x) => x.mul(2).add(1).relu().exp(), { inputs: [f32(4, 8)], mode: "eager" });
  const s = cg.scheduler;
  assert.deepEqual(s.nodes.map((n) => [...n.lastUsage].sort()), [
    ["arg0"],
    ["buf0"],
    ["buf1"],
    ["buf2"],
  ]);
  const parts = s.graphPartition();
  assert.equal(parts.length, 1);
  assert.equal(parts[0].skip, false);
  assert.equal(parts[0].reason, null);
  assert.equal(s.shouldPartition(s.nodes[0]), null);
  const [sig] = s.getGraphPartitionSignature(parts);
  assert.deepEqual(sig.inputs, ["arg0"]);
  assert.deepEqual(sig.outputs, ["buf3"]);
  assert.deepEqual([...sig.inputDeallocation], [["arg0", true]]);
  assert.equal(sig.skipReplay, false);
  // with replay off every node runs in call, for that reason
  config.patch({ "inductor.replay": false }, () => {
    const p = s.graphPartition();
    assert.equal(p.length, 1);
    assert.equal(p[0].skip, true);
    assert.equal(p[0].reason, "replay is off: everything runs in call");
  });
});
