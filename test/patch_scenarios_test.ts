// The scenarios of research/upstream-inductor.md §4 for patches A–D. Each patch is shown
// failing the way upstream failed when it is disabled (in a subprocess: patches are import-time
// side effects) and passing, with numbers checked against the reference, when applied (here,
// where src/mod.ts applied them at import). Controls pass both ways.
import assert from "node:assert/strict";
import { lastJson, runDeno, runDenoScript } from "./helpers.ts";
import { appliedPatches, PORTED_FROM } from "../src/mod.ts";
import { type ScenarioResult, SCENARIOS } from "./scenarios/scenarios.ts";

const TOL = 1e-4;

/** Run scenarios in a fresh process with some patches disabled (or another version). */
async function unpatched(
  env: Record<string, string>,
  names: string[],
): Promise<Record<string, ScenarioResult>> {
  const path = new URL("./scenarios/scenarios.ts", import.meta.url).pathname;
  return lastJson(await runDeno(["-A", path, ...names], env));
}

function passes(r: ScenarioResult, label: string): void {
  assert.ok(r.ok, `${label}: ${r.errorName}: ${r.error}`);
  if (r.maxErr !== undefined) assert.ok(r.maxErr <= TOL, `${label}: max error ${r.maxErr}`);
}

Deno.test("the port is of 2.9.0 and patches A–D are applied at import", () => {
  assert.equal(PORTED_FROM, "2.9.0");
  const applied = appliedPatches().filter((p) => p.applied).map((p) => p.id);
  assert.deepEqual(applied, ["A", "B", "C", "D"]);
});

Deno.test("patch A (memoryPlanReuse, pytorch#165514): scenario 1 and its controls", async () => {
  const names = [
    "partitionOutputOnlyAllocated",
    "partitionOutputOnlyAllocatedNoPartition",
    "deadTailTrimmed",
  ];
  const [off, on] = await Promise.all([
    unpatched({ WEBGPU_INDUCTOR_DISABLE_PATCHES: "A" }, names),
    Promise.all(names.map((n) => SCENARIOS[n]())),
  ]);
  // unpatched: the allocation partition 0 returns was trimmed -> undefined buffer at its return
  const u = off.partitionOutputOnlyAllocated;
  assert.equal(u.ok, false);
  assert.equal(u.errorName, "ProgramError");
  assert.match(
    u.error!,
    /NameError: name 'buf\d+' is not defined \(partition_0 returns it.*undefined buffer/,
  );
  // patched: runs, and out's allocation became a reuse of a's slot (exactly one reuse)
  passes(on[0], "patched scenario 1");
  assert.equal(on[0].partitions, 3);
  assert.equal(on[0].replayable, 2);
  assert.match(
    on[0].program!,
    /def partition_0[\s\S]*buf2 = buf0; del buf0 {2}# reuse[\s\S]*return \(buf1, buf2\)/,
  );
  const p0 = on[0].program!.split("def partition_2")[0];
  assert.equal((p0.match(/# reuse/g) ?? []).length, 1);
  // controls: partitioning off passes both ways; a truly dead trailing allocation is trimmed both ways
  passes(off.partitionOutputOnlyAllocatedNoPartition, "unpatched, partitioning off");
  passes(on[1], "patched, partitioning off");
  for (const r of [off.deadTailTrimmed, on[2]]) {
    passes(r, "dead tail");
    assert.doesNotMatch(r.program!, /buf2 = empty/, "the dead trailing allocation must be trimmed");
  }
});

Deno.test("patch B (shouldPartition by name, vllm#26678): scenario 5 and its control", async () => {
  const names = ["customRuleInplace", "unlistedOpDoesNotSplit"];
  const [off, on] = await Promise.all([
    unpatched({ WEBGPU_INDUCTOR_DISABLE_PATCHES: "B" }, names),
    Promise.all([...names, "customRuleOverloadName"].map((n) => SCENARIOS[n]())),
  ]);
  assert.equal(off.customRuleInplace.ok, false);
  assert.equal(off.customRuleInplace.errorName, "AssertionError");
  assert.match(off.customRuleInplace.error!, /origin node/);
  for (const [r, label] of [[on[0], "ns::op"], [on[2], "ns::op.default"]] as const) {
    passes(r, `patched, listed as ${label}`);
    assert.equal(r.partitions, 3, `${label}: cg, skip, cg`);
    assert.equal(r.replayable, 2);
  }
  // an unlisted GPU op does not split, patched or not
  for (const r of [off.unlistedOpDoesNotSplit, on[1]]) {
    passes(r, "unlisted op");
    assert.equal(r.partitions, 1);
  }
});

Deno.test("patch C (partition signature, pytorch#165815): scenario 3; scenario 4 both ways", async () => {
  const names = ["aliasFreedInLaterPartition", "mutationCrossesPartitions"];
  const [off, on] = await Promise.all([
    unpatched({ WEBGPU_INDUCTOR_DISABLE_PATCHES: "C" }, names),
    Promise.all(names.map((n) => SCENARIOS[n]())),
  ]);
  assert.equal(off.aliasFreedInLaterPartition.ok, false);
  assert.match(
    off.aliasFreedInLaterPartition.error!,
    /NameError: name 'buf0' is not defined \(call: del buf0\)/,
  );
  passes(on[0], "patched scenario 3");
  // the producer returns the viewed buffer and the later partition frees it
  assert.match(on[0].program!, /def partition_0\(arg0\):[\s\S]*return \(buf0, buf1\)/);
  // scenario 4: the partition reading the mutated buffer takes its real name, never the MutationOutput
  for (const r of [off.mutationCrossesPartitions, on[1]]) {
    passes(r, "scenario 4");
    assert.match(r.program!, /def partition_2\(buf\d+\)/);
    assert.match(r.program!, /scen::U\(buf\d+, buf0\)/);
    assert.match(r.program!, /partition_2\(buf0\)/);
  }
});

Deno.test("patch D (get_raw_stream global, vllm#30905): scenario 7", async () => {
  const [off, on] = await Promise.all([
    unpatched({ WEBGPU_INDUCTOR_DISABLE_PATCHES: "D" }, ["autotuneTwoPartitions"]),
    SCENARIOS.autotuneTwoPartitions(),
  ]);
  assert.equal(off.autotuneTwoPartitions.ok, false);
  assert.match(
    off.autotuneTwoPartitions.error!,
    /Failed to run autotuning code block of partition_0: get_raw_stream is not defined/,
  );
  passes(on, "patched scenario 7");
  assert.equal(on.replayable, 2);
});

Deno.test("scenario 6: with replay off every node partitions and everything runs in call", async () => {
  const [off, on] = await Promise.all([
    unpatched({ WEBGPU_INDUCTOR_DISABLE_PATCHES: "all" }, ["replayDisabled"]),
    SCENARIOS.replayDisabled(),
  ]);
  for (const r of [off.replayDisabled, on]) {
    passes(r, "replay off");
    assert.equal(r.replayable, 0);
    assert.doesNotMatch(r.program!, /def partition_/);
  }
});

Deno.test("scenario 8: multi-graph piecewise (vLLM test_multiple_graphs), patched and with A off", async () => {
  const [off, on] = await Promise.all([
    unpatched({ WEBGPU_INDUCTOR_DISABLE_PATCHES: "A" }, ["multiGraphPiecewise"]),
    SCENARIOS.multiGraphPiecewise(),
  ]);
  passes(on, "patched scenario 8");
  assert.equal(on.bitExact, true, "replay and no-replay must be bit-exact");
  // each compiled graph: 3 pieces around the attention op, 2 of them replayed
  assert.deepEqual(on.stats, [[3, 2], [3, 2], [3, 2], [3, 2]]);
  // 2 graphs x 2 sizes x 2 partitions recorded; the replay at size 2 records nothing new
  assert.equal(on.recorded, 8);
  assert.equal(off.multiGraphPiecewise.ok, false);
  assert.match(off.multiGraphPiecewise.error!, /undefined buffer at the partition's return/);
});

Deno.test("version gating: 2.9.0 applies A–D, 2.9.1 only D, 2.10.0 none; skipped targets stay stock", async () => {
  const script = `
    import { appliedPatches } from "${new URL("../src/mod.ts", import.meta.url).href}";
    import { STOCK_MEMORY_PLAN_REUSE, WrapperCodegen } from "${
    new URL("../src/codegen/wrapper.ts", import.meta.url).href
  }";
    import { GraphLowering, STOCK_UPDATE_SCHEDULER } from "${
    new URL("../src/inductor/lowering.ts", import.meta.url).href
  }";
    import { Scheduler, STOCK_SCHEDULER } from "${
    new URL("../src/inductor/scheduler.ts", import.meta.url).href
  }";
    import { config } from "${new URL("../src/config.ts", import.meta.url).href}";
    const g = globalThis;
    console.log(JSON.stringify({
      applied: appliedPatches().filter((p) => p.applied).map((p) => p.id),
      reasons: appliedPatches().map((p) => p.reason),
      stockA: WrapperCodegen.prototype.memoryPlanReuse === STOCK_MEMORY_PLAN_REUSE,
      stockBC: GraphLowering.prototype.updateScheduler === STOCK_UPDATE_SCHEDULER &&
        Scheduler.prototype.shouldPartition === STOCK_SCHEDULER.shouldPartition &&
        Scheduler.prototype.getGraphPartitionSignature === STOCK_SCHEDULER.getGraphPartitionSignature,
      configEntry: config.has("inductor.customShouldPartitionOps"),
      rawStream: typeof g.get_raw_stream,
    }));`;
  const run = async (version: string) =>
    lastJson(await runDenoScript(script, ["-A"], { WEBGPU_INDUCTOR_PORTED_FROM: version }));
  const [v290, v291, v2100] = await Promise.all(["2.9.0", "2.9.1", "2.10.0"].map(run));
  assert.deepEqual(v290.applied, ["A", "B", "C", "D"]);
  assert.equal(v290.stockA, false);
  assert.equal(v290.configEntry, true);
  assert.equal(v290.rawStream, "function");
  assert.deepEqual(v291.applied, ["D"]);
  assert.equal(v291.stockA, true);
  assert.equal(v291.stockBC, true);
  assert.equal(v291.configEntry, false);
  assert.equal(v291.rawStream, "function");
  assert.deepEqual(v2100.applied, []);
  assert.equal(v2100.stockA, true);
  assert.equal(v2100.stockBC, true);
  assert.equal(v2100.rawStream, "undefined");
  assert.ok(
    v2100.reasons.every((r: string) => /outside range/.test(r)),
    v2100.reasons.join("; "),
  );
});
