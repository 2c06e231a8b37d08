// Every built-in op through trace + the reference interpreter, against expectations computed
// independently in the test (index math written out, known constants, invariants).
import assert from "node:assert/strict";
import { contiguousStrides, type DType, numel, type TypedArray } from "../src/dtype.ts";
import { type InputSpec, ops, trace, type TraceFn } from "../src/fx/tracer.ts";
import { interpret } from "../src/reference/interpreter.ts";
import { assertClose, randomArray, rng } from "./helpers.ts";

const F32 = { atol: 1e-6, rtol: 1e-5 };

function runTyped(fn: TraceFn, specs: InputSpec[], inputs: TypedArray[]): TypedArray[] {
  return interpret(trace(fn, specs), inputs);
}

/** Outputs as plain number arrays (TypedArray unions have uncallable methods). */
function run(fn: TraceFn, specs: InputSpec[], inputs: TypedArray[]): number[][] {
  return runTyped(fn, specs, inputs).map((a) => Array.from(a as ArrayLike<number>));
}

/** Multi-index of flat position i in a contiguous shape. */
function unravel(i: number, shape: number[]): number[] {
  const st = contiguousStrides(shape);
  return shape.map((s, d) => Math.floor(i / st[d]) % s);
}

/** Flat position in `shape` of an index broadcast from a bigger shape (right-aligned). */
function bcastIndex(idx: number[], shape: number[]): number {
  const k = idx.length - shape.length;
  const st = contiguousStrides(shape);
  return shape.reduce((acc, s, d) => acc + (s === 1 ? 0 : idx[d + k] * st[d]), 0);
}

Deno.test("unary float ops match Math on a non-multiple-of-4 shape", () => {
  const r = rng(1);
  const x = randomArray([3, 5], "f32", r, 0.1, 3);
  const cases: [string, (v: number) => number][] = [
    ["neg", (v) => -v],
    ["abs", Math.abs],
    ["exp", Math.exp],
    ["log", Math.log],
    ["sqrt", Math.sqrt],
    ["rsqrt", (v) => 1 / Math.sqrt(v)],
    ["sin", Math.sin],
    ["cos", Math.cos],
    ["tanh", Math.tanh],
    ["sigmoid", (v) => 1 / (1 + Math.exp(-v))],
    ["relu", (v) => (v > 0 ? v : 0)],
    ["silu", (v) => v / (1 + Math.exp(-v))],
    ["reciprocal", (v) => 1 / v],
  ];
  for (const [name, f] of cases) {
    const [y] = run((a) => ops.call(name, [a])!, [{ shape: [3, 5] }], [x]);
    assertClose(y, Array.from(x, f), F32, name);
  }
});

Deno.test("neg/abs/relu on i32, with wrapping at the i32 minimum", () => {
  const x = new Int32Array([-3, 0, 5, -2147483648]);
  const [n, a, rl] = run((v) => [v.neg(), v.abs(), v.relu()], [{ shape: [4], dtype: "i32" }], [x]);
  assert.deepEqual([...n], [3, 0, -5, -2147483648]);
  assert.deepEqual([...a], [3, 0, 5, -2147483648]);
  assert.deepEqual([...rl], [0, 0, 5, 0]);
});

Deno.test("gelu matches known values (erf and tanh forms)", () => {
  const x = new Float32Array([1, -1, 0.5, 0, 3]);
  const [e, t] = run((v) => [v.gelu(), v.gelu("tanh")], [{ shape: [5] }], [x]);
  assertClose(e, [0.8413447460685429, -0.15865525393145707, 0.34573123063700656, 0, 2.99595031], {
    atol: 1e-6,
    rtol: 1e-6,
  }, "gelu");
  assertClose(t.slice(0, 2), [0.8411919906082768, -0.15880800939172324], {
    atol: 1e-6,
    rtol: 0,
  }, "gelu tanh");
});

Deno.test("binary ops broadcast [2,1,3] with [4,1] like numpy", () => {
  const r = rng(2);
  const a = randomArray([2, 1, 3], "f32", r, 0.5, 2);
  const b = randomArray([4, 1], "f32", r, 0.5, 2);
  const out = [2, 4, 3];
  const fns: [string, (x: number, y: number) => number][] = [
    ["add", (x, y) => x + y],
    ["sub", (x, y) => x - y],
    ["mul", (x, y) => x * y],
    ["div", (x, y) => x / y],
    ["pow", Math.pow],
    ["maximum", Math.max],
    ["minimum", Math.min],
  ];
  for (const [name, f] of fns) {
    const [y] = run((p, q) => ops.call(name, [p, q])!, [{ shape: [2, 1, 3] }, { shape: [4, 1] }], [
      a,
      b,
    ]);
    const want = Array.from({ length: numel(out) }, (_, i) => {
      const idx = unravel(i, out);
      return f(a[bcastIndex(idx, [2, 1, 3])], b[bcastIndex(idx, [4, 1])]);
    });
    assertClose(y, want, F32, name);
  }
});

Deno.test("number literals on either side adopt the tensor's dtype", () => {
  const x = new Float32Array([1, 2, 4]);
  const [a, b, c] = run((v) => [ops.sub(2, v), v.div(2), v.mul(0.5).add(1)], [{ shape: [3] }], [
    x,
  ]);
  assert.deepEqual([...a], [1, 0, -2]);
  assert.deepEqual([...b], [0.5, 1, 2]);
  assert.deepEqual([...c], [1.5, 2, 3]);
  const g = trace((v) => v.add(0.5), [{ shape: [2], dtype: "i32" }]);
  assert.equal(g.outputs()[0].meta!.dtype, "i32");
  assert.deepEqual([...interpret(g, [new Int32Array([1, -1])])[0]], [1, -1]);
});

Deno.test("integer division truncates toward zero; by zero gives the dividend", () => {
  const a = new Int32Array([7, -7, 7, -7, 5, -2147483648]);
  const b = new Int32Array([2, 2, -2, -2, 0, -1]);
  const [q] = run(
    (x, y) => x.div(y),
    [{ shape: [6], dtype: "i32" }, { shape: [6], dtype: "i32" }],
    [
      a,
      b,
    ],
  );
  assert.deepEqual([...q], [3, -3, -3, 3, 5, -2147483648]);
});

Deno.test("integer arithmetic wraps modulo 2^32", () => {
  const a = new Int32Array([65536, 46341, 2147483647]);
  const [m, s] = run((x) => [x.mul(x), x.add(1)], [{ shape: [3], dtype: "i32" }], [a]);
  assert.deepEqual([...m], [0, Math.imul(46341, 46341), 1]);
  assert.deepEqual([...s], [65537, 46342, -2147483648]);
  const [u] = run((x) => x.sub(2), [{ shape: [2], dtype: "u32" }], [new Uint32Array([1, 5])]);
  assert.deepEqual([...u], [4294967295, 3]);
});

Deno.test("maximum/minimum propagate NaN; comparisons give bool", () => {
  const a = new Float32Array([1, NaN, 3, 2]);
  const b = new Float32Array([2, 0, NaN, 2]);
  const [mx, mn, eq, lt, gt] = runTyped(
    (x, y) => [x.maximum(y), x.minimum(y), x.eq(y), x.lt(y), x.gt(y)],
    [{ shape: [4] }, { shape: [4] }],
    [a, b],
  );
  assert.deepEqual([...mx], [2, NaN, NaN, 2]);
  assert.deepEqual([...mn], [1, NaN, NaN, 2]);
  assert.ok(eq instanceof Uint8Array);
  assert.deepEqual([...eq], [0, 0, 0, 1]);
  assert.deepEqual([...lt], [1, 0, 0, 0]);
  assert.deepEqual([...gt], [0, 0, 0, 0]);
});

Deno.test("promotion: i32 + f32 is f32, f16 + f32 is f32, bool + i32 is i32", () => {
  const g = trace((a, b, c, d) => [a.add(b), c.add(b), d.add(a)], [
    { shape: [2], dtype: "i32" },
    { shape: [2] },
    { shape: [2], dtype: "f16" },
    { shape: [2], dtype: "bool" },
  ]);
  assert.deepEqual(g.outputs().map((o) => o.meta!.dtype), ["f32", "f32", "i32"]);
});

Deno.test("where broadcasts cond, tensors and literals", () => {
  const c = new Uint8Array([1, 0, 1]);
  const x = new Float32Array([10, 20]);
  const [y, z] = run(
    (cond, v) => [ops.where(cond.unsqueeze(1), v, -1), ops.where(cond, 1, 0)],
    [{ shape: [3], dtype: "bool" }, { shape: [2] }],
    [c, x],
  );
  assert.deepEqual([...y], [10, 20, -1, -1, 10, 20]);
  assert.deepEqual([...z], [1, 0, 1]);
});

Deno.test("cast truncates to ints, tests != 0 for bool, rounds to f16", () => {
  const x = new Float32Array([1.7, -1.7, 0, 0.1, 65519, 1 / 3]);
  const [i, b, h] = runTyped((v) => [v.cast("i32"), v.to("bool"), v.half()], [{ shape: [6] }], [x]);
  assert.deepEqual([...i], [1, -1, 0, 0, 65519, 0]);
  assert.deepEqual([...b], [1, 1, 0, 1, 1, 1]);
  assert.ok(h instanceof Float16Array);
  assert.deepEqual([...h], Array.from(x, (v) => Math.f16round(v)));
});

Deno.test("sum/mean/max/min over dims, negative dims, lists, keepdim and all", () => {
  const shape = [2, 3, 5];
  const x = randomArray(shape, "f32", rng(3));
  const at = (i: number, j: number, k: number) => x[i * 15 + j * 5 + k];
  const [s1, s02, m, mx, mn, all, kd] = run(
    (v) => [
      v.sum(-1),
      v.sum([0, 2]),
      v.mean(1, true),
      v.max(0),
      v.min(-2),
      v.sum(),
      v.max([1, -1], true),
    ],
    [{ shape }],
    [x],
  );
  const loop = (n: number, f: (t: number) => number) => Array.from({ length: n }, (_, t) => f(t));
  const sumOver = (n: number, f: (t: number) => number) => loop(n, f).reduce((a, b) => a + b, 0);
  assertClose(
    s1,
    loop(6, (r) => sumOver(5, (k) => at(Math.floor(r / 3), r % 3, k))),
    F32,
    "sum -1",
  );
  assertClose(
    s02,
    loop(3, (j) => sumOver(10, (t) => at(t % 2, j, Math.floor(t / 2)))),
    F32,
    "sum 0,2",
  );
  assertClose(
    m,
    loop(10, (t) => sumOver(3, (j) => at(Math.floor(t / 5), j, t % 5)) / 3),
    F32,
    "mean",
  );
  assertClose(
    mx,
    loop(15, (t) => Math.max(at(0, Math.floor(t / 5), t % 5), at(1, Math.floor(t / 5), t % 5))),
    F32,
    "max",
  );
  assertClose(
    mn,
    loop(10, (t) => Math.min(...loop(3, (j) => at(Math.floor(t / 5), j, t % 5)))),
    F32,
    "min",
  );
  assertClose(all, [sumOver(30, (t) => x[t])], { atol: 1e-5, rtol: 1e-5 }, "sum all");
  assertClose(kd, [Math.max(...x.slice(0, 15)), Math.max(...x.slice(15))], F32, "max keepdim");
  const g = trace((v) => [v.mean(1, true), v.sum([1, -1], true), v.sum()], [{ shape }]);
  assert.deepEqual(g.outputs().map((o) => o.meta!.shape), [[2, 1, 5], [2, 1, 1], []]);
});

Deno.test("argmax picks the first maximum; sum of bool is i32", () => {
  const x = new Float32Array([1, 3, 3, 0, 5, 5, 2, -1]);
  const [a, all, kd] = runTyped((v) => [v.argmax(-1), v.argmax(), v.argmax(0, true)], [{
    shape: [2, 4],
  }], [x]);
  assert.ok(a instanceof Int32Array);
  assert.deepEqual([...a], [1, 0]);
  assert.deepEqual([...all], [4]);
  assert.deepEqual([...kd], [1, 1, 0, 0]);
  const [s] = runTyped((b) => b.sum(), [{ shape: [5], dtype: "bool" }], [
    new Uint8Array([1, 0, 1, 1, 0]),
  ]);
  assert.ok(s instanceof Int32Array);
  assert.deepEqual([...s], [3]);
});

Deno.test("softmax rows sum to 1 along any dim; log_softmax is its log", () => {
  const shape = [3, 4, 5];
  const x = randomArray(shape, "f32", rng(4), -5, 5);
  for (const dim of [0, 1, -1]) {
    const [s, ls] = run((v) => [v.softmax(dim), v.logSoftmax(dim)], [{ shape }], [x]);
    const d = dim < 0 ? dim + 3 : dim;
    const sums = new Float64Array(60 / shape[d]);
    for (let i = 0; i < 60; i++) {
      const idx = unravel(i, shape);
      idx.splice(d, 1);
      sums[bcastIndex(idx, shape.filter((_, k) => k !== d))] += s[i];
    }
    assertClose(sums, new Array(sums.length).fill(1), { atol: 1e-5, rtol: 0 }, `softmax ${dim}`);
    assertClose(ls, Array.from(s, Math.log), { atol: 1e-5, rtol: 1e-5 }, `log_softmax ${dim}`);
  }
});

Deno.test("layer_norm gives mean 0 / var 1 rows, then the affine map; rms_norm unit rms", () => {
  const shape = [3, 2, 6];
  const r = rng(5);
  const x = randomArray(shape, "f32", r, -3, 3);
  const w = randomArray([2, 6], "f32", r);
  const b = randomArray([2, 6], "f32", r);
  const [n, a, rms, rmsw] = run(
    (v, wt, bs) => [
      v.layerNorm([2, 6]),
      v.layerNorm([2, 6], wt, bs, 1e-5),
      v.rmsNorm(6),
      v.rmsNorm([2, 6], wt),
    ],
    [{ shape }, { shape: [2, 6] }, { shape: [2, 6] }],
    [x, w, b],
  );
  for (let row = 0; row < 3; row++) {
    const seg = n.slice(row * 12, row * 12 + 12);
    const mean = seg.reduce((p, q) => p + q, 0) / 12;
    const v = seg.reduce((p, q) => p + (q - mean) ** 2, 0) / 12;
    assertClose([mean, v], [0, 1], { atol: 1e-4, rtol: 0 }, `layer_norm row ${row}`);
  }
  assertClose(
    a,
    Array.from(n, (v, i) => v * w[i % 12] + b[i % 12]),
    { atol: 1e-5, rtol: 1e-5 },
    "affine",
  );
  for (let row = 0; row < 6; row++) {
    const seg = rms.slice(row * 6, row * 6 + 6);
    assertClose([seg.reduce((p, q) => p + q * q, 0) / 6], [1], { atol: 1e-4, rtol: 0 }, "rms");
  }
  for (let row = 0; row < 3; row++) {
    const seg = Array.from(x as ArrayLike<number>).slice(row * 12, row * 12 + 12);
    const inv = 1 / Math.sqrt(seg.reduce((p, q) => p + q * q, 0) / 12 + 1e-6);
    assertClose(
      rmsw.slice(row * 12, row * 12 + 12),
      Array.from(seg, (v, i) => v * inv * w[i]),
      F32,
      "rms w",
    );
  }
});

/** Naive batched matmul on explicit shapes [...batch, M, K] @ [...batch, K, N]. */
function naiveMatmul(a: ArrayLike<number>, as: number[], b: ArrayLike<number>, bs: number[]) {
  const [m, k] = as.slice(-2);
  const n = bs[bs.length - 1];
  const batch = as.slice(0, -2).map((s, i) => Math.max(s, bs[i]));
  const out: number[] = [];
  for (let z = 0; z < numel(batch); z++) {
    const bi = unravel(z, batch);
    const ao = bcastIndex(bi, as.slice(0, -2)) * m * k;
    const bo = bcastIndex(bi, bs.slice(0, -2)) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += a[ao + i * k + p] * b[bo + p * n + j];
        out.push(acc);
      }
    }
  }
  return out;
}

Deno.test("matmul: 2-D, 1-D promotion, batch broadcasting", () => {
  const r = rng(6);
  const cases: [number[], number[], number[], number[], number[]][] = [
    // a shape, b shape, a as batched, b as batched, out shape
    [[3, 5], [5, 7], [3, 5], [5, 7], [3, 7]],
    [[5], [5, 7], [1, 5], [5, 7], [7]],
    [[3, 5], [5], [3, 5], [5, 1], [3]],
    [[5], [5], [1, 5], [5, 1], []],
    [[2, 1, 3, 5], [4, 5, 2], [2, 1, 3, 5], [1, 4, 5, 2], [2, 4, 3, 2]],
  ];
  for (const [sa, sb, ba, bb, so] of cases) {
    const a = randomArray(sa, "f32", r), b = randomArray(sb, "f32", r);
    const g = trace((x, y) => x.matmul(y), [{ shape: sa }, { shape: sb }]);
    assert.deepEqual(g.outputs()[0].meta!.shape, so);
    assertClose(interpret(g, [a, b])[0], naiveMatmul(a, ba, b, bb), F32, `matmul ${sa}@${sb}`);
  }
});

Deno.test("bmm and linear (with and without bias, 3-D input)", () => {
  const r = rng(7);
  const a = randomArray([2, 3, 5], "f32", r), b = randomArray([2, 5, 3], "f32", r);
  const [c] = run((x, y) => x.bmm(y), [{ shape: [2, 3, 5] }, { shape: [2, 5, 3] }], [a, b]);
  assertClose(c, naiveMatmul(a, [2, 3, 5], b, [2, 5, 3]), F32, "bmm");
  const x = randomArray([2, 3, 5], "f32", r), w = randomArray([7, 5], "f32", r);
  const bias = randomArray([7], "f32", r);
  const [y1, y2] = run(
    (v, wt, bs) => [v.linear(wt, bs), ops.linear(v, wt)],
    [{ shape: [2, 3, 5] }, { shape: [7, 5] }, { shape: [7] }],
    [x, w, bias],
  );
  const wT = Array.from({ length: 35 }, (_, i) => w[(i % 7) * 5 + Math.floor(i / 7)]);
  const ref = naiveMatmul(x, [6, 5], wT, [5, 7]);
  assertClose(y2, ref, F32, "linear");
  assertClose(y1, ref.map((v, i) => v + bias[i % 7]), F32, "linear+bias");
});

Deno.test("views: reshape, permute, transpose, expand, slice, squeeze, unsqueeze", () => {
  const shape = [2, 3, 4];
  const x = Float32Array.from({ length: 24 }, (_, i) => i);
  const at = (i: number, j: number, k: number) => i * 12 + j * 4 + k;
  const outs = run(
    (v) => [
      v.reshape(4, -1),
      v.permute(2, 0, 1),
      v.transpose(0, -1),
      v.slice(2, 1, 100, 2),
      v.slice(1, -2),
      v.slice(0, 5, 9),
      v.unsqueeze(1).expand(2, 5, 3, 4),
      v.slice(1, 0, 1).squeeze(),
      v.unsqueeze(-1).squeeze(-1),
      v.view([24]),
    ],
    [{ shape }],
    [x],
  );
  const perm = (dims: number[], f: (ix: number[]) => number) => {
    const n = numel(dims);
    return Array.from({ length: n }, (_, t) => f(unravel(t, dims)));
  };
  assert.deepEqual([...outs[0]], [...x]);
  assert.deepEqual([...outs[1]], perm([4, 2, 3], ([k, i, j]) => at(i, j, k)));
  assert.deepEqual([...outs[2]], perm([4, 3, 2], ([k, j, i]) => at(i, j, k)));
  assert.deepEqual([...outs[3]], perm([2, 3, 2], ([i, j, k]) => at(i, j, 1 + 2 * k)));
  assert.deepEqual([...outs[4]], perm([2, 2, 4], ([i, j, k]) => at(i, j + 1, k)));
  assert.equal(outs[5].length, 0);
  assert.deepEqual([...outs[6]], perm([2, 5, 3, 4], ([i, _, j, k]) => at(i, j, k)));
  assert.deepEqual([...outs[7]], perm([2, 4], ([i, k]) => at(i, 0, k)));
  assert.deepEqual([...outs[8]], [...x]);
  assert.deepEqual([...outs[9]], [...x]);
  const g = trace((v) => [v.squeeze(0), v.squeeze(), v.squeeze(2).t()], [{ shape: [1, 3, 1] }]);
  assert.deepEqual(g.outputs().map((o) => o.meta!.shape), [[3, 1], [3], [3, 1]]);
});

Deno.test("cat along a middle dim with unequal sizes; embedding with i32 and u32 indices", () => {
  const a = Float32Array.from({ length: 4 }, (_, i) => i);
  const b = Float32Array.from({ length: 6 }, (_, i) => 10 + i);
  const c = Float32Array.from({ length: 2 }, (_, i) => 20 + i);
  const [y] = run(
    (p, q, s) => ops.cat([p, q, s], 1),
    [{ shape: [2, 2] }, { shape: [2, 3] }, { shape: [2, 1] }],
    [a, b, c],
  );
  assert.deepEqual([...y], [0, 1, 10, 11, 12, 20, 2, 3, 13, 14, 15, 21]);
  const w = Float32Array.from({ length: 15 }, (_, i) => i);
  for (const dt of ["i32", "u32"] as DType[]) {
    const idx = dt === "i32"
      ? new Int32Array([4, 0, 2, 2, 1, 3])
      : new Uint32Array([4, 0, 2, 2, 1, 3]);
    const g = trace((wt, ix) => ops.embedding(wt, ix), [{ shape: [5, 3] }, {
      shape: [2, 3],
      dtype: dt,
    }]);
    assert.deepEqual(g.outputs()[0].meta!.shape, [2, 3, 3]);
    const e = Array.from(interpret(g, [w, idx])[0] as ArrayLike<number>);
    assert.deepEqual(
      e,
      Array.from(idx as ArrayLike<number>).flatMap((r) => [3 * r, 3 * r + 1, 3 * r + 2]),
    );
  }
});

Deno.test("full, empty, empty_like and copy_ with broadcast and cast", () => {
  const [f, e, el, bl] = runTyped(
    (
      v,
    ) => [
      ops.full([2, 3], 1.5),
      ops.empty([4], "i32"),
      ops.emptyLike(v, "f16"),
      ops.full([2], true, "bool"),
    ],
    [{ shape: [3] }],
    [new Float32Array(3)],
  );
  assert.deepEqual([...f], [1.5, 1.5, 1.5, 1.5, 1.5, 1.5]);
  assert.ok(e instanceof Int32Array && e.length === 4);
  assert.ok(el instanceof Float16Array && el.length === 3);
  assert.deepEqual([...bl], [1, 1]);
  const [c] = run(
    (src) => ops.full([2, 3], 0, "i32").copy_(src),
    [{ shape: [3] }],
    [new Float32Array([1.9, -2.5, 3])],
  );
  assert.deepEqual([...c], [1, -2, 3, 1, -2, 3]);
});
