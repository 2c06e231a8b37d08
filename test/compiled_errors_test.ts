// CompiledGraph's input checks, f16 on an adapter without shader-f16 (emulated, reported), and dispose() leaving no live GPU
// buffers — each error message names its culprit.
import assert from "node:assert/strict";
import { compile, InputError, interpret, liveBuffers } from "../src/mod.ts";
import { withoutShaderF16 } from "./gpu_fakes.ts";
import { assertClose } from "./helpers.ts";

const cg = () =>
  compile((x, y) => x.mul(y).sum(-1), {
    inputs: [{ shape: [3, 4], name: "x" }, { shape: [4], name: "y" }],
  });

Deno.test("run(): wrong input count, length and dtype are InputErrors naming the input", async () => {
  const g = cg();
  try {
    await assert.rejects(() => g.run([new Float32Array(12)]), (e: Error) => {
      assert.ok(e instanceof InputError);
      assert.match(e.message, /expects 2 input\(s\) \(x, y\), got 1/);
      return true;
    });
    await assert.rejects(() => g.run([new Float32Array(11), new Float32Array(4)]), (e: Error) => {
      assert.ok(e instanceof InputError);
      assert.match(e.message, /input 0 \('x'\) of shape \[3, 4\] needs 12 elements, got 11/);
      return true;
    });
    await assert.rejects(() => g.run([new Float32Array(12), new Int32Array(4)]), (e: Error) => {
      assert.ok(e instanceof InputError);
      assert.match(
        e.message,
        /input 1 \('y'\) must be a Float32Array for dtype f32, got Int32Array/,
      );
      return true;
    });
  } finally {
    await g.disposeAsync();
  }
});

Deno.test("compile(fn) without input specs is an InputError saying what is missing", () => {
  assert.throws(() => compile((x) => x.relu()), /options\.inputs/);
});

Deno.test("dispose() frees every GPU buffer the compiled graph made", async () => {
  const before = liveBuffers().count;
  const g = cg();
  const x = new Float32Array(12).map((_, i) => i / 7), y = new Float32Array(4).fill(0.5);
  const [got] = await g.run([x, y]);
  assertClose(got, interpret(g.graph, [x, y])[0], { atol: 1e-6, rtol: 1e-6 }, "sum");
  assert.ok(liveBuffers().count > before, "running allocates buffers");
  await g.disposeAsync();
  assert.equal(liveBuffers().count, before);
  await assert.rejects(() => g.run([x, y]), /disposed/);
});

Deno.test("f16 on an adapter without shader-f16: emulated storage runs, and explain() says so", async () => {
  await withoutShaderF16(async () => {
    const g = compile((x) => x.mul(2).add(x.sum()), {
      inputs: [{ shape: [5], dtype: "f16", name: "h" }],
    });
    try {
      const x = new Float16Array([0.5, -1.25, 3, 1000, -7.5]);
      const [got] = await g.run([x], { poison: true });
      assertClose(got, interpret(g.graph, [x])[0], { atol: 1e-2, rtol: 2e-3 }, "f16 emulated");
      assert.ok(got instanceof Float16Array);
      assert.equal(g.target.f16, "emulated");
      const text = g.explain();
      assert.match(
        text,
        /kernels as prepared for the adapter \(adapter: .+; f16 storage: emulated/,
      );
      assert.match(text, /no shader-f16/);
      assert.doesNotMatch(text, /enable f16/);
      assert.match(text, /array<u32>/);
    } finally {
      await g.disposeAsync();
    }
  });
});
