// Thin register matmuls (m <= 4 rows: decode steps, matvec-like products): the tile is as wide
// as the largest of 256/128/64/32/16 columns that divides n, so an n of 64 or 80 gets a vec4
// tile whose every invocation holds four contiguous columns instead of a 256-wide scalar tile
// that clamps three quarters of its columns to the last one (dispatch-500's [1, 64] @ [64, 64]:
// replay 40-50 ms against 16-19 ms per 500 steps on lavapipe). Checked against the float64
// reference with NaN and ±inf in the inputs, outputs poisoned first.
import assert from "node:assert/strict";
import { compile, interpret, type TypedArray } from "../src/mod.ts";
import type { TensorProxy } from "../src/fx/tracer.ts";
import { chooseMatmulConfig } from "../src/codegen/wgsl/matmul.ts";
import { assertSameValues, freshSeed, LOOSE, randomArray, rng } from "./helpers.ts";

Deno.test("thin register tiles divide n where n splits by 16, else stay 256 wide", () => {
  for (const m of [1, 2, 4]) {
    for (
      const [n, tile] of [
        [64, 64],
        [48, 16],
        [80, 16],
        [96, 32],
        [128, 128],
        [384, 128],
        [
          512,
          256,
        ],
        [4096, 256],
        [36, 256],
        [8, 256],
      ]
    ) {
      for (const flavour of ["other", "swiftshader"] as const) {
        const c = chooseMatmulConfig(m, n, "register", 64, flavour);
        assert.deepEqual(
          c,
          { kind: "register", tileM: 1, tileN: tile, tileK: 4, threadM: 1, threadN: 4 },
          `m ${m} n ${n} ${flavour}`,
        );
      }
    }
  }
  // five rows and more keep their tiles; the shared (GPU) template is untouched
  assert.notEqual(chooseMatmulConfig(5, 64, "register", 64).tileM, 1);
  assert.deepEqual(chooseMatmulConfig(1, 64, "shared", 64).tileN, 64);
});

type Fn = (...xs: TensorProxy[]) => TensorProxy;
const CASES: { name: string; fn: Fn; shapes: number[][]; workgroup: string }[] = [
  {
    name: "dispatch step tanh(h @ W + b), [1, 64] x [64, 64]",
    fn: (h, w, b) => h.matmul(w).add(b).tanh(),
    shapes: [[1, 64], [64, 64], [1, 64]],
    workgroup: "16, 1",
  },
  {
    name: "three dependent steps, [1, 128] x [128, 128]",
    fn: (h, w) => h.matmul(w).tanh().matmul(w).tanh().matmul(w),
    shapes: [[1, 128], [128, 128]],
    workgroup: "32, 1",
  },
  {
    name: "[3, 48] x [48, 80] (16-wide tiles)",
    fn: (a, b) => a.matmul(b),
    shapes: [[3, 48], [48, 80]],
    workgroup: "4, 1",
  },
  {
    name: "[2, 36] x [36, 36] (n not a multiple of 16: 256-wide scalar tile)",
    fn: (a, b) => a.matmul(b).relu(),
    shapes: [[2, 36], [36, 36]],
    workgroup: "64, 1",
  },
];

Deno.test("thin matmuls match the float64 reference, NaN and ±inf included", async (t) => {
  const seed = freshSeed();
  for (const c of CASES) {
    await t.step(`${c.name} (seed ${seed})`, async () => {
      const r = rng(seed);
      const xs = c.shapes.map((s) => randomArray(s, "f32", r, -1, 1) as Float32Array);
      // an infinite activation (±inf or NaN down its products) and a NaN weight column entry
      xs[0][1] = Infinity;
      xs[1][5 * c.shapes[1][1] + 3] = NaN;
      const cg = compile(c.fn, {
        inputs: c.shapes.map((shape) => ({ shape })),
        config: { "inductor.matmulTemplate": "register", "inductor.matmulTextures": "off" },
      });
      try {
        const [got] = await cg.run(xs.map((a) => a.slice()), { poison: true });
        const want = (interpret(cg.graph, xs) as TypedArray[])[0];
        assert.ok(want.some((v) => !Number.isFinite(v)), "special values reach the output");
        assertSameValues(got, want, LOOSE, c.name);
        const mm = cg.kernelSpecs().filter((k) => k.wgsl.includes("fma("));
        assert.ok(mm.length > 0);
        for (const k of mm) {
          assert.ok(k.wgsl.includes(`@workgroup_size(${c.workgroup})`), `${k.name} workgroup`);
        }
      } finally {
        await cg.disposeAsync();
      }
    });
  }
});
