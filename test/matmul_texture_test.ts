// Matmul operands read as rgba32float textures (texture_operands.ts; inductor.matmulTextures):
// with the knob "on", every vec4 register tile reads its k-step operands through textures the
// runtime fills before each launch, and matches the float64 reference on odd shapes (partial
// row tiles, epilogues, a transposed weight, batches, SwiGLU's paired matmuls, buffers whose
// texel count is not a whole texture row) and propagates NaN and ±inf as torch does; "auto"
// picks textures on lavapipe-class adapters only; "off" never; at most four per kernel; a
// caller's buffer the runtime cannot copy from (no COPY_SRC) is an InputError naming the usage.
import assert from "node:assert/strict";
import { compile, getDevice, interpret, type TypedArray } from "../src/mod.ts";
import { InputError } from "../src/errors.ts";
import { Tensor } from "../src/runtime/tensor.ts";
import type { DeviceHandle } from "../src/runtime/device.ts";
import type { TensorProxy } from "../src/fx/tracer.ts";
import { kernelTargetFor } from "../src/codegen/kernel_target.ts";
import { TEXTURE_MIN_FLOP } from "../src/codegen/wgsl/matmul.ts";
import { textureShape, textureWidth } from "../src/codegen/wgsl/texture_operands.ts";
import { assertClose, assertSameValues, freshSeed, LOOSE, randomArray, rng } from "./helpers.ts";

type Fn = (...xs: TensorProxy[]) => TensorProxy | TensorProxy[];
const CASES: { name: string; fn: Fn; shapes: number[][] }[] = [
  { name: "a @ b [96, 64] x [64, 128]", fn: (a, b) => a.matmul(b), shapes: [[96, 64], [64, 128]] },
  {
    name: "partial row tile and a relu(+ bias) epilogue",
    fn: (a, b, c) => a.matmul(b).add(c).relu(),
    shapes: [[70, 32], [32, 64], [64]],
  },
  {
    name: "linear: x @ w^T (B contiguous along k)",
    fn: (x, w) => x.matmul(w.transpose(0, 1)),
    shapes: [[64, 48], [64, 48]],
  },
  {
    name: "bmm [3, 32, 16] x [3, 16, 32]",
    fn: (a, b) => a.matmul(b),
    shapes: [[3, 32, 16], [3, 16, 32]],
  },
  {
    name: "SwiGLU: silu(x @ w1) * (x @ w3) paired",
    fn: (x, w1, w3) => x.matmul(w1).silu().mul(x.matmul(w3)),
    shapes: [[64, 32], [32, 64], [32, 64]],
  },
  {
    name: "four matmuls sharing A, summed (five operands, at most four textures)",
    fn: (x, w1, w2, w3, w4) => x.matmul(w1).add(x.matmul(w2)).add(x.matmul(w3)).add(x.matmul(w4)),
    shapes: [[32, 16], [16, 64], [16, 64], [16, 64], [16, 64]],
  },
  {
    name: "16x16 tiles, partial rows, 4400 texels of A (a partial texture row)",
    fn: (a, b) => a.matmul(b),
    shapes: [[200, 22 * 4], [88, 1024]],
  },
];

function run(fn: Fn, shapes: number[][], textures: "on" | "off" | "auto") {
  return compile(fn, {
    inputs: shapes.map((shape) => ({ shape })),
    config: { "inductor.matmulTemplate": "register", "inductor.matmulTextures": textures },
  });
}

Deno.test("matmul with texture operands matches the reference", async (t) => {
  const seed = freshSeed();
  for (const c of CASES) {
    await t.step(`${c.name} (seed ${seed})`, async () => {
      const r = rng(seed);
      const xs = c.shapes.map((s) => randomArray(s, "f32", r, -1, 1));
      const cg = run(c.fn, c.shapes, "on");
      try {
        const got = await cg.run(xs.map((a) => a.slice()), { poison: true });
        const want = interpret(cg.graph, xs) as TypedArray[];
        got.forEach((g, i) => assertClose(g, want[i], LOOSE, `${c.name} output ${i}`));
        const mm = cg.kernelSpecs().filter((k) => k.wgsl.includes("fma("));
        assert.ok(mm.some((k) => k.wgsl.includes("textureLoad(")), "operands read as textures");
        assert.ok(mm.every((k) => k.bindings.every((b) => !b.texture || b.access === "read")));
        assert.ok(mm.every((k) => k.bindings.filter((b) => b.texture).length <= 4));
        // a second run reads the new inputs (the copies are made before every launch)
        const ys = xs.map((a) => a.map((v) => -v));
        const again = await cg.run(ys.map((a) => a.slice()));
        const want2 = interpret(cg.graph, ys) as TypedArray[];
        again.forEach((g, i) => assertClose(g, want2[i], LOOSE, `${c.name} second run ${i}`));
      } finally {
        await cg.disposeAsync();
      }
    });
  }
});

Deno.test("texture operands propagate NaN and ±inf as torch does", async () => {
  const shapes = [[64, 32], [32, 128]];
  const r = rng(7);
  const [a, b] = shapes.map((s) => randomArray(s, "f32", r, -1, 1) as Float32Array);
  a[3 * 32 + 5] = NaN; // row 3 all NaN
  a[10 * 32 + 1] = Infinity; // row 10: ±inf by b's signs, NaN where b[1, j] is 0
  b[1 * 128 + 7] = 0;
  b[20 * 128 + 100] = -Infinity; // column 100: ±inf, NaN in row 10 if inf meets -inf
  const cg = run((x, y) => x.matmul(y), shapes, "on");
  try {
    const [got] = await cg.run([a.slice(), b.slice()]);
    const want = (interpret(cg.graph, [a, b]) as TypedArray[])[0];
    assert.ok(Number.isNaN(want[3 * 128]) && !Number.isFinite(want[10 * 128 + 3]));
    assertSameValues(got, want, LOOSE, "matmul with NaN and inf");
    assert.ok(cg.kernelSpecs().some((k) => k.wgsl.includes("textureLoad(")));
  } finally {
    await cg.disposeAsync();
  }
});

Deno.test("auto reads operands as textures on this adapter, off as buffers", async () => {
  const uses = async (m: number, k: number, n: number, mode: "off" | "auto" | "on") => {
    const cg = compile((x, y) => x.matmul(y), {
      inputs: [{ shape: [m, k] }, { shape: [k, n] }],
      config: { "inductor.matmulTextures": mode },
    });
    try {
      // compile() generates for no adapter; prepare() regenerates for this one (lavapipe here)
      assert.equal(cg.kernelSpecs().some((s) => s.bindings.some((b) => b.texture)), false);
      await cg.prepare();
      return cg.kernelSpecs().some((s) => s.bindings.some((b) => b.texture));
    } finally {
      await cg.disposeAsync();
    }
  };
  assert.equal(await uses(512, 512, 512, "auto"), true);
  assert.equal(await uses(512, 512, 512, "off"), false);
  assert.equal(await uses(128, 64, 192, "auto"), true); // a decoder shape
  assert.equal(await uses(128, 64, 192, "off"), false);
  // below TEXTURE_MIN_FLOP (8x64 @ 64x64: 64 KFLOP) auto keeps buffers; "on" forces them
  assert.ok(2 * 8 * 64 * 64 < TEXTURE_MIN_FLOP && 2 * 128 * 64 * 192 >= TEXTURE_MIN_FLOP);
  assert.equal(await uses(8, 64, 64, "auto"), false);
  assert.equal(await uses(8, 64, 64, "on"), true);
});

Deno.test("texture shapes: power-of-two rows of at least 256 bytes, at most 8192 rows", () => {
  assert.equal(textureWidth(1), 16);
  assert.equal(textureWidth(300), 512);
  assert.equal(textureWidth(262144), 1024);
  assert.deepEqual(textureShape(1100, textureWidth(1100)!), { width: 1024, rows: 2 });
  assert.equal(textureWidth(1024 * 8192), 1024);
  assert.equal(textureWidth(1024 * 8192 + 1), 2048);
  assert.equal(textureWidth(8192 * 8192 + 1), null);
});

/** A handle with only what kernelTargetFor reads. */
function fakeHandle(info: string, fallback: boolean): DeviceHandle {
  return {
    info,
    adapter: { info: { isFallbackAdapter: fallback } },
    hasF16: false,
    features: new Set<string>(),
  } as unknown as DeviceHandle;
}

Deno.test("textures are auto on lavapipe, off on SwiftShader and GPUs", () => {
  const lp = "llvmpipe (LLVM 15.0.6, 256 bits) (vendor mesa, architecture lavapipe)";
  const ss = "unnamed adapter (vendor google, architecture swiftshader)";
  assert.equal(kernelTargetFor(fakeHandle(lp, true)).matmulTextures, "auto");
  assert.equal(kernelTargetFor(fakeHandle(ss, true)).matmulTextures, "off");
  assert.equal(kernelTargetFor(fakeHandle("NVIDIA H200", false)).matmulTextures, "off");
});

Deno.test("a caller's buffer without COPY_SRC read as a texture is an InputError", async () => {
  const h = await getDevice();
  const shapes = [[32, 16], [16, 64]];
  const buffer = h.device.createBuffer({
    size: 32 * 16 * 4,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
  });
  const a = Tensor.adopt(h, buffer, shapes[0], "f32", "a");
  const cg = run((x, y) => x.matmul(y), shapes, "on");
  try {
    await assert.rejects(
      () => cg.run([a, new Float32Array(16 * 64)]),
      (e: Error) => e instanceof InputError && /COPY_SRC/.test(e.message),
    );
  } finally {
    await cg.disposeAsync();
    a.dispose();
  }
});
