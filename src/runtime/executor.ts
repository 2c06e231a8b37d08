// Runs a compiled program: storages allocated once, kernels launched on the stream in order,
// host steps (opaque JS custom ops) between them. The runtime never sees fx nodes or IR: only
// storages, kernel specs and host callbacks.
import type { KernelSpec } from "../codegen/wgsl/kernel_spec.ts";
import { type DType, gpuBytes, type TypedArray } from "../dtype.ts";
import { DeviceError } from "../errors.ts";
import { createStorageBuffer, destroyBuffer, download, writeBuffer } from "./buffers.ts";
import { type DeviceHandle, requireDType } from "./device.ts";
import { getPipeline } from "./pipeline_cache.ts";
import { Stream } from "./stream.ts";

export interface StorageSpec {
  name: string;
  dtype: DType;
  numel: number;
}

export interface HostIO {
  read(storage: string): Promise<TypedArray>;
  write(storage: string, data: TypedArray): void;
}

export type ExecStep =
  | { kind: "kernel"; spec: KernelSpec }
  | { kind: "host"; name: string; run: (io: HostIO) => Promise<void> };

export interface ExecProgram {
  storages: StorageSpec[];
  steps: ExecStep[];
  inputs: string[];
  outputs: string[];
}

interface PreparedKernel {
  spec: KernelSpec;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
}

export interface RunOptions {
  /** Fill every non-input storage with NaN (ints: 0xDEADBEEF pattern) before running, so a
   * kernel that leaves elements unwritten is caught by the comparison. */
  poison?: boolean;
}

const POISON: Record<DType, number> = {
  f32: NaN,
  f16: NaN,
  i32: -559038737,
  u32: 0xdeadbeef,
  bool: 0xff,
};

export class Executor {
  readonly buffers = new Map<string, GPUBuffer>();
  #kernels: (PreparedKernel | null)[] = [];
  #stream: Stream;
  #disposed = false;
  launches = 0;

  private constructor(readonly h: DeviceHandle, readonly program: ExecProgram) {
    this.#stream = new Stream(h, "compiled-graph");
  }

  /** Allocates storages and compiles every pipeline (concurrently, bounded by
   * inductor.compileThreads in the pipeline cache). */
  static async create(h: DeviceHandle, program: ExecProgram): Promise<Executor> {
    const ex = new Executor(h, program);
    try {
      for (const s of program.storages) requireDType(h, s.dtype, `buffer '${s.name}'`);
      for (const s of program.storages) {
        ex.buffers.set(s.name, createStorageBuffer(h, s.numel * gpuBytes(s.dtype), s.name));
      }
      const prepared = await Promise.all(program.steps.map(async (st) => {
        if (st.kind !== "kernel") return null;
        const pipeline = await getPipeline(h, { name: st.spec.name, wgsl: st.spec.wgsl });
        const bindGroup = h.device.createBindGroup({
          label: st.spec.name,
          layout: pipeline.getBindGroupLayout(0),
          entries: st.spec.bindings.map((b, i) => ({
            binding: i,
            resource: { buffer: ex.#buffer(b.storage, st.spec.name) },
          })),
        });
        return { spec: st.spec, pipeline, bindGroup };
      }));
      ex.#kernels = prepared;
    } catch (e) {
      ex.dispose();
      throw e;
    }
    return ex;
  }

  #buffer(name: string, who: string): GPUBuffer {
    const b = this.buffers.get(name);
    if (!b) throw new DeviceError(`kernel '${who}': storage '${name}' was never allocated`);
    return b;
  }

  #spec(name: string): StorageSpec {
    return this.program.storages.find((s) => s.name === name)!;
  }

  async run(inputs: TypedArray[], opts: RunOptions = {}): Promise<TypedArray[]> {
    if (this.#disposed) throw new DeviceError("this compiled graph was disposed");
    const h = this.h;
    this.program.inputs.forEach((name, i) => {
      writeBuffer(h, this.#buffer(name, "input"), inputs[i], this.#spec(name).dtype);
    });
    if (opts.poison) {
      for (const s of this.program.storages) {
        if (this.program.inputs.includes(s.name)) continue;
        const fill = new (s.dtype === "f32"
          ? Float32Array
          : s.dtype === "f16"
          ? Float16Array
          : s.dtype === "i32"
          ? Int32Array
          : s.dtype === "u32"
          ? Uint32Array
          : Uint8Array)(s.numel);
        fill.fill(POISON[s.dtype]);
        writeBuffer(h, this.#buffer(s.name, "poison"), fill, s.dtype);
      }
    }
    const io: HostIO = {
      read: async (name) => {
        await this.#stream.synchronize();
        const s = this.#spec(name);
        return await download(h, this.#buffer(name, "host read"), s.dtype, s.numel);
      },
      write: (name, data) =>
        writeBuffer(h, this.#buffer(name, "host write"), data, this.#spec(name).dtype),
    };
    for (let i = 0; i < this.program.steps.length; i++) {
      const st = this.program.steps[i];
      if (st.kind === "kernel") {
        const k = this.#kernels[i]!;
        this.#stream.launch(k.pipeline, [k.bindGroup], k.spec.workgroups, k.spec.name);
        this.launches++;
      } else {
        await st.run(io);
      }
    }
    await this.#stream.synchronize();
    return await Promise.all(this.program.outputs.map((name) => {
      const s = this.#spec(name);
      return download(h, this.#buffer(name, "output"), s.dtype, s.numel);
    }));
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const b of this.buffers.values()) destroyBuffer(b);
    this.buffers.clear();
    this.#kernels = [];
  }
}
