// The test scenarios of research/upstream-inductor.md §4, as functions returning plain JSON
// summaries (so a subprocess running the unpatched port can report them). Each one compiles a
// small graph with the port, runs it on the GPU against the float64 reference, and returns what
// the patch tests assert on: the error (name and message) or the numbers and the program.
import {
  ATTENTION_OP,
  compile,
  type CompiledGraph,
  config,
  HOST_READBACK_OP,
  interpret,
  ops,
  registerCustomOp,
  type TypedArray,
  VIEW_DTYPE_OP,
} from "../../src/mod.ts";
import { counters } from "../../src/inductor/counters.ts";
import { registerShouldPartitionRule } from "../../src/inductor/scheduler.ts";
import { printProgram } from "../../src/codegen/wrapper.ts";
import type { TensorProxy } from "../../src/fx/tracer.ts";
import type { RefTensor } from "../../src/reference/tensor.ts";

export interface ScenarioResult {
  ok: boolean;
  errorName?: string;
  error?: string;
  /** max |gpu - reference| over all outputs. */
  maxErr?: number;
  program?: string;
  partitions?: number;
  replayable?: number;
  reuses?: number;
  [k: string]: unknown;
}

type Fn = (...xs: TensorProxy[]) => TensorProxy | TensorProxy[];

function data(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(seed * 7.31 + i * 1.7) * 1.5;
  return a;
}

function maxErr(a: TypedArray[], b: TypedArray[]): number {
  let m = 0;
  a.forEach((x, i) => {
    for (let j = 0; j < x.length; j++) {
      const d = Math.abs(Number(x[j]) - Number(b[i][j]));
      m = Math.max(m, Number.isNaN(d) ? Infinity : d);
    }
  });
  return m;
}

/** Compile, run with poisoned buffers, compare; errors become the result. */
async function runCase(
  fn: Fn,
  shapes: number[][],
  opts: { mode?: "eager" | "default"; config?: Record<string, unknown> } = {},
): Promise<ScenarioResult> {
  try {
    const cg = compile(fn, { inputs: shapes.map((shape) => ({ shape })), ...opts });
    const program = printProgram(cg.program);
    const inputs = shapes.map((s, i) => data(s.reduce((a, b) => a * b, 1), i + 1));
    try {
      const got = await cg.run(inputs, { poison: true });
      const want = interpret(cg.graph, inputs);
      return {
        ok: true,
        maxErr: maxErr(got, want),
        program,
        partitions: cg.stats.partitions,
        replayable: cg.stats.replayablePartitions,
        reuses: (program.match(/# reuse/g) ?? []).length,
        kernels: cg.stats.kernels,
      };
    } finally {
      await cg.disposeAsync();
    }
  } catch (e) {
    return { ok: false, errorName: (e as Error).name, error: (e as Error).message };
  }
}

/** A host op that mutates `out!` with 3 * b (the "U" of the scenarios: replay-unsafe). */
registerCustomOp({
  name: "scen::U",
  args: ["b", "out!"],
  shape: () => null,
  reference: (args) => {
    const [b, out] = args as RefTensor[];
    for (let i = 0; i < out.data.length; i++) out.data[i] = 3 * b.data[i];
    return null;
  },
  js: (args: unknown[]) => {
    const [b, out] = args as Float32Array[];
    for (let i = 0; i < out.length; i++) out[i] = 3 * b[i];
  },
  replace: true,
});

/** mylib::baz(x, out!): a GPU op that copies x into out and returns nothing (vllm#26678's test). */
registerCustomOp({
  name: "mylib::baz",
  args: ["x", "out!"],
  shape: () => null,
  reference: (args) => {
    const [x, out] = args as RefTensor[];
    out.data.set(x.data);
    return null;
  },
  wgsl: (args) => {
    const n = (args[0] as { shape: number[] }).shape.reduce((a, b) => a * b, 1);
    return {
      wgsl: `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) { if (g.x < ${n}u) { o[g.x] = x[g.x]; } }`,
      workgroups: [Math.ceil(n / 64), 1, 1],
    };
  },
  replace: true,
});

/** Scenario 1's graph: partition 0 ends by allocating `out`, which the host op fills. */
const allocOnlyOutput: Fn = (x) => {
  const a = x.relu();
  const b = a.mul(2);
  const out = ops.emptyLike(b);
  ops.call("scen::U", [b, out]);
  return out.add(1);
};

export const SCENARIOS: Record<string, () => Promise<ScenarioResult>> = {
  /** 1 (patch A): the last thing in partition 0 allocates `out`, which only partition 0 returns. */
  async partitionOutputOnlyAllocated() {
    return await runCase(
      allocOnlyOutput,
      [[4, 8]],
      { mode: "eager" },
    );
  },
  /** 1, control: partitioning off. */
  async partitionOutputOnlyAllocatedNoPartition() {
    return await runCase(
      allocOnlyOutput,
      [[4, 8]],
      { mode: "eager", config: { "inductor.graphPartition": false } },
    );
  },
  /** 2: a truly dead trailing allocation is still trimmed. */
  async deadTailTrimmed() {
    return await runCase(
      (x) => {
        const a = x.relu();
        const b = a.mul(2);
        ops.emptyLike(b);
        return b;
      },
      [[4, 8]],
      { mode: "eager" },
    );
  },
  /** 3 (patch C): an alias keeps its storage alive into a later partition, which frees it. */
  async aliasFreedInLaterPartition() {
    return await runCase((x) => {
      const y = x.add(1);
      const z = ops.call(VIEW_DTYPE_OP, [y], { dtype: "i32" })!;
      const h = ops.call(HOST_READBACK_OP, [z])!;
      const w = ops.call(VIEW_DTYPE_OP, [h], { dtype: "f32" })!;
      return w.mul(2);
    }, [[4, 8]]);
  },
  /** 4: a mutated buffer crossing partitions is named by its real buffer. */
  async mutationCrossesPartitions() {
    const r = await runCase(
      (x) => {
        const buf = ops.empty([4, 8]);
        ops.call("scen::U", [x.mul(1), buf]);
        return buf.add(1);
      },
      [[4, 8]],
      { mode: "eager" },
    );
    return r;
  },
  /** 5 (patch B): a custom partition rule on an in-place op without an origin node. */
  async customRuleInplace() {
    registerShouldPartitionRule("mylib::baz");
    const cfg = config.has("inductor.customShouldPartitionOps")
      ? { "inductor.customShouldPartitionOps": ["mylib::baz"] }
      : {};
    return await runCase(
      (x) => {
        const x1 = x.add(1);
        ops.call("mylib::baz", [x1, x1]);
        return x1.add(1);
      },
      [[3, 5]],
      { config: cfg },
    );
  },
  /** 5 again, listed by overload name, through config only (no rule registered). */
  async customRuleOverloadName() {
    if (!config.has("inductor.customShouldPartitionOps")) {
      return { ok: false, errorName: "ConfigError", error: "no inductor.customShouldPartitionOps" };
    }
    return await runCase(
      (x) => {
        const x1 = x.add(1);
        ops.call("mylib::baz", [x1, x1]);
        return x1.add(1);
      },
      [[3, 5]],
      { config: { "inductor.customShouldPartitionOps": ["mylib::baz.default"] } },
    );
  },
  /** 5, control: an unlisted GPU op does not split. */
  async unlistedOpDoesNotSplit() {
    return await runCase((x) => {
      const x1 = x.add(1);
      ops.call(ATTENTION_OP, [x1, x1, x1, x1.mul(0)]);
      return x1.add(1);
    }, [[2, 4, 8]]);
  },
  /** 6: with replay off every node partitions: everything runs in call. */
  async replayDisabled() {
    return await runCase(
      (x) => {
        const b = x.relu().mul(2);
        const out = ops.emptyLike(b);
        ops.call("scen::U", [b, out]);
        return out.add(1);
      },
      [[4, 8]],
      { config: { "inductor.replay": false } },
    );
  },
  /** 7 (patch D): compile-time autotuning in two partitions sharing the device context. */
  async autotuneTwoPartitions() {
    return await runCase(
      (x, w1, w2) => {
        const a = x.matmul(w1).relu();
        const out = ops.emptyLike(a);
        ops.call("scen::U", [a, out]);
        return out.matmul(w2);
      },
      [[8, 16], [16, 16], [16, 8]],
      { config: { "inductor.compileSizes": [1, 2] } },
    );
  },
  /** 8: the vLLM multi-graph piecewise test, ported (see multiGraphPiecewise). */
  async multiGraphPiecewise() {
    return await multiGraphPiecewise();
  },
};

const HIDDEN = 32, MLP = 64;

/** Two submodules, each linear -> rms_norm -> empty -> attention(out!) -> rms_norm -> linear,
 * the second with a residual; run at sizes 2 and 1 with replay, then replayed at size 2, and
 * compared against the reference and against a run without replay (bit-exact). */
async function multiGraphPiecewise(): Promise<ScenarioResult> {
  const split = config.has("inductor.customShouldPartitionOps")
    ? { "inductor.customShouldPartitionOps": [ATTENTION_OP] }
    : {};
  registerShouldPartitionRule(ATTENTION_OP);
  const sub = (residual: boolean): Fn => (x, w1, w2) => {
    const h = x.linear(w1).rmsNorm([MLP]);
    const q = h.reshape(1, x.shape[0], MLP);
    const out = ops.emptyLike(q);
    ops.call(ATTENTION_OP, [q, q, q, out]);
    const y = out.reshape(x.shape[0], MLP).rmsNorm([MLP]).linear(w2);
    return residual ? y.add(x) : y;
  };
  const w1 = data(MLP * HIDDEN, 11), w2 = data(HIDDEN * MLP, 12);
  const recordedBefore = counters.partitionsRecorded;
  const outs: Record<string, Float32Array> = {};
  const stats: number[][] = [];
  // one compiled graph per (submodule, size, replay): the second run at size 2 replays the
  // partitions recorded by the first (vLLM: warm-up, capture at 2 and 1, replay at 2)
  const compiled = new Map<string, CompiledGraph>();
  try {
    for (const replay of [true, false]) {
      for (const size of [2, 1, 2]) {
        let x: TypedArray = data(size * HIDDEN, size);
        for (const [gi, residual] of [[0, false], [1, true]] as const) {
          const key = `${gi}-${size}-${replay}`;
          let cg = compiled.get(key);
          if (!cg) {
            cg = compile(sub(residual), {
              inputs: [{ shape: [size, HIDDEN] }, { shape: [MLP, HIDDEN] }, {
                shape: [HIDDEN, MLP],
              }],
              config: { ...split, "inductor.replay": replay },
            });
            compiled.set(key, cg);
            if (replay) stats.push([cg.stats.partitions, cg.stats.replayablePartitions]);
          }
          const ins: Float32Array[] = [x as Float32Array, w1, w2];
          const [got] = await cg.run(ins, { poison: true });
          const [want] = interpret(cg.graph, ins);
          const err = maxErr([got], [want]);
          if (!(err < 1e-3)) throw new Error(`graph ${gi} size ${size}: max error ${err}`);
          x = got;
        }
        outs[`${replay}-${size}`] = x as Float32Array;
      }
    }
  } catch (e) {
    return { ok: false, errorName: (e as Error).name, error: (e as Error).message };
  } finally {
    for (const cg of compiled.values()) await cg.disposeAsync();
  }
  const bitExact = [1, 2].every((s) => {
    const a = outs[`true-${s}`], b = outs[`false-${s}`];
    return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
  });
  return {
    ok: true,
    bitExact,
    stats,
    recorded: counters.partitionsRecorded - recordedBefore,
  };
}

// `deno run -A test/scenarios/scenarios.ts` prints every scenario's result as one JSON object
// (the patch tests run it with patches disabled, in a subprocess).
if (import.meta.main) {
  const out: Record<string, ScenarioResult> = {};
  const only = Deno.args.length ? Deno.args : Object.keys(SCENARIOS);
  for (const name of only) out[name] = await SCENARIOS[name]();
  console.log(JSON.stringify(out));
}
