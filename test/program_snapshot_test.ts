// Printed-program snapshots: a few small graphs pin the scheduler's kernels (and why each
// boundary exists: `scheduler.explain()`), the partition signatures and the memory plan
// (`printProgram`) in default and eager mode. Every case also runs on WebGPU against the float64
// reference with poisoned (NaN-filled) buffers.
//
// The expected texts live in test/snapshots/<case>.txt. After an intended change to the
// scheduler or the wrapper, regenerate them and review the diff:
//   UPDATE_SNAPSHOTS=1 npx -y deno@2.9.6 test -A test/program_snapshot_test.ts
// The snapshots assume the default patch set (WEBGPU_INDUCTOR_DISABLE_PATCHES unset): patch A
// changes how a partition's trailing memory lines are trimmed.
import assert from "node:assert/strict";
import { compile, type CompiledGraph, interpret, type TypedArray } from "../src/mod.ts";
import { printProgram, type Program } from "../src/codegen/wrapper.ts";
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

const UPDATE = Deno.env.get("UPDATE_SNAPSHOTS") === "1";
const SNAP_DIR = new URL("./snapshots/", import.meta.url);

interface Case {
  name: string;
  fn: Fn;
  inputs: Spec[];
  tol: Tolerance;
  /** Kernel launches per run in each mode. */
  kernels: { default: number; eager: number };
  /** Checks beyond the snapshot, with messages that say what broke. */
  check?: (cg: { default: CompiledGraph; eager: CompiledGraph }) => void;
}

/** Buffers that exist in memory when the program runs (allocated or taken over by reuse). */
function allocated(p: Program): string[] {
  const out: string[] = [];
  for (const w of [p.main, ...p.partitions.values()]) {
    for (const l of w.lines) {
      if (l.op === "alloc") out.push(l.buf);
      if (l.op === "reuse") out.push(l.next);
    }
  }
  return out.sort();
}

function reuses(p: Program): string[] {
  return [p.main, ...p.partitions.values()].flatMap((w) =>
    w.lines.flatMap((l) => (l.op === "reuse" ? [`${l.prev}->${l.next}`] : []))
  );
}

const cases: Case[] = [
  {
    name: "pointwise_chain",
    fn: (x) => x.mul(2).add(1).relu().exp(),
    inputs: [f32(4, 8)],
    tol: { atol: 1e-5, rtol: 1e-4 },
    kernels: { default: 1, eager: 4 },
    check: (cg) => {
      // nothing in between is realized: one buffer, the output
      assert.deepEqual(allocated(cg.default.program), ["buf0"]);
      // eager: four [4, 8] buffers, two of them taking over a dead one's storage
      assert.deepEqual(reuses(cg.eager.program), ["buf0->buf2", "buf1->buf3"]);
    },
  },
  {
    // y has two users, so it is realized (buf0); both users fuse with it and it never leaves
    // the kernel: only the two outputs are stored
    name: "value_used_twice",
    fn: (x) => {
      const y = x.mul(2).exp();
      return [y.sum(-1), y.add(1).relu()];
    },
    inputs: [f32(4, 8)],
    tol: LOOSE,
    kernels: { default: 1, eager: 5 },
    check: (cg) => {
      const s = cg.default.scheduler;
      assert.ok(s.byName.has("buf0"), "y is realized into buf0");
      assert.equal(s.nodes.length, 1);
      const spec = s.kernelFor(s.nodes[0]);
      assert.deepEqual(spec.computes, ["buf0", "buf1", "buf2"]);
      assert.deepEqual(spec.stores.sort(), ["buf1", "buf2"]);
      assert.ok(!s.materialized().has("buf0"), "buf0 is kernel-internal");
      assert.deepEqual(allocated(cg.default.program), ["buf1", "buf2"]);
      // eager stores y and reads it from memory twice
      const e = cg.eager.scheduler;
      assert.ok(e.materialized().has("buf1"), "eager stores exp(x * 2)");
    },
  },
  {
    // max, sum and the output share one frame: a single kernel even in eager mode
    name: "softmax",
    fn: (x) => x.softmax(-1),
    inputs: [f32(4, 8)],
    tol: LOOSE,
    kernels: { default: 1, eager: 1 },
    check: (cg) => {
      for (const mode of ["default", "eager"] as const) {
        const s = cg[mode].scheduler;
        assert.deepEqual(s.nodes[0].members.map((m) => m.name), ["buf0", "buf1", "buf2"]);
        assert.deepEqual(allocated(cg[mode].program), ["buf2"], `${mode}: only the output`);
      }
    },
  },
  {
    // the normalised value is stored by the layer_norm kernel (rsqrt is too costly to recompute
    // in every operand load); the matmul's own output stays in registers, so bias and relu fit
    // its epilogue
    name: "layer_norm_linear_relu",
    fn: (x, g, b, w, bias) => x.layerNorm([8], g, b).linear(w, bias).relu(),
    inputs: [f32(4, 8), f32(8), f32(8), f32(6, 8), f32(6)],
    tol: LOOSE,
    kernels: { default: 2, eager: 3 },
    check: (cg) => {
      const lines = cg.default.scheduler.explain().split("\n");
      assert.equal(lines.length, 2);
      assert.match(lines[0], /k0_layer_norm \[reduction\] buf0, buf1, buf2/);
      assert.match(lines[1], /k1_linear \[matmul\] buf3, buf4/);
      for (const n of cg.default.scheduler.nodes) {
        assert.ok(cg.default.scheduler.kernelFor(n).bindings.length <= 8, n.name);
      }
    },
  },
  {
    name: "matmul_residual",
    fn: (a, b, r) => a.matmul(b).add(r),
    inputs: [f32(4, 8), f32(8, 6), f32(4, 6)],
    tol: LOOSE,
    kernels: { default: 1, eager: 2 },
    check: (cg) => {
      const s = cg.default.scheduler;
      assert.equal(s.nodes[0].kind, "matmul");
      assert.deepEqual(s.nodes[0].members.map((m) => m.name), ["buf0", "buf1"]);
    },
  },
  {
    // both projections read x: horizontal fusion into one matmul template
    name: "two_linears_shared_input",
    fn: (x, w1, w2) => [x.linear(w1), x.linear(w2)],
    inputs: [f32(4, 8), f32(6, 8), f32(6, 8)],
    tol: LOOSE,
    kernels: { default: 1, eager: 2 },
    check: (cg) => {
      const spec = cg.default.scheduler.kernelFor(cg.default.scheduler.nodes[0]);
      assert.deepEqual(spec.stores.sort(), ["buf0", "buf1"]);
      assert.deepEqual(spec.bindings.map((b) => b.storage).sort(), [
        "arg0",
        "arg1",
        "arg2",
        "buf0",
        "buf1",
      ]);
    },
  },
];

function render(c: Case, cgs: { default: CompiledGraph; eager: CompiledGraph }): string {
  const out = [`# ${c.name}`];
  for (const mode of ["default", "eager"] as const) {
    out.push(
      `## ${mode}: explain`,
      cgs[mode].scheduler.explain(),
      `## ${mode}: program`,
      printProgram(cgs[mode].program),
    );
  }
  return out.join("\n") + "\n";
}

function compileBoth(c: Case) {
  return {
    default: compile(c.fn, { inputs: c.inputs, mode: "default" }),
    eager: compile(c.fn, { inputs: c.inputs, mode: "eager" }),
  };
}

for (const c of cases) {
  Deno.test(`program snapshot: ${c.name}`, async () => {
    const cgs = compileBoth(c);
    assert.equal(cgs.default.stats.kernels, c.kernels.default, "kernels (default)");
    assert.equal(cgs.eager.stats.kernels, c.kernels.eager, "kernels (eager)");
    c.check?.(cgs);
    const text = render(c, cgs);
    const file = new URL(`${c.name}.txt`, SNAP_DIR);
    if (UPDATE) {
      await Deno.mkdir(SNAP_DIR, { recursive: true });
      await Deno.writeTextFile(file, text);
      return;
    }
    let expected: string;
    try {
      expected = await Deno.readTextFile(file);
    } catch (e) {
      throw new Error(
        `missing snapshot ${file.pathname} (run with UPDATE_SNAPSHOTS=1 to create it): ${e}`,
      );
    }
    assert.equal(text, expected, `snapshot ${c.name} (UPDATE_SNAPSHOTS=1 rewrites it)`);
  });

  Deno.test(`program snapshot on WebGPU vs reference: ${c.name}`, async () => {
    const seed = freshSeed();
    const make = (): TypedArray[] => {
      const r = rng(seed);
      return c.inputs.map((s) => randomArray(s.shape, s.dtype, r));
    };
    const cgs = compileBoth(c);
    try {
      const expected = interpret(cgs.default.graph, make());
      for (const mode of ["default", "eager"] as const) {
        const got = await cgs[mode].run(make(), { poison: true });
        assert.equal(got.length, expected.length);
        got.forEach((g, i) =>
          assertClose(g, expected[i], c.tol, `${c.name} [${mode}] output ${i} (seed ${seed})`)
        );
      }
    } finally {
      await cgs.default.disposeAsync();
      await cgs.eager.disposeAsync();
    }
  });
}
