// CompiledGraph's input checks, the unsupported-dtype error, and dispose() leaving no live GPU
// buffers — each error message names its culprit.
import assert from "node:assert/strict";
import { compile, DeviceError, InputError, interpret, liveBuffers } from "../src/mod.ts";
import { resetDevice, setGPUForTesting } from "../src/runtime/device.ts";
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

Deno.test("f16 on an adapter without shader-f16: DeviceError naming the dtype, buffer and feature", async () => {
  // a proxy of the real navigator.gpu whose adapter hides shader-f16
  const real = navigator.gpu;
  const fake = {
    requestAdapter: async (o?: GPURequestAdapterOptions) => {
      const a = await real.requestAdapter(o);
      if (!a) return null;
      const features = new Set([...a.features].filter((f) => f !== "shader-f16"));
      return new Proxy(a, {
        get(t, p) {
          if (p === "features") return features;
          const v = Reflect.get(t, p);
          return typeof v === "function" ? v.bind(t) : v;
        },
      });
    },
    getPreferredCanvasFormat: () => real.getPreferredCanvasFormat(),
  } as unknown as GPU;
  setGPUForTesting(fake);
  const g = compile((x) => x.mul(2), { inputs: [{ shape: [4], dtype: "f16", name: "h" }] });
  try {
    await assert.rejects(() => g.run([new Float16Array(4)]), (e: Error) => {
      assert.ok(e instanceof DeviceError, String(e));
      assert.match(e.message, /f16/);
      assert.match(e.message, /'h'/);
      assert.match(e.message, /shader-f16/);
      return true;
    });
  } finally {
    await g.disposeAsync();
    setGPUForTesting(undefined);
    resetDevice();
  }
});
