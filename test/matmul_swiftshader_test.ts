// SwiftShader's own matmul tiles (matmul_config.ts, measured with bench/matmul_browser.ts): the
// kernel target of an adapter described as SwiftShader gets adapterFlavour "swiftshader" and a
// lavapipe one does not; the tiles chosen for SwiftShader differ only where measured and leave
// lavapipe's and GPUs' choices as they were; and kernels generated with SwiftShader's tiles match
// the float64 reference when run on the default adapter.
import assert from "node:assert/strict";
import { getDevice } from "../src/mod.ts";
import type { DeviceHandle } from "../src/runtime/device.ts";
import type { TensorProxy } from "../src/fx/tracer.ts";
import { isSwiftShader, kernelTargetFor } from "../src/codegen/kernel_target.ts";
import { targetInput } from "../src/codegen/autotune.ts";
import { chooseMatmulConfig, genMatmul } from "../src/codegen/wgsl/matmul.ts";
import { assertClose, freshSeed, LOOSE } from "./helpers.ts";
import { matmulCase, runSpec } from "./run_kernel_spec.ts";

/** A handle with only what kernelTargetFor reads. */
function fakeHandle(info: string): DeviceHandle {
  return {
    info,
    adapter: { info: { isFallbackAdapter: false } },
    hasF16: false,
    features: new Set<string>(),
  } as unknown as DeviceHandle;
}

const SWIFTSHADER = "unnamed adapter (vendor google, architecture swiftshader)";
const LAVAPIPE = "llvmpipe (LLVM 15.0.6, 256 bits) (vendor mesa, architecture lavapipe)";

Deno.test("a SwiftShader adapter gets the swiftshader flavour, lavapipe and GPUs do not", () => {
  const ss = kernelTargetFor(fakeHandle(SWIFTSHADER));
  assert.equal(isSwiftShader(fakeHandle(SWIFTSHADER)), true);
  assert.equal(ss.adapterFlavour, "swiftshader");
  assert.equal(ss.matmulKind, "register");
  const lp = kernelTargetFor(fakeHandle(LAVAPIPE));
  assert.equal(lp.adapterFlavour, "other");
  assert.equal(lp.matmulKind, "register");
  const gpu = kernelTargetFor(fakeHandle("NVIDIA GeForce RTX 4090 (vendor nvidia)"));
  assert.equal(gpu.adapterFlavour, "other");
  assert.equal(gpu.matmulKind, "shared");
});

Deno.test("SwiftShader's matmul tiles differ only where measured", () => {
  // [m, n, k]: the bench's matmul 1024 and the decoder-1x128 matmuls
  const shapes: [number, number, number][] = [
    [1024, 1024, 1024],
    [128, 192, 64],
    [128, 128, 16],
    [128, 16, 128],
    [128, 64, 64],
    [128, 128, 64],
    [128, 64, 128],
    [1, 4096, 4096],
    [40, 40, 40],
    [128, 32, 128],
  ];
  // lavapipe (and every CPU adapter but SwiftShader) keeps its tiles, as before this change
  const lavapipe = shapes.map(([m, n, k]) => chooseMatmulConfig(m, n, "register", k));
  assert.deepEqual(
    shapes.map(([m, n, k]) => chooseMatmulConfig(m, n, "register", k, "other")),
    lavapipe,
  );
  assert.deepEqual(lavapipe[0], {
    kind: "register",
    tileM: 128,
    tileN: 128,
    tileK: 4,
    threadM: 16,
    threadN: 16,
  });
  // GPUs: the flavour does not reach the shared template's choice
  for (const [m, n, k] of shapes) {
    assert.deepEqual(
      chooseMatmulConfig(m, n, "shared", k, "swiftshader"),
      chooseMatmulConfig(m, n, "shared", k),
    );
  }
  const ss = shapes.map(([m, n, k]) => chooseMatmulConfig(m, n, "register", k, "swiftshader"));
  // the narrow attention output (n = 16): a 16-wide vec4 tile instead of a 32-wide scalar one
  assert.deepEqual(ss[3], {
    kind: "register",
    tileM: 16,
    tileN: 16,
    tileK: 4,
    threadM: 4,
    threadN: 4,
  });
  assert.notDeepEqual(ss[3], lavapipe[3]);
  // large products: 16x32 registers per invocation
  assert.deepEqual(ss[0], { ...lavapipe[0], threadN: 32 });
  // the other decoder matmuls and thin rows keep lavapipe's choice
  for (const i of [1, 2, 4, 5, 6, 7, 8, 9]) assert.deepEqual(ss[i], lavapipe[i], `${shapes[i]}`);
});

type Fn = (...xs: TensorProxy[]) => TensorProxy;
/** `workgroup`: the @workgroup_size SwiftShader's tile gives (where it is not lavapipe's). */
const CASES: { name: string; fn: Fn; shapes: number[][]; workgroup?: string }[] = [
  {
    name: "attention output [4, 128, 128] x [4, 128, 16]",
    fn: (a, b) => a.matmul(b),
    shapes: [[4, 128, 128], [4, 128, 16]],
    workgroup: "4, 4",
  },
  {
    name: "q/k/v [128, 64] x [64, 192]",
    fn: (a, b) => a.matmul(b),
    shapes: [[128, 64], [64, 192]],
  },
  {
    name: "a @ b [512, 64] x [64, 256] (16x32 registers per invocation)",
    fn: (a, b) => a.matmul(b),
    shapes: [[512, 64], [64, 256]],
    workgroup: "4, 8",
  },
];

Deno.test("kernels with SwiftShader's tiles match the reference", async (t) => {
  const seed = freshSeed();
  const h = await getDevice();
  const target = {
    ...kernelTargetFor(h),
    matmulKind: "register" as const,
    adapterFlavour: "swiftshader" as const,
    // as SwiftShader's own target has it (texture operands are lavapipe's)
    matmulTextures: "off" as const,
  };
  for (const c of CASES) {
    await t.step(`${c.name} (seed ${seed})`, async () => {
      const { xs, want, w, l } = matmulCase(c.fn, c.shapes, seed);
      const spec = genMatmul(targetInput(w, l, target));
      if (c.workgroup) assert.ok(spec.wgsl.includes(`@workgroup_size(${c.workgroup})`));
      const got = await runSpec(spec, xs, want.length * 4);
      assertClose(got, want, LOOSE, c.name);
    });
  }
});
