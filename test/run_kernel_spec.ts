// Runs one generated kernel spec alone on the default adapter (raw WebGPU, no executor): the
// matmul template tests use it to try tile configs compile() would not pick on this adapter.
import assert from "node:assert/strict";
import { compile, getDevice, interpret, type TypedArray } from "../src/mod.ts";
import type { KernelSpec } from "../src/codegen/wgsl/kernel_spec.ts";
import type { ProgramLine, WrapperCodegen } from "../src/codegen/wrapper.ts";
import { type Fn, randomArray, rng } from "./helpers.ts";

type KernelLine = Extract<ProgramLine, { op: "kernel" }>;

/** A graph with exactly one matmul kernel, compiled: random inputs in [-1, 1) from `seed`, the
 * float64 reference output, and the kernel's line and wrapper (to regenerate it with a config). */
export function matmulCase(
  fn: Fn,
  shapes: number[][],
  seed: number,
): { xs: Float32Array[]; want: TypedArray; w: WrapperCodegen; l: KernelLine } {
  const r = rng(seed);
  const xs = shapes.map((s) => randomArray(s, "f32", r, -1, 1) as Float32Array);
  const cg = compile(fn, { inputs: shapes.map((shape) => ({ shape })) });
  const want = (interpret(cg.graph, xs) as TypedArray[])[0];
  const lines = [cg.program.main, ...cg.program.partitions.values()].flatMap((w) =>
    w.lines.flatMap((l) => l.op === "kernel" && l.node.kind === "matmul" ? [{ w, l }] : [])
  );
  assert.equal(lines.length, 1, "one matmul kernel");
  return { xs, want, ...lines[0] };
}

/** Runs one kernel spec: bindings named argI take input I, the others are zeroed outputs. */
export async function runSpec(
  spec: KernelSpec,
  inputs: Float32Array[],
  outBytes: number,
): Promise<Float32Array> {
  const dev = (await getDevice()).device;
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const bufs = spec.bindings.map((b) => {
    const arg = /^arg(\d+)$/.exec(b.storage);
    const data = arg ? inputs[Number(arg[1])] : null;
    const size = Math.ceil((data ? data.byteLength : outBytes) / 16) * 16;
    const g = dev.createBuffer({ size, usage });
    if (data) dev.queue.writeBuffer(g, 0, data);
    return g;
  });
  const out = spec.bindings.findIndex((b) => b.storage === spec.stores[0]);
  assert.ok(out >= 0, `${spec.name}: stored buffer bound`);
  const module = dev.createShaderModule({ code: spec.wgsl });
  const pipeline = await dev.createComputePipelineAsync({
    layout: "auto",
    compute: { module, entryPoint: "main" },
  });
  const read = dev.createBuffer({
    size: outBytes,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = dev.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    dev.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: bufs.map((buffer, binding) => ({ binding, resource: { buffer } })),
    }),
  );
  pass.dispatchWorkgroups(...(spec.workgroups as [number, number, number]));
  pass.end();
  enc.copyBufferToBuffer(bufs[out], 0, read, 0, outBytes);
  dev.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const got = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  for (const b of [...bufs, read]) b.destroy();
  return got;
}
