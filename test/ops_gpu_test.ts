// Every op on WebGPU (lavapipe here) against the float64 reference interpreter: fresh random
// inputs each run (seed printed on failure), several shapes including broadcasting,
// non-multiple-of-4 and size-1 dims, outputs and intermediates poisoned with NaN before each run.
// Each case runs in eager mode (one kernel per op) and in the default (fusing) mode.
import { compile, type DType, interpret, ops, type TypedArray } from "../src/mod.ts";
import type { TensorProxy } from "../src/fx/tracer.ts";
import { assertClose, freshSeed, randomArray, rng, type Tolerance } from "./helpers.ts";

type Fn = (...xs: TensorProxy[]) => TensorProxy | TensorProxy[];
interface Input {
  shape: number[];
  dtype?: DType;
  lo?: number;
  hi?: number;
}
interface Case {
  name: string;
  fn: Fn;
  inputs: Input[];
  tol?: Tolerance;
}

const F32: Tolerance = { atol: 1e-5, rtol: 1e-4 };
const LOOSE: Tolerance = { atol: 1e-4, rtol: 1e-3 };
const F16: Tolerance = { atol: 2e-3, rtol: 2e-3 };
const I = (shape: number[], dtype: DType = "f32", lo?: number, hi?: number): Input => ({
  shape,
  dtype,
  lo,
  hi,
});

const UNARY = [
  "neg",
  "abs",
  "exp",
  "sin",
  "cos",
  "tanh",
  "sigmoid",
  "relu",
  "silu",
] as const;
const POSITIVE = ["log", "sqrt", "rsqrt", "reciprocal"] as const;
const BINARY = ["add", "sub", "mul", "div", "maximum", "minimum"] as const;

const cases: Case[] = [];
for (const op of UNARY) {
  for (const s of [[7], [3, 5], [2, 1, 9]]) {
    cases.push({
      name: `${op} ${JSON.stringify(s)}`,
      fn: (x) => (x as unknown as Record<string, () => TensorProxy>)[op](),
      inputs: [I(s)],
    });
  }
}
for (const op of POSITIVE) {
  for (const s of [[7], [3, 5]]) {
    cases.push({
      name: `${op} ${JSON.stringify(s)}`,
      fn: (x) => (x as unknown as Record<string, () => TensorProxy>)[op](),
      inputs: [I(s, "f32", 0.1, 3)],
      tol: LOOSE,
    });
  }
}
cases.push({ name: "gelu erf", fn: (x) => x.gelu(), inputs: [I([5, 9])], tol: LOOSE });
cases.push({ name: "gelu tanh", fn: (x) => x.gelu("tanh"), inputs: [I([5, 9])], tol: LOOSE });
cases.push({ name: "neg i32", fn: (x) => x.neg(), inputs: [I([11], "i32", -50, 50)] });
cases.push({ name: "abs i32", fn: (x) => x.abs(), inputs: [I([3, 3], "i32", -50, 50)] });
cases.push({ name: "relu i32", fn: (x) => x.relu(), inputs: [I([6], "i32", -50, 50)] });

const BCAST: [number[], number[]][] = [
  [[7], [7]],
  [[3, 5], [5]],
  [[3, 1], [1, 5]],
  [[2, 1, 6], [3, 1]],
  [[1], [4, 3]],
  [[4, 4, 4], [4, 1, 4]],
];
for (const op of BINARY) {
  for (const [a, b] of BCAST) {
    cases.push({
      name: `${op} ${JSON.stringify(a)} ${JSON.stringify(b)}`,
      fn: (x, y) => (x as unknown as Record<string, (o: TensorProxy) => TensorProxy>)[op](y),
      inputs: [I(a), I(b, "f32", op === "div" ? 0.5 : -2, op === "div" ? 2 : 2)],
    });
  }
  cases.push({
    name: `${op} scalar`,
    fn: (x) => (x as unknown as Record<string, (o: number) => TensorProxy>)[op](1.5),
    inputs: [I([3, 5])],
  });
}
cases.push({
  name: "pow",
  fn: (x, y) => x.pow(y),
  inputs: [I([3, 5], "f32", 0.1, 2), I([5], "f32", -2, 2)],
  tol: LOOSE,
});
cases.push({
  name: "pow scalar int exponent, negative base",
  fn: (x) => x.pow(3),
  inputs: [I([9])],
  tol: LOOSE,
});
for (const op of ["eq", "lt", "gt"] as const) {
  cases.push({
    name: `${op} broadcast`,
    fn: (x, y) => (x as unknown as Record<string, (o: TensorProxy) => TensorProxy>)[op](y),
    inputs: [I([3, 5], "i32", -2, 2), I([5], "i32", -2, 2)],
  });
  cases.push({
    name: `${op} f32 scalar`,
    fn: (x) => (x as unknown as Record<string, (o: number) => TensorProxy>)[op](0.25),
    inputs: [I([2, 7])],
  });
}
cases.push({
  name: "add i32 + u32 ints",
  fn: (x, y) => x.add(y).mul(3),
  inputs: [I([4, 3], "i32", -9, 9), I([3], "i32", -9, 9)],
});
cases.push({
  name: "where",
  fn: (c, a, b) => ops.where(c, a, b),
  inputs: [I([3, 1], "bool"), I([3, 5]), I([5])],
});
cases.push({ name: "where scalar", fn: (a) => ops.where(a.gt(0), a, 0.5), inputs: [I([13])] });
cases.push({ name: "cast f32->i32", fn: (x) => x.cast("i32"), inputs: [I([9], "f32", -20, 20)] });
cases.push({
  name: "cast i32->f32",
  fn: (x) => x.cast("f32").mul(0.5),
  inputs: [I([9], "i32", -20, 20)],
});
cases.push({ name: "cast f32->bool", fn: (x) => x.relu().cast("bool"), inputs: [I([9])] });
cases.push({ name: "cast bool->f32", fn: (x) => x.cast("f32"), inputs: [I([9], "bool")] });
cases.push({ name: "cast f32->f16", fn: (x) => x.cast("f16"), inputs: [I([3, 7])], tol: F16 });
cases.push({
  name: "f16 math",
  fn: (x, y) => x.mul(y).add(1).exp(),
  inputs: [I([2, 9], "f16", -1, 1), I([9], "f16", -1, 1)],
  tol: F16,
});
cases.push({
  name: "u32 add",
  fn: (x, y) => x.add(y),
  inputs: [I([5], "u32", 0, 1000), I([5], "u32", 0, 1000)],
});

for (const red of ["sum", "mean", "max", "min"] as const) {
  const dims: [number[], number | number[] | null, boolean][] = [
    [[7], -1, false],
    [[3, 5], 1, false],
    [[3, 5], 0, true],
    [[2, 3, 4], [0, 2], false],
    [[2, 3, 4], null, false],
    [[4, 100], -1, true],
    [[3, 1, 300], [1, 2], false],
    [[1, 1], -1, false],
  ];
  for (const [s, d, k] of dims) {
    cases.push({
      name: `${red} ${JSON.stringify(s)} dim=${JSON.stringify(d)} keepdim=${k}`,
      fn: (x) =>
        (x as unknown as Record<string, (d: unknown, k: boolean) => TensorProxy>)[red](d, k),
      inputs: [I(s)],
      tol: LOOSE,
    });
  }
}
cases.push({ name: "sum i32", fn: (x) => x.sum(-1), inputs: [I([3, 40], "i32", -9, 9)] });
cases.push({
  name: "max i32 big rows",
  fn: (x) => x.max(-1),
  inputs: [I([2, 700], "i32", -999, 999)],
});
cases.push({ name: "argmax last", fn: (x) => x.argmax(-1), inputs: [I([5, 9])] });
cases.push({ name: "argmax dim0 keepdim", fn: (x) => x.argmax(0, true), inputs: [I([6, 3])] });
cases.push({ name: "argmax all", fn: (x) => x.argmax(), inputs: [I([4, 50])] });
cases.push({ name: "argmax long rows", fn: (x) => x.argmax(-1), inputs: [I([3, 1000])] });

for (const s of [[7], [3, 5], [2, 3, 65], [4, 300]]) {
  cases.push({
    name: `softmax ${JSON.stringify(s)}`,
    fn: (x) => x.softmax(-1),
    inputs: [I(s, "f32", -4, 4)],
    tol: LOOSE,
  });
  cases.push({
    name: `log_softmax ${JSON.stringify(s)}`,
    fn: (x) => x.logSoftmax(-1),
    inputs: [I(s, "f32", -4, 4)],
    tol: LOOSE,
  });
}
cases.push({ name: "softmax dim 0", fn: (x) => x.softmax(0), inputs: [I([5, 3])], tol: LOOSE });
cases.push({
  name: "softmax f16",
  fn: (x) => x.softmax(-1),
  inputs: [I([3, 40], "f16")],
  tol: F16,
});
for (const s of [[3, 8], [2, 3, 33], [4, 260]]) {
  const d = s[s.length - 1];
  cases.push({
    name: `layer_norm ${JSON.stringify(s)}`,
    fn: (x, w, b) => x.layerNorm([d], w, b),
    inputs: [I(s), I([d]), I([d])],
    tol: LOOSE,
  });
  cases.push({
    name: `layer_norm no affine ${JSON.stringify(s)}`,
    fn: (x) => x.layerNorm([d]),
    inputs: [I(s)],
    tol: LOOSE,
  });
  cases.push({
    name: `rms_norm ${JSON.stringify(s)}`,
    fn: (x, w) => x.rmsNorm([d], w),
    inputs: [I(s), I([d])],
    tol: LOOSE,
  });
}
cases.push({
  name: "layer_norm two dims",
  fn: (x) => x.layerNorm([3, 4]),
  inputs: [I([2, 3, 4])],
  tol: LOOSE,
});

const MM: [number[], number[]][] = [
  [[5, 7], [7, 3]],
  [[1, 9], [9, 13]],
  [[33, 17], [17, 65]],
  [[70, 70], [70, 70]],
  [[9], [9, 4]],
  [[4, 9], [9]],
  [[2, 3, 5], [5, 6]],
  [[2, 1, 3, 5], [4, 5, 2]],
];
for (const [a, b] of MM) {
  cases.push({
    name: `matmul ${JSON.stringify(a)} @ ${JSON.stringify(b)}`,
    fn: (x, y) => x.matmul(y),
    inputs: [I(a), I(b)],
    tol: LOOSE,
  });
}
// matrix-vector: lowered as a row reduction
cases.push({
  name: "matvec [70,300]@[300]",
  fn: (w, x) => w.matmul(x),
  inputs: [I([70, 300], "f32", -1, 1), I([300], "f32", -1, 1)],
  tol: { atol: 1e-4, rtol: 1e-3 },
});
cases.push({
  name: "linear to one feature with bias",
  fn: (x, w, b) => x.linear(w, b),
  inputs: [I([2, 5, 100], "f32", -1, 1), I([1, 100], "f32", -1, 1), I([1])],
  tol: { atol: 1e-4, rtol: 1e-3 },
});
// split-K (small output, long reduction): partial products plus a sum reduction
cases.push({
  name: "matmul split-K [1,4096]@[4096,4]",
  fn: (x, y) => x.matmul(y),
  inputs: [I([1, 4096], "f32", -1, 1), I([4096, 4], "f32", -1, 1)],
  tol: { atol: 1e-4, rtol: 1e-3 },
});
cases.push({
  name: "linear split-K with bias and relu",
  fn: (x, w, b) => x.linear(w, b).relu(),
  inputs: [I([2, 2048], "f32", -1, 1), I([3, 2048], "f32", -1, 1), I([3])],
  tol: { atol: 1e-4, rtol: 1e-3 },
});
cases.push({
  name: "bmm",
  fn: (x, y) => x.bmm(y),
  inputs: [I([3, 5, 7]), I([3, 7, 2])],
  tol: LOOSE,
});
cases.push({
  name: "linear bias",
  fn: (x, w, b) => x.linear(w, b),
  inputs: [I([2, 3, 10]), I([6, 10]), I([6])],
  tol: LOOSE,
});
cases.push({
  name: "linear no bias",
  fn: (x, w) => x.linear(w),
  inputs: [I([5, 10]), I([3, 10])],
  tol: LOOSE,
});
cases.push({
  name: "matmul transposed view",
  fn: (x, y) => x.transpose(0, 1).matmul(y.t()),
  inputs: [I([7, 5]), I([3, 7])],
  tol: LOOSE,
});
cases.push({
  name: "matmul f16",
  fn: (x, y) => x.matmul(y),
  inputs: [I([6, 20], "f16", -1, 1), I([20, 5], "f16", -1, 1)],
  tol: { atol: 1e-2, rtol: 1e-2 },
});

cases.push({ name: "reshape", fn: (x) => x.reshape(5, 3).add(1), inputs: [I([3, 5])] });
cases.push({ name: "reshape -1", fn: (x) => x.reshape([-1]).mul(2), inputs: [I([2, 3, 4])] });
cases.push({ name: "permute", fn: (x) => x.permute(2, 0, 1).add(0), inputs: [I([2, 3, 4])] });
cases.push({ name: "transpose output", fn: (x) => x.transpose(0, 1), inputs: [I([3, 5])] });
cases.push({ name: "expand", fn: (x) => x.expand(4, 3, 5).mul(1), inputs: [I([3, 1])] });
cases.push({ name: "slice", fn: (x) => x.slice(1, 1, 9, 3).add(1), inputs: [I([3, 10])] });
cases.push({ name: "slice negative start", fn: (x) => x.slice(0, -2), inputs: [I([5, 2])] });
cases.push({
  name: "squeeze/unsqueeze",
  fn: (x) => x.squeeze(1).unsqueeze(0).add(1),
  inputs: [I([3, 1, 4])],
});
cases.push({
  name: "view chain",
  fn: (x) => x.reshape(4, 6).transpose(0, 1).reshape(3, 8).sum(0),
  inputs: [I([2, 3, 4])],
  tol: LOOSE,
});
cases.push({ name: "cat dim 0", fn: (x, y) => ops.cat([x, y], 0), inputs: [I([2, 3]), I([4, 3])] });
cases.push({
  name: "cat dim -1 three",
  fn: (x, y, z) => ops.cat([x, y, z], -1).mul(2),
  inputs: [I([2, 3]), I([2, 1]), I([2, 5])],
});
cases.push({
  name: "embedding",
  fn: (w, i) => ops.embedding(w, i),
  inputs: [I([10, 6]), I([3, 4], "i32", 0, 10)],
});
cases.push({
  name: "embedding u32 + scale",
  fn: (w, i) => ops.embedding(w, i).mul(2),
  inputs: [I([7, 5]), I([9], "u32", 0, 7)],
});
cases.push({ name: "full", fn: (x) => x.add(ops.full([3, 4], 2.5)), inputs: [I([3, 4])] });
cases.push({
  name: "empty_like + copy_",
  fn: (x) => ops.emptyLike(x).copy_(x.mul(3)),
  inputs: [I([3, 4])],
});
cases.push({
  name: "copy_ broadcast into input",
  fn: (x, y) => {
    x.copy_(y);
    return x.add(1);
  },
  inputs: [I([3, 4]), I([4])],
});
cases.push({
  name: "copy_ cast",
  fn: (_x, y) => ops.empty([3, 4], "i32").copy_(y),
  inputs: [I([3, 4]), I([3, 4], "f32", -9, 9)],
});
cases.push({
  name: "two outputs sharing work",
  fn: (x) => {
    const y = x.exp();
    return [y.sum(-1), y.mul(2)];
  },
  inputs: [I([4, 9])],
  tol: LOOSE,
});
cases.push({
  name: "same output twice",
  fn: (x) => {
    const y = x.add(1);
    return [y, y];
  },
  inputs: [I([5])],
});
cases.push({ name: "input returned", fn: (x) => [x, x.neg()], inputs: [I([5])] });
cases.push({
  name: "large 1-D (grid folding)",
  fn: (x) => x.mul(2).add(1),
  inputs: [I([70000 * 256 / 64])],
});

function inputsFor(c: Case, seed: number): TypedArray[] {
  const r = rng(seed);
  return c.inputs.map((s) => randomArray(s.shape, s.dtype ?? "f32", r, s.lo ?? -2, s.hi ?? 2));
}

for (const mode of ["eager", "default"] as const) {
  Deno.test(`ops on WebGPU vs reference (${mode})`, async (t) => {
    for (const c of cases) {
      await t.step(c.name, async () => {
        const seed = freshSeed();
        const cg = compile(c.fn, {
          inputs: c.inputs.map((s) => ({ shape: s.shape, dtype: s.dtype ?? "f32" })),
          mode,
        });
        try {
          const inputs = inputsFor(c, seed);
          const expected = interpret(cg.graph, inputsFor(c, seed));
          const got = await cg.run(inputs, { poison: true });
          if (got.length !== expected.length) {
            throw new Error(`${got.length} outputs, expected ${expected.length}`);
          }
          got.forEach((g, i) => {
            if (g.constructor !== expected[i].constructor) {
              throw new Error(
                `output ${i} is ${g.constructor.name}, expected ${expected[i].constructor.name}`,
              );
            }
            assertClose(
              g,
              expected[i],
              c.tol ?? F32,
              `${c.name} [${mode}] output ${i} (seed ${seed})`,
            );
          });
        } finally {
          await cg.disposeAsync();
        }
      });
    }
  });
}
