// Device tensors: made once, bound by runs as they are, returned by runs without a wait, bound
// as params at compile, mutated in place by graphs that write their inputs (PyTorch's semantics).
import assert from "node:assert/strict";
import {
  compile,
  DeviceError,
  empty,
  InputError,
  interpret,
  liveBuffers,
  ops,
  Tensor,
  tensor,
  type TypedArray,
  zeros,
} from "../src/mod.ts";
import { getDevice } from "../src/runtime/device.ts";
import type { TensorProxy } from "../src/fx/tracer.ts";
import { assertClose, freshSeed, LOOSE, randomArray, rng } from "./helpers.ts";

const EXACT = { atol: 0, rtol: 0 };
type P = TensorProxy;

/** n random f32 values; with `special`, NaN, ±inf, -0 and huge/tiny values mixed in. */
function rand(r: () => number, n: number, opts: { special?: boolean } = {}): Float32Array {
  const a = randomArray([n], "f32", r) as Float32Array;
  if (opts.special) {
    const sp = [NaN, Infinity, -Infinity, -0, 3e38, 1e-40];
    for (let i = 0; i < n; i += 3) a[i] = sp[(i / 3) % sp.length];
  }
  return a;
}

/** Counts bytes passed to queue.writeBuffer and calls of the queue waits while `fn` runs. */
async function counting<T>(fn: () => Promise<T>) {
  const q = GPUQueue.prototype;
  const write = q.writeBuffer, done = q.onSubmittedWorkDone, map = GPUBuffer.prototype.mapAsync;
  const c = { bytes: 0, writes: 0, waits: 0, maps: 0 };
  q.writeBuffer = function (this: GPUQueue, ...a: Parameters<GPUQueue["writeBuffer"]>) {
    const d = a[2] as ArrayBufferView;
    c.writes++;
    c.bytes += a[4] ?? d.byteLength;
    return write.apply(this, a);
  } as GPUQueue["writeBuffer"];
  q.onSubmittedWorkDone = function (this: GPUQueue) {
    c.waits++;
    return done.apply(this);
  };
  GPUBuffer.prototype.mapAsync = function (
    this: GPUBuffer,
    ...a: Parameters<GPUBuffer["mapAsync"]>
  ) {
    c.maps++;
    return map.apply(this, a);
  } as GPUBuffer["mapAsync"];
  try {
    return { value: await fn(), ...c };
  } finally {
    q.writeBuffer = write;
    q.onSubmittedWorkDone = done;
    GPUBuffer.prototype.mapAsync = map;
  }
}

Deno.test("tensor(), zeros(), empty(): shape, dtype, byteLength, read, dispose, liveBuffers", async () => {
  await getDevice();
  const base = liveBuffers().count;
  const r = rng(freshSeed());
  const cases: [TypedArray, string][] = [
    [rand(r, 7, { special: true }), "f32"],
    [Float16Array.from(rand(r, 5, { special: true })), "f16"],
    [Int32Array.from([-3, 0, 2 ** 31 - 1, -(2 ** 31)]), "i32"],
    [Uint32Array.from([0, 1, 0xffffffff]), "u32"],
    [Uint8Array.from([1, 0, 1]), "bool"],
  ];
  for (const [data, dtype] of cases) {
    const t = tensor(data, [data.length], { name: `t_${dtype}` });
    assert.equal(t.dtype, dtype);
    assert.deepEqual(t.shape, [data.length]);
    assert.equal(
      t.byteLength,
      Math.max(4, Math.ceil(data.length * (dtype === "f16" ? 2 : 4) / 4) * 4),
    );
    const back = await t.read();
    assert.equal(back.constructor, data.constructor);
    assertClose(back, data, EXACT, `${dtype} round trip`);
    t.dispose();
    assert.equal(t.disposed, true);
    await assert.rejects(t.read(), (e) => e instanceof InputError && /t_/.test(e.message));
  }
  const z = zeros([2, 3], { dtype: "i32" });
  assert.deepEqual([...(await z.read())], [0, 0, 0, 0, 0, 0]);
  const e = empty([4]);
  assert.equal(e.dtype, "f32");
  assert.equal(liveBuffers().count, base + 2);
  z.dispose();
  e.dispose();
  e.dispose(); // idempotent
  assert.equal(liveBuffers().count, base);
});

Deno.test("tensor(): bad data, shape or dtype is a clear error naming the tensor", () => {
  assert.throws(() => tensor(new Float32Array(5), [2, 3], { name: "w" }), /'w'.*\[2, 3\] needs 6/);
  assert.throws(
    () => tensor(new Float32Array(2), [2], { dtype: "i32", name: "w" }),
    /'w'.*Int32Array/,
  );
  assert.throws(
    () => tensor([1, 2] as unknown as Float32Array, [2], { name: "w" }),
    /'w'.*typed array/,
  );
  assert.throws(() => zeros([2, -1], { name: "z" }), /'z'.*non-negative integers/);
  assert.throws(() => zeros([2], { dtype: "f64" as never, name: "z" }), /unknown dtype "f64"/);
});

Deno.test("runs take Tensors (no upload) and return Tensors (no wait) that feed the next graph", async () => {
  await getDevice();
  const base = liveBuffers().count;
  const r = rng(freshSeed());
  const a = rand(r, 64), b = rand(r, 64);
  const f = compile((x, y) => ops.add(ops.mul(x, y), 1), {
    inputs: [{ shape: [8, 8] }, { shape: [8, 8] }],
  });
  const g = compile((x) => ops.sum(ops.relu(x), -1), { inputs: [{ shape: [8, 8] }] });
  await f.prepare();
  await g.prepare();
  const ta = tensor(a, [8, 8], { name: "a" }), tb = tensor(b, [8, 8], { name: "b" });
  const run1 = await counting(() => f.run([ta, tb], { output: "tensor" }));
  assert.equal(run1.bytes, 0, "tensor inputs are bound, not uploaded");
  assert.equal(run1.waits + run1.maps, 0, "a run returning tensors does not wait");
  const [mid] = run1.value;
  assert.ok(mid instanceof Tensor);
  assert.deepEqual(mid.shape, [8, 8]);
  const run2 = await counting(() => g.run([mid]));
  assert.equal(run2.bytes, 0);
  assert.equal(run2.waits, 0, "a host-array run waits once: on its readback maps only");
  assert.equal(run2.maps, 1);
  const want = interpret(g.graph, interpret(f.graph, [a, b]));
  assertClose(run2.value[0], want[0], LOOSE, "chained");
  // out: written into the caller's tensors
  const out = zeros([8, 8], { name: "out" });
  const res = await f.run([a, tb], { output: "tensor", out: [out] });
  assert.equal(res[0], out);
  assertClose(await out.read(), interpret(f.graph, [a, b])[0], LOOSE, "out");
  for (const t of [ta, tb, mid, out]) t.dispose();
  await f.disposeAsync();
  await g.disposeAsync();
  assert.equal(liveBuffers().count, base);
});

Deno.test("run(): wrong shape/dtype or disposed tensors and bad out are InputErrors naming them", async () => {
  const f = compile((x) => ops.neg(x), { inputs: [{ shape: [4] }] });
  const bad = zeros([5], { name: "five" });
  assert.throws(() => f.checkInputs([bad]), /'five' \[5\] f32 does not match placeholder 'arg0'/);
  await assert.rejects(f.run([zeros([4], { dtype: "i32", name: "ints" })]), /'ints'/);
  const gone = zeros([4], { name: "gone" });
  gone.dispose();
  await assert.rejects(
    f.run([gone]),
    (e) => e instanceof InputError && /'gone'.*disposed/.test(e.message),
  );
  await assert.rejects(f.run([new Float32Array(4)], { output: "tensor", out: [bad] }), /out\[0\]/);
  await assert.rejects(
    f.run([new Float32Array(4)], { out: [bad] }),
    /needs \{ output: "tensor" \}/,
  );
  await assert.rejects(f.run([new Float32Array(4)], { output: "host" as never }), /output must be/);
  bad.dispose();
  await f.disposeAsync();
});

Deno.test("params: bound once by name; run() takes the rest; bad names and tensors are InputErrors", async () => {
  await getDevice();
  const base = liveBuffers().count;
  const r = rng(freshSeed());
  const w = rand(r, 12), bias = rand(r, 4), x = rand(r, 6);
  const fn = (xx: P, ww: P, bb: P) => ops.add(ops.matmul(xx, ops.transpose(ww, 0, 1)), bb);
  const inputs = [{ shape: [2, 3] }, { shape: [4, 3] }, { shape: [4] }];
  const tw = tensor(w, [4, 3], { name: "w" });
  const cg = compile(fn, { inputs, params: { arg1: tw, arg2: bias } });
  assert.deepEqual(cg.inputSpecs.map((s) => s.name), ["arg0"]);
  assert.deepEqual(cg.paramNames, ["arg1", "arg2"]);
  const want = interpret(cg.graph, [x, w, bias])[0];
  const prep = await counting(() => cg.prepare());
  assert.equal(prep.bytes, bias.byteLength, "a typed-array param is uploaded once, at prepare");
  for (let i = 0; i < 3; i++) {
    const c = await counting(() => cg.run([x]));
    assert.equal(c.bytes, x.byteLength, "only the activation crosses per run");
    assertClose(c.value[0], want, LOOSE, `run ${i}`);
  }
  assert.throws(
    () => compile(fn, { inputs, params: { weight: tw } }),
    /param 'weight' is not a placeholder.*arg0, arg1, arg2/,
  );
  assert.throws(
    () => compile(fn, { inputs, params: { arg2: tw } }),
    (e) =>
      e instanceof InputError &&
      /'w' \[4, 3\] f32 does not match placeholder 'arg2'/.test(e.message),
  );
  assert.throws(
    () => compile(fn, { inputs, params: { arg2: new Float32Array(3) } }),
    /param 'arg2' of shape \[4\] needs 4 elements, got 3/,
  );
  await cg.disposeAsync();
  tw.dispose();
  assert.equal(liveBuffers().count, base, "the uploaded typed-array param is freed with the graph");
});

Deno.test("mutation: copy_ into an input writes the caller's tensor; typed arrays get the result back", async () => {
  const r = rng(freshSeed());
  const state0 = rand(r, 6), upd = rand(r, 6);
  const cg = compile((s, u) => {
    s.copy_(ops.add(s, u));
    return ops.mul(s, 2);
  }, { inputs: [{ shape: [2, 3] }, { shape: [2, 3] }] });
  assert.deepEqual([...cg.mutatedInputs], ["arg0"]);
  const st = tensor(state0, [2, 3], { name: "state" });
  let expect = Float64Array.from(state0);
  for (let step = 0; step < 3; step++) {
    const [y] = await cg.run([st, upd]);
    expect = expect.map((v, i) => Math.fround(v + upd[i]));
    assertClose(await st.read(), expect, EXACT, `state after step ${step}`);
    assertClose(y, expect.map((v) => v * 2), EXACT, `y ${step}`);
  }
  const host = Float32Array.from(state0);
  await cg.run([host, upd]);
  assertClose(host, state0.map((v, i) => Math.fround(v + upd[i])), EXACT, "written back");
  st.dispose();
  await cg.disposeAsync();
});

Deno.test("mutation: copy_ into a static slice and a transposed view of an input", async () => {
  const r = rng(freshSeed());
  const base = rand(r, 24, { special: true }), src = rand(r, 24);
  const cases: [string, (x: P, s: P) => P, number[], number[]][] = [
    [
      "slice",
      (x: P, s: P) => {
        ops.slice(x, 1, 1, 3).copy_(s);
        return ops.add(x, 0.5);
      },
      [2, 4, 3],
      [2, 2, 3],
    ],
    [
      "transpose+slice",
      (x: P, s: P) => {
        ops.slice(ops.transpose(x, 0, 2), 0, 0, 2).copy_(s);
        return ops.mul(x, 1);
      },
      [2, 4, 3],
      [2, 4, 2],
    ],
  ];
  for (const [label, fn, xs, ss] of cases) {
    for (const mode of ["default", "eager"] as const) {
      const g = compile(fn, { inputs: [{ shape: xs }, { shape: ss }], mode });
      const x = Float32Array.from(base), s = src.slice(0, ss.reduce((a, b) => a * b, 1));
      const want = interpret(g.graph, [Float32Array.from(base), s]);
      const t = tensor(x, xs, { name: "x" });
      const [got] = await g.run([t, s], { poison: true });
      assertClose(got, want[0], EXACT, `${label} ${mode}: output`);
      // the caller's tensor holds the base with the slice replaced: output minus the epilogue
      const after = await t.read();
      const viaOut = label === "slice" ? want[0].map((v) => v - 0.5) : want[0];
      assertClose(after, viaOut, { atol: 1e-6, rtol: 0 }, `${label} ${mode}: caller's tensor`);
      t.dispose();
      await g.disposeAsync();
    }
  }
});

Deno.test("index_copy_: runtime indices on the GPU match the reference; out of range is skipped", async () => {
  const r = rng(freshSeed());
  const T = 16, D = 8;
  const cache0 = rand(r, T * D), rows = rand(r, 3 * D);
  const fn = (c: P, i: P, s: P) => {
    ops.index_copy_(c, 0, i, s);
    return ops.sum(c, -1);
  };
  const inputs = [{ shape: [T, D] }, { shape: [3], dtype: "i32" as const }, { shape: [3, D] }];
  for (const mode of ["default", "eager"] as const) {
    const cg = compile(fn, { inputs, mode });
    const idx = Int32Array.from([5, 0, 15]);
    const cache = tensor(cache0, [T, D], { name: "cache" });
    const [sums] = await cg.run([cache, idx, rows], { poison: true });
    const wantCache = Float32Array.from(cache0);
    [5, 0, 15].forEach((row, i) => wantCache.set(rows.subarray(i * D, (i + 1) * D), row * D));
    assertClose(await cache.read(), wantCache, EXACT, `${mode}: cache`);
    assertClose(sums, interpret(cg.graph, [cache0, idx, rows])[0], LOOSE, `${mode}: sums`);
    // out of range (16, -1): the reference raises naming the node and index; the GPU skips
    const bad = Int32Array.from([16, -1, 2]);
    assert.throws(
      () => interpret(cg.graph, [cache0, bad, rows]),
      (e) => e instanceof InputError && /index_copy_/.test(e.message) && /index 16/.test(e.message),
    );
    const before = await cache.read();
    await cg.run([cache, bad, rows]);
    const after = await cache.read();
    const expect = Float32Array.from(before);
    expect.set(rows.subarray(2 * D, 3 * D), 2 * D);
    assertClose(after, expect, EXACT, `${mode}: only the in-range row is written`);
    cache.dispose();
    await cg.disposeAsync();
  }
  // shape and dtype rules name the node
  assert.throws(
    () =>
      compile(fn, {
        inputs: [{ shape: [T, D] }, { shape: [3], dtype: "f32" as const }, { shape: [3, D] }],
      }),
    /index must be i32 or u32/,
  );
  assert.throws(
    () =>
      compile(fn, {
        inputs: [{ shape: [T, D] }, { shape: [3], dtype: "i32" as const }, { shape: [2, D] }],
      }),
    /src must have shape \[3, 8\]/,
  );
});

Deno.test("overlapping runs: 10 concurrent calls each get their own answer", async () => {
  const r = rng(freshSeed());
  const cg = compile((x, w) => {
    const h = ops.softmax(ops.matmul(x, w), -1);
    const back = ops.call("inductor::host_readback", [h]) as P;
    return [ops.add(back, x), ops.sum(h, 0)];
  }, { inputs: [{ shape: [4, 4] }, { shape: [4, 4] }] });
  const w = rand(r, 16);
  for (const prepared of [false, true]) {
    if (prepared) await cg.prepare();
    const xs = Array.from({ length: 10 }, () => rand(r, 16));
    const outs = await Promise.all(xs.map((x) => cg.run([x, w])));
    outs.forEach((o, i) => {
      const want = interpret(cg.graph, [xs[i], w]);
      assertClose(o[0], want[0], LOOSE, `call ${i} output 0`);
      assertClose(o[1], want[1], LOOSE, `call ${i} output 1`);
    });
    const touts = await Promise.all(xs.map((x) => cg.run([x, w], { output: "tensor" })));
    for (let i = 0; i < 10; i++) {
      assertClose(
        await touts[i][0].read(),
        interpret(cg.graph, [xs[i], w])[0],
        LOOSE,
        `tensor call ${i}`,
      );
      for (const t of touts[i]) t.dispose();
    }
  }
  await cg.disposeAsync();
});

Deno.test("the same tensor bound to a read and a written input is refused, naming both", async () => {
  const cg = compile((a, b) => {
    a.copy_(ops.add(b, 1));
    return ops.neg(a);
  }, { inputs: [{ shape: [4] }, { shape: [4] }] });
  const t = zeros([4], { name: "both" });
  await assert.rejects(
    cg.run([t, t]),
    (e) => e instanceof InputError && /same tensor/.test(e.message),
  );
  t.dispose();
  await cg.disposeAsync();
  void DeviceError;
});

Deno.test("copy_ into a broadcast view or a computed value is refused at compile, naming the node", () => {
  assert.throws(
    () =>
      compile((x, s) => {
        x.expand([3, 2]).copy_(s);
        return x;
      }, { inputs: [{ shape: [1, 2] }, { shape: [3, 2] }] }),
    /copy_.*broadcast view.*share one memory location/,
  );
  assert.throws(
    () =>
      compile((x, s) => {
        ops.add(x, 1).copy_(s);
        return x;
      }, { inputs: [{ shape: [2] }, { shape: [2] }] }),
    /copy_.*computed.*not stored/,
  );
});
