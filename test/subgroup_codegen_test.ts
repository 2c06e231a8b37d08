// Subgroup reductions as generated code (Deno's adapters have no `subgroups` feature; the kernels
// run in Chromium/SwiftShader in test/browser/browser_test.ts): prepare() picks them per target,
// long rows get subgroup operations with one barrier and a leader mask, short rows and the
// scalar target keep their paths, and float max/min/argmax carry the NaN rule.
import assert from "node:assert/strict";
import { compile } from "../src/mod.ts";
import { selectKernels } from "../src/codegen/autotune.ts";
import { COMPILE_TARGET, type KernelTarget } from "../src/codegen/wgsl/target.ts";

const SUBGROUPS: KernelTarget = { ...COMPILE_TARGET, adapter: "test", subgroups: true };

function kernels(fn: Parameters<typeof compile>[0], shape: number[], t: KernelTarget) {
  const cg = compile(fn, { inputs: [{ shape }], mode: "eager" });
  return [...selectKernels(cg.program, t).values()];
}

Deno.test("long-row reductions use subgroup operations on a subgroups target", () => {
  const ks = kernels((x) => [x.sum(-1), x.max(-1), x.min(-1), x.argmax(-1)], [3, 300], SUBGROUPS);
  assert.equal(ks.length, 4);
  for (const k of ks) {
    assert.match(k.wgsl, /^enable subgroups;/, k.name);
    assert.match(k.wgsl, /@builtin\(subgroup_invocation_id\) sid: u32/);
    assert.match(k.wgsl, /atomicOr\(&sg_lead\[lid >> 5u\]/, "leaders recorded in a bit mask");
    assert.match(k.wgsl, /firstTrailingBit\(bits\)/, "the fold walks the leader mask");
    assert.doesNotMatch(k.wgsl, /if \(lid < 128u\)/, "no workgroup tree step");
  }
  const [sum, max, min, argmax] = ks.map((k) => k.wgsl);
  assert.match(sum, /subgroupAdd\(acc0\)/);
  assert.match(max, /select\(subgroupMax\(acc0\), .*subgroupAny\(is_nan_f32\(acc0\)\)\)/);
  assert.match(min, /subgroupMin\(acc0\)/);
  assert.match(argmax, /subgroupMax\(acc0\)/);
  assert.match(argmax, /subgroupMin\(select\(0xffffffffu, acci0, cand\)\)/, "least index wins");
});

Deno.test("without subgroups the workgroup tree runs, and short rows stay serial", () => {
  const tree = kernels((x) => x.softmax(-1), [3, 300], COMPILE_TARGET);
  assert.ok(tree.every((k) => !k.wgsl.includes("subgroup")));
  assert.ok(tree.some((k) => /if \(lid < \d+u\)/.test(k.wgsl)), "tree steps");
  const short = kernels((x) => x.sum(-1), [3, 20], SUBGROUPS);
  assert.ok(short.every((k) => !k.wgsl.includes("subgroup")), "one invocation per short row");
});

Deno.test("integer reductions use subgroups without the NaN test", () => {
  const cg = compile((x) => [x.sum(-1), x.max(-1)], {
    inputs: [{ shape: [2, 100], dtype: "i32" }],
    mode: "eager",
  });
  const ks = [...selectKernels(cg.program, SUBGROUPS).values()];
  assert.match(ks[0].wgsl, /subgroupAdd\(acc0\)/);
  assert.match(ks[1].wgsl, /let part = subgroupMax\(acc0\);/);
  assert.ok(ks.every((k) => !k.wgsl.includes("is_nan_f32")));
});
