// The register matmul template with vec4 operand loads (matmul.ts `vecTile`): contiguous tiles of
// four columns, k in steps of four, operands read as vec4s along n (row-major B) or along k (A,
// and transposed weights), against the float64 reference; shapes with partial row tiles,
// batches, a fused epilogue and SwiGLU's paired matmuls, and the shapes that keep the scalar
// lane-strided tile (k not a multiple of 4, columns that overhang a tile).
import assert from "node:assert/strict";
import { compile, interpret, type TypedArray } from "../src/mod.ts";
import type { TensorProxy } from "../src/fx/tracer.ts";
import { assertClose, freshSeed, LOOSE, randomArray, rng } from "./helpers.ts";

type Fn = (...xs: TensorProxy[]) => TensorProxy | TensorProxy[];
const CASES: { name: string; fn: Fn; shapes: number[][]; vec4: boolean }[] = [
  {
    name: "a @ b [96, 64] x [64, 128]",
    fn: (a, b) => a.matmul(b),
    shapes: [[96, 64], [64, 128]],
    vec4: true,
  },
  {
    name: "a @ b with a partial row tile and a relu(+ bias) epilogue",
    fn: (a, b, c) => a.matmul(b).add(c).relu(),
    shapes: [[70, 32], [32, 64], [64]],
    vec4: true,
  },
  {
    name: "linear: x @ w^T (B contiguous along k)",
    fn: (x, w) => x.matmul(w.transpose(0, 1)),
    shapes: [[64, 48], [64, 48]],
    vec4: true,
  },
  {
    name: "bmm [3, 32, 16] x [3, 16, 32]",
    fn: (a, b) => a.matmul(b),
    shapes: [[3, 32, 16], [3, 16, 32]],
    vec4: true,
  },
  {
    name: "SwiGLU: silu(x @ w1) * (x @ w3) paired",
    fn: (x, w1, w3) => x.matmul(w1).silu().mul(x.matmul(w3)),
    shapes: [[64, 32], [32, 64], [32, 64]],
    vec4: true,
  },
  {
    name: "thin: [2, 64] x [64, 256]",
    fn: (a, b) => a.matmul(b),
    shapes: [[2, 64], [64, 256]],
    vec4: true,
  },
  {
    name: "wide 8x16 tiles: [136, 32] x [32, 256]",
    fn: (a, b) => a.matmul(b),
    shapes: [[136, 32], [32, 256]],
    vec4: true,
  },
  {
    name: "16x16 tiles with a partial row tile and a bias epilogue: [200, 24] x [24, 512]",
    fn: (a, b, c) => a.matmul(b).add(c),
    shapes: [[200, 24], [24, 512], [512]],
    vec4: true,
  },
  {
    name: "k of 30: scalar tile",
    fn: (a, b) => a.matmul(b),
    shapes: [[64, 30], [30, 64]],
    vec4: false,
  },
  {
    name: "n of 70: scalar tile",
    fn: (a, b) => a.matmul(b),
    shapes: [[64, 32], [32, 70]],
    vec4: false,
  },
];

Deno.test("register matmul with vec4 loads matches the reference", async (t) => {
  const seed = freshSeed();
  for (const c of CASES) {
    await t.step(`${c.name} (seed ${seed})`, async () => {
      const r = rng(seed);
      const xs = c.shapes.map((s) => randomArray(s, "f32", r, -1, 1));
      const cg = compile(c.fn, {
        inputs: c.shapes.map((shape) => ({ shape })),
        config: { "inductor.matmulTemplate": "register" },
      });
      try {
        const got = await cg.run(xs.map((a) => a.slice()), { poison: true });
        const want = interpret(cg.graph, xs) as TypedArray[];
        got.forEach((g, i) => assertClose(g, want[i], LOOSE, `${c.name} output ${i}`));
        const mm = cg.kernelSpecs().filter((k) => k.wgsl.includes("fma("));
        assert.ok(mm.length > 0);
        assert.equal(mm.some((k) => k.wgsl.includes("kq")), c.vec4, "vec4 tile used");
      } finally {
        await cg.disposeAsync();
      }
    });
  }
});

Deno.test("stores are guarded only along a dimension the tiles overhang", async (t) => {
  const seed = freshSeed();
  // [m, k, n] and the guard expected: 64x64 register tiles on these shapes
  const cases: { shapes: number[][]; rows: boolean; cols: boolean }[] = [
    { shapes: [[128, 64], [64, 128]], rows: false, cols: false },
    { shapes: [[70, 32], [32, 64]], rows: true, cols: false },
    { shapes: [[64, 32], [32, 70]], rows: false, cols: true },
    { shapes: [[70, 32], [32, 70]], rows: true, cols: true },
  ];
  for (const c of cases) {
    const [[m], [, n]] = c.shapes;
    await t.step(
      `[${m}, ${c.shapes[0][1]}] x [${c.shapes[1].join(", ")}] (seed ${seed})`,
      async () => {
        const r = rng(seed);
        const xs = c.shapes.map((s) => randomArray(s, "f32", r, -1, 1));
        const cg = compile((a, b) => a.matmul(b).relu(), {
          inputs: c.shapes.map((shape) => ({ shape })),
          config: { "inductor.matmulTemplate": "register" },
        });
        try {
          const [got] = await cg.run(xs.map((a) => a.slice()), { poison: true });
          assertClose(got, (interpret(cg.graph, xs) as TypedArray[])[0], LOOSE, "matmul");
          const [mm] = cg.kernelSpecs().filter((k) => k.wgsl.includes("fma("));
          assert.ok(mm.wgsl.includes("@workgroup_size(8, 8)"), "64x64 tiles of 8x8 registers");
          assert.equal(mm.wgsl.includes(`om < ${m}u`), c.rows, "row guard");
          assert.equal(mm.wgsl.includes(`on < ${n}u`), c.cols, "column guard");
        } finally {
          await cg.disposeAsync();
        }
      },
    );
  }
});
