// The GPU (workgroup-memory) matmul template with `pipelined` tile configs (matmul.ts: the next
// k slice prefetched into registers, column-strided thread tiles), as autotuning would try them
// on a GPU adapter, run on the default adapter against the float64 reference: partial row,
// column and k tiles, a fused epilogue, SwiGLU's paired matmuls, a transposed weight and a batch.
// Also checks that autotuning offers these configs to GPU adapters.
import assert from "node:assert/strict";
import { getDevice } from "../src/mod.ts";
import { targetInput, TILE_CONFIGS } from "../src/codegen/autotune.ts";
import { kernelTargetFor } from "../src/codegen/kernel_target.ts";
import { genMatmul, type MatmulConfig } from "../src/codegen/wgsl/matmul.ts";
import { assertClose, type Fn, freshSeed, LOOSE } from "./helpers.ts";
import { matmulCase, runSpec } from "./run_kernel_spec.ts";

const PIPELINED = TILE_CONFIGS.filter((c) => c.pipelined);

const CASES: { name: string; fn: Fn; shapes: number[][] }[] = [
  {
    name: "a @ b [130, 40] x [40, 136]",
    fn: (a, b) => a.matmul(b),
    shapes: [[130, 40], [40, 136]],
  },
  {
    name: "relu(a @ b + bias) [64, 48] x [48, 128]",
    fn: (a, b, c) => a.matmul(b).add(c).relu(),
    shapes: [[64, 48], [48, 128], [128]],
  },
  {
    name: "SwiGLU silu(x @ w1) * (x @ w3) [70, 32]",
    fn: (x, w1, w3) => x.matmul(w1).silu().mul(x.matmul(w3)),
    shapes: [[70, 32], [32, 96], [32, 96]],
  },
  {
    name: "linear x @ w^T [33, 20] x [72, 20]",
    fn: (x, w) => x.matmul(w.transpose(0, 1)),
    shapes: [[33, 20], [72, 20]],
  },
  {
    name: "bmm [2, 24, 16] x [2, 16, 40]",
    fn: (a, b) => a.matmul(b),
    shapes: [[2, 24, 16], [2, 16, 40]],
  },
];

Deno.test("pipelined workgroup-memory matmul configs match the reference", async (t) => {
  assert.ok(PIPELINED.length > 0 && PIPELINED.every((c) => c.kind === "shared"));
  const seed = freshSeed();
  const h = await getDevice();
  for (const c of CASES) {
    await t.step(`${c.name} (seed ${seed})`, async () => {
      const { xs, want, w, l } = matmulCase(c.fn, c.shapes, seed);
      for (const cfg of PIPELINED) {
        const spec = genMatmul(targetInput(w, l, kernelTargetFor(h)), cfg as MatmulConfig);
        assert.match(spec.wgsl, /workgroupBarrier/);
        const got = await runSpec(spec, xs, want.length * 4);
        assertClose(got, want, LOOSE, `${c.name} with ${JSON.stringify(cfg)}`);
      }
    });
  }
});
