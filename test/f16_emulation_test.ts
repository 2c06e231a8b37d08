// f16 storage emulated as two halves per u32 (src/codegen/wgsl/f16_storage.ts): what adapters
// without `shader-f16` run (wgpu's GL adapter, Chromium/SwiftShader). Forced here with
// inductor.f16Storage="emulated" so it is tested on every adapter, against the float64
// reference with outputs poisoned: pointwise kernels (two elements per invocation, odd tails),
// reductions and norms (atomic half stores), both matmul templates, attention (even and odd
// head dims), exact bit conversions (every f16 value; f32 -> f16 ties, overflow, subnormals,
// NaN), arena memory planning, and custom ops' kernels.
import assert from "node:assert/strict";
import {
  ATTENTION_OP,
  compile,
  CompileError,
  type DType,
  interpret,
  ops,
  registerCustomOp,
} from "../src/mod.ts";
import { assertClose, freshSeed, type Tolerance } from "./helpers.ts";
import { randomArray, rng } from "../src/random.ts";
import type { TensorProxy } from "../src/fx/tracer.ts";
import { withoutShaderF16 } from "./gpu_fakes.ts";

const F16: Tolerance = { atol: 4e-3, rtol: 4e-3 };
const EMULATED = { "inductor.f16Storage": "emulated" };

interface Case {
  name: string;
  fn: (...xs: TensorProxy[]) => TensorProxy | TensorProxy[];
  inputs: { shape: number[]; dtype: DType }[];
  config?: Record<string, unknown>;
  tol?: Tolerance;
}

const h = (...shape: number[]) => ({ shape, dtype: "f16" as DType });
const f = (...shape: number[]) => ({ shape, dtype: "f32" as DType });

const CASES: Case[] = [
  { name: "pointwise, odd length", fn: (x) => x.mul(2).add(1).tanh(), inputs: [h(7)] },
  { name: "pointwise, one element", fn: (x) => x.neg(), inputs: [h(1)] },
  {
    name: "pointwise, f16 and f32 outputs of one kernel",
    fn: (x, y) => [x.add(y), x.cast("f32").mul(3), x.mul(y).cast("f16")],
    inputs: [h(3, 5), h(3, 5)],
  },
  { name: "broadcast f16 with f32", fn: (x, y) => x.add(y).relu(), inputs: [h(5, 1), f(1, 3)] },
  {
    name: "reductions over short rows (one invocation per row)",
    fn: (x) => [x.sum(-1), x.max(-1), x.min(0), x.argmax(-1), x.mean(-1, true)],
    inputs: [h(5, 7)],
  },
  {
    name: "reductions over long rows (a workgroup per row)",
    fn: (x) => [x.sum(-1), x.max(-1), x.argmax(-1)],
    inputs: [h(3, 301)],
  },
  { name: "softmax", fn: (x) => x.softmax(-1), inputs: [h(3, 41)] },
  {
    name: "layer norm and RMS norm with affine weights",
    fn: (x, w, b) => [x.layerNorm([37], w, b), x.rmsNorm([37], w)],
    inputs: [h(5, 37), h(37), h(37)],
  },
  {
    name: "matmul, register template, odd sizes",
    fn: (a, b) => a.matmul(b).relu(),
    inputs: [h(7, 19), h(19, 5)],
    config: { "inductor.matmulTemplate": "register" },
  },
  {
    name: "matmul, shared template, bias epilogue",
    fn: (a, b, c) => a.matmul(b).add(c),
    inputs: [h(9, 20), h(20, 11), h(11)],
    config: { "inductor.matmulTemplate": "shared" },
  },
  {
    name: "horizontal matmuls sharing A (SwiGLU)",
    fn: (x, w1, w3) => x.matmul(w1).silu().mul(x.matmul(w3)),
    inputs: [h(5, 16), h(16, 9), h(16, 9)],
  },
  {
    name: "arena memory planning",
    fn: (x) => x.exp().softmax(-1).add(1).mul(x),
    inputs: [h(3, 33)],
    config: { "inductor.memoryPlanning": true },
  },
];

async function check(c: Case, mode: "eager" | "default"): Promise<void> {
  const seed = freshSeed();
  const cg = compile(c.fn, { inputs: c.inputs, mode, config: { ...EMULATED, ...c.config } });
  try {
    const r = rng(seed);
    const ins = c.inputs.map((s) => randomArray(s.shape, s.dtype, r, -2, 2));
    const got = await cg.run(ins, { poison: true });
    const want = interpret(cg.graph, ins);
    assert.equal(cg.target.f16, "emulated");
    got.forEach((g, i) => {
      assert.equal(g.constructor, want[i].constructor, `output ${i} type`);
      assertClose(g, want[i], c.tol ?? F16, `${c.name} [${mode}] output ${i} (seed ${seed})`);
    });
    for (const k of cg.kernelSpecs()) {
      assert.doesNotMatch(k.wgsl, /enable f16|array<f16>/, `${k.name} uses native f16`);
    }
  } finally {
    await cg.disposeAsync();
  }
}

for (const mode of ["eager", "default"] as const) {
  Deno.test(`f16 emulated storage vs reference (${mode})`, async (t) => {
    for (const c of CASES) await t.step(c.name, () => check(c, mode));
  });
}

Deno.test("emulated f16 decodes every f16 bit pattern exactly", async () => {
  const bits = new Uint16Array(65536).map((_, i) => i);
  const x = new Float16Array(bits.buffer);
  const cg = compile((a) => a.cast("f32"), { inputs: [h(65536)], config: EMULATED });
  try {
    const [got] = await cg.run([x], { poison: true });
    for (let i = 0; i < 65536; i++) {
      const want = x[i];
      if (Number.isNaN(want)) assert.ok(Number.isNaN(got[i]), `0x${i.toString(16)} -> ${got[i]}`);
      else assert.ok(Object.is(got[i], want), `0x${i.toString(16)}: ${got[i]} != ${want}`);
    }
  } finally {
    await cg.disposeAsync();
  }
});

Deno.test("emulated f16 stores round f32 to nearest even, overflow to inf, NaN stays NaN", async () => {
  const max = 65504, tiny = 2 ** -24;
  const vals = [
    0,
    -0,
    1,
    -1,
    1 + 2 ** -11,
    1 + 3 * 2 ** -11,
    1 + 2 ** -11 + 2 ** -20,
    0.1,
    -2.5e-3,
    max,
    65519.99,
    65520,
    -65520,
    1e6,
    Infinity,
    -Infinity,
    NaN,
    6.1e-5,
    2 ** -14,
    2 ** -14 - tiny,
    tiny,
    tiny / 2,
    tiny * 0.50001,
    tiny * 1.5,
    tiny * 2.5,
    -tiny * 3.5,
    1e-30,
    3.4e38,
  ];
  const x = Float32Array.from(vals);
  const cg = compile((a) => a.add(0).cast("f16"), { inputs: [f(x.length)], config: EMULATED });
  try {
    const [got] = await cg.run([x], { poison: true });
    vals.forEach((v, i) => {
      const want = Math.f16round(Math.fround(v) + 0); // IEEE: -0 + 0 is +0
      if (Number.isNaN(want)) assert.ok(Number.isNaN(got[i]), `${v} -> ${got[i]}`);
      else assert.ok(Object.is(got[i], want), `${v}: got ${got[i]}, want ${want}`);
    });
  } finally {
    await cg.disposeAsync();
  }
});

for (const D of [64, 5]) {
  Deno.test(`attention with emulated f16, head dim ${D}`, async () => {
    const seed = freshSeed();
    const shape = [1, 2, 7, D];
    const cg = compile((q, k, v) => {
      const out = ops.emptyLike(q);
      ops.call(ATTENTION_OP, [q, k, v, out], { causal: true });
      return out.add(0);
    }, { inputs: [0, 1, 2].map(() => h(...shape)), config: EMULATED });
    try {
      const r = rng(seed);
      const ins = [0, 1, 2].map(() => randomArray(shape, "f16", r, -1, 1));
      const [got] = await cg.run(ins, { poison: true });
      const [want] = interpret(cg.graph, ins);
      assertClose(got, want, F16, `attention D=${D} (seed ${seed})`);
      const wgsl = cg.kernelSpecs().find((k) => k.custom)!.wgsl;
      assert.match(wgsl, D % 2 ? /atomic<u32>/ : /f32_to_f16_bits\(acc\[d \+ 1u\]/);
    } finally {
      await cg.disposeAsync();
    }
  });
}

Deno.test("a custom op kernel that only knows native f16 is a CompileError when f16 is emulated", async () => {
  registerCustomOp({
    name: "f16test::twice_native",
    args: ["x"],
    shape: ([x]) => [...(x as { shape: number[] }).shape],
    reference: ([x]) => {
      const t = x as { shape: number[]; dtype: DType; data: Float64Array };
      return { ...t, data: t.data.map((v) => 2 * v) };
    },
    wgsl: ([x]) => {
      const n = (x as { shape: number[] }).shape.reduce((a, b) => a * b, 1);
      return {
        wgsl: `enable f16;
@group(0) @binding(0) var<storage, read> a: array<f16>;
@group(0) @binding(1) var<storage, read_write> o: array<f16>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x < ${n}u) { o[g.x] = a[g.x] * 2.0h; }
}`,
        workgroups: [Math.ceil(n / 64), 1, 1],
      };
    },
  });
  const cg = compile((x) => ops.call("f16test::twice_native", [x]) as TensorProxy, {
    inputs: [h(8)],
    config: EMULATED,
  });
  try {
    await assert.rejects(() => cg.run([new Float16Array(8)]), (e: Error) => {
      assert.ok(e instanceof CompileError, String(e));
      assert.match(e.message, /f16test::twice_native/);
      assert.match(e.message, /emulated/);
      assert.match(e.message, /shader-f16/);
      return true;
    });
  } finally {
    await cg.disposeAsync();
  }
});

Deno.test("a custom op kernel given target.f16 runs on emulated f16 storage", async () => {
  registerCustomOp({
    name: "f16test::twice",
    args: ["x"],
    shape: ([x]) => [...(x as { shape: number[] }).shape],
    reference: ([x]) => {
      const t = x as { shape: number[]; dtype: DType; data: Float64Array };
      return { ...t, data: t.data.map((v) => 2 * v) };
    },
    wgsl: ([x], _kw, target) => {
      const n = (x as { shape: number[] }).shape.reduce((a, b) => a * b, 1);
      const words = Math.ceil(n / 2);
      const wgsl = target.f16 === "native"
        ? `enable f16;
@group(0) @binding(0) var<storage, read> a: array<f16>;
@group(0) @binding(1) var<storage, read_write> o: array<f16>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x < ${n}u) { o[g.x] = a[g.x] * 2.0h; }
}`
        : `@group(0) @binding(0) var<storage, read> a: array<u32>;
@group(0) @binding(1) var<storage, read_write> o: array<u32>;
${target.f16Helpers}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x >= ${words}u) { return; }
  let lo = f16_bits_to_f32(a[g.x] & 0xffffu) * 2.0;
  let hi = f16_bits_to_f32(a[g.x] >> 16u) * 2.0;
  o[g.x] = f32_to_f16_bits(lo) | (f32_to_f16_bits(hi) << 16u);
}`;
      return { wgsl, workgroups: [Math.ceil((target.f16 === "native" ? n : words) / 64), 1, 1] };
    },
  });
  const cg = compile((x) => (ops.call("f16test::twice", [x]) as TensorProxy).add(1), {
    inputs: [h(9)],
    config: EMULATED,
  });
  try {
    const x = new Float16Array(9).map((_, i) => i / 4 - 1);
    const [got] = await cg.run([x], { poison: true });
    assertClose(got, interpret(cg.graph, [x])[0], F16, "custom f16 kernel");
  } finally {
    await cg.disposeAsync();
  }
});

Deno.test("f16 storage 'native' on an adapter without shader-f16 names the buffer and the fix", async () => {
  await withoutShaderF16(async () => {
    const cg = compile((x) => x.mul(2), {
      inputs: [{ shape: [4], dtype: "f16", name: "hx" }],
      config: { "inductor.f16Storage": "native" },
    });
    try {
      await assert.rejects(() => cg.run([new Float16Array(4)]), (e: Error) => {
        assert.match(e.message, /'hx'/);
        assert.match(e.message, /shader-f16/);
        assert.match(e.message, /inductor\.f16Storage/);
        return true;
      });
    } finally {
      await cg.disposeAsync();
    }
  });
});
