// The adapter's measured peaks, for reporting benchmark figures as fractions of them: device
// memory bandwidth (a vec4 copy over 256 MiB) and f32 FMA throughput (a long chain of
// independent FMAs per invocation). `deno run -A bench/peak.ts [--json FILE]`.
import { getDevice } from "../src/mod.ts";

const h = await getDevice();
const dev = h.device;

async function time(src: string, buffers: GPUBuffer[], grid: [number, number, number], reps = 40) {
  const module = dev.createShaderModule({ code: src });
  const pipeline = await dev.createComputePipelineAsync({
    layout: "auto",
    compute: { module, entryPoint: "main" },
  });
  const bind = dev.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const run = async (n: number) => {
    const enc = dev.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    for (let i = 0; i < n; i++) pass.dispatchWorkgroups(...grid);
    pass.end();
    dev.queue.submit([enc.finish()]);
    await dev.queue.onSubmittedWorkDone();
  };
  await run(1);
  // subtract a single run: a queue wait has a fixed cost (and milliseconds of jitter) that would
  // hide a fast kernel; reps grow until the difference spans 200 ms
  for (;;) {
    let t0 = performance.now();
    await run(1);
    const one = performance.now() - t0;
    t0 = performance.now();
    await run(reps + 1);
    const span = performance.now() - t0 - one;
    if (span >= 200 || reps >= 1 << 14) return Math.max(1e-6, span / reps);
    reps = Math.max(2 * reps, Math.ceil((300 * reps) / Math.max(span, 1e-3)));
  }
}

const cpu = /llvmpipe|lavapipe|swiftshader/i.test(h.info);
const bytes = (cpu ? 32 : 256) << 20;
const vecs = bytes / 16;
const mk = () => dev.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE });
const [a, b] = [mk(), mk()];
const groups = Math.ceil(vecs / 256);
const gx = Math.min(groups, 65535), gy = Math.ceil(groups / gx);
const copyMs = await time(
  `@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> b: array<vec4<f32>>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>) {
  let i = g.x + g.y * n.x * 256u; if (i < ${vecs}u) { b[i] = a[i]; } }`,
  [a, b],
  [gx, gy, 1],
);
const iters = cpu ? 64 : 16384;
const threads = cpu ? 1 << 14 : 1 << 22;
const out = dev.createBuffer({ size: threads * 4, usage: GPUBufferUsage.STORAGE });
// 16 independent chains, two steps each per loop iteration: the loop's counter, compare and
// branch (3 instructions) would otherwise take a large share of the issue slots
const CHAINS = 16;
const chain = (f: (c: number) => string) =>
  Array.from({ length: CHAINS }, (_, c) => f(c)).join(" ");
const fmaMs = await time(
  `@group(0) @binding(0) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  ${chain((c) => `var x${c} = f32(g.x) + ${c}.0;`)}
  for (var i = 0u; i < ${iters / 2}u; i++) {
    ${chain((c) => `x${c} = fma(x${c}, 0.999, 0.001);`)}
    ${chain((c) => `x${c} = fma(x${c}, 0.999, 0.001);`)}
  }
  o[g.x] = ${chain((c) => `${c ? "+ " : ""}x${c}`)}; }`,
  [out],
  [Math.min(threads / 256, 65535), Math.ceil(threads / 256 / 65535), 1],
);
const result = {
  adapter: h.info,
  copy_gbps: (2 * bytes) / copyMs / 1e6,
  fma_gflops: (2 * CHAINS * iters * threads) / fmaMs / 1e6,
};
console.log(`adapter: ${result.adapter}`);
console.log(
  `measured peak: copy ${result.copy_gbps.toFixed(1)} GB/s, f32 FMA ${
    result.fma_gflops.toFixed(0)
  } GFLOP/s`,
);
const j = Deno.args.indexOf("--json");
if (j >= 0) await Deno.writeTextFile(Deno.args[j + 1], JSON.stringify(result));
a.destroy();
b.destroy();
out.destroy();
