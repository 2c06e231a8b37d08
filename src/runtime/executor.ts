// Runs a compiled program: the part of upstream's compiled-graph call that runs the generated
// wrapper, with replayable partitions recorded once and replayed as cudagraphify does. `create`
// interprets the program once with scopes (exec_interpret.ts), gives the slots device memory
// (exec_memory.ts), compiles every pipeline and fixes the bind groups it can (exec_bind_groups.ts).
// A run writes the inputs, replays the recorded launches on one stream (host steps in between),
// and reads the outputs back or hands them over as device buffers (exec_outputs.ts). The runtime
// never sees fx nodes or IR: only names, kernel specs and host callbacks.
import type { DType, TypedArray } from "../dtype.ts";
import { DeviceError, InputError } from "../errors.ts";
import { createStorageBuffer, destroyBuffer, readback, writeBuffer } from "./buffers.ts";
import { type DeviceHandle, requireDType } from "./device.ts";
import { getPipeline } from "./pipeline_cache.ts";
import { type ExecProgram, ProgramError } from "./program.ts";
import { Stream } from "./stream.ts";
import { checkNoOverlap } from "./arena.ts";
import {
  type Binding,
  checkBindingSizes,
  emptyExecStats,
  type ExecStats,
  poisonSlots,
  type Slot,
  storageBytes,
} from "./exec_slots.ts";
import {
  type Action,
  type HostStep,
  interpretProgram,
  type Launch,
  type LaunchTexture,
} from "./exec_interpret.ts";
import type { KernelSpec } from "./kernel_spec.ts";
import { placeSlots } from "./exec_memory.ts";
import { BindGroups } from "./exec_bind_groups.ts";
import { OutputHandover } from "./exec_outputs.ts";

export type { ExecStats } from "./exec_slots.ts";

export interface ExecutorOptions {
  /** Replay the recorded launches (one encoder for the whole run, bind groups made once).
   * Without replay every launch makes its bind group again and is submitted on its own, as an
   * eager framework does (upstream: no cudagraphs). */
  replay: boolean;
  /** Pack intermediates at aligned offsets in a few arenas by lifetime (upstream
   * memory_planning) instead of one buffer per slot. */
  arena?: boolean;
  /** How the kernels store f16: "emulated" (two halves per u32) runs without shader-f16. */
  f16Storage?: "native" | "emulated";
}

export interface RunOptions {
  /** Fill every non-input buffer with NaN (ints: 0xDEADBEEF) first, so a kernel that leaves
   * elements unwritten is caught by the comparison. */
  poison?: boolean;
}

/** What a graph input is bound to for one run: a caller's device buffer (bound as is) or host
 * data (uploaded into the executor's own buffer for that input). */
export type InputSource = { buffer: GPUBuffer } | { data: TypedArray };

export interface RunRequest extends RunOptions {
  inputs: InputSource[];
  /** "array": outputs read back to host arrays (one wait); "buffer": each output copied into a
   * fresh device buffer, or into `out[i]` when given (no wait). */
  output: "array" | "buffer";
  out?: (GPUBuffer | undefined)[];
  /** Inputs (by index) whose host arrays get the device contents back after the run (mutated
   * inputs given as typed arrays). */
  writeBack?: number[];
}

export interface RunResult {
  arrays?: TypedArray[];
  buffers?: GPUBuffer[];
  /** For a buffer of `buffers` the caller disposes: takes it back for later runs (true), or
   * declines (false: the caller destroys it). */
  recycle?: (b: GPUBuffer) => boolean;
}

export class Executor {
  readonly slots: Slot[] = [];
  /** Buffers this executor destroys at dispose (slots', arenas', spares'). */
  #owned = new Set<GPUBuffer>();
  /** Textures standing for texture bindings (kernel_spec.ts), destroyed at dispose. */
  #textures: GPUTexture[] = [];
  #inputs: Slot[] = [];
  /** The executor's own upload buffer per input (made when host data is first given). */
  #inputUploads: (GPUBuffer | undefined)[] = [];
  /** Runs are serialised: each binds inputs and reuses the same intermediate storage. */
  #tail: Promise<void> = Promise.resolve();
  #outputs: Binding[] = [];
  #actions: Action[] = [];
  #stream: Stream;
  #groups: BindGroups;
  #handover: OutputHandover;
  #disposed = false;
  stats: ExecStats = emptyExecStats();

  private constructor(
    readonly h: DeviceHandle,
    readonly program: ExecProgram,
    readonly options: ExecutorOptions,
  ) {
    this.#stream = new Stream(h, "compiled-graph");
    this.#groups = new BindGroups(h);
    this.#handover = new OutputHandover(h, this.#stream, this.#owned);
  }

  static async create(
    h: DeviceHandle,
    program: ExecProgram,
    options: ExecutorOptions = { replay: true },
  ): Promise<Executor> {
    const ex = new Executor(h, program, options);
    try {
      await ex.#prepare();
    } catch (e) {
      ex.dispose();
      throw e;
    }
    return ex;
  }

  #newSlot(dtype: DType, numel: number, label: string, step: number, input = false): Slot {
    if (this.options.f16Storage !== "emulated") requireDType(this.h, dtype, `buffer '${label}'`);
    const bytes = storageBytes(dtype, numel);
    const s: Slot = { label, dtype, numel, bytes, start: step, end: step, input, offset: 0 };
    this.slots.push(s);
    return s;
  }

  async #prepare(): Promise<void> {
    const it = interpretProgram(this.program, (...a) => this.#newSlot(...a), this.stats);
    this.#inputs = it.inputs;
    this.#outputs = it.outputs;
    // launches are filled in below, before any run can see them
    this.#actions = it.actions as Action[];
    const launches = it.launches;
    for (const l of launches) checkBindingSizes(this.h, l.spec.name, l.slots);
    placeSlots(
      this.h,
      this.slots,
      this.options.arena ?? false,
      (n, l) => this.#alloc(n, l),
      this.stats,
    );
    // outputs in buffers of their own can be handed to the caller instead of copied
    const arenaBuffers = new Set(
      this.options.arena
        ? this.slots.filter((s) => !s.input && !s.ownBuffer).map((s) => s.buffer)
        : [],
    );
    for (const o of this.#outputs) {
      const s = o.slot;
      if (!s.input && !s.ownBuffer && s.offset === 0 && !arenaBuffers.has(s.buffer)) {
        s.handOver = true;
      }
    }
    for (const l of launches) checkNoOverlap(l.spec.name, l.slots);
    const pending = launches.map(async ({ idx, spec, slots }) => {
      const pipeline = await getPipeline(this.h, { name: spec.name, wgsl: spec.wgsl });
      const writable = slots.map((_, i) =>
        new RegExp(`@binding\\(${i}\\) var<storage, read_write>`).test(spec.wgsl)
      );
      const textures = this.#texturesFor(spec);
      this.#actions[idx] = {
        kind: "launch",
        name: spec.name,
        pipeline,
        bindGroup: slots.some((s) => s.input || s.handOver)
          ? undefined
          : this.#groups.make(pipeline, spec.name, slots, textures),
        groups: new Map(),
        grid: spec.workgroups,
        slots,
        writable,
        textures,
      };
    });
    // let every compile settle before reporting one that failed: the caller disposes the buffers
    // the others' bind groups name
    const settled = await Promise.allSettled(pending);
    const failed = settled.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /** The textures standing for a kernel's texture bindings (its own, made once). */
  #texturesFor(spec: KernelSpec): LaunchTexture[] {
    const out: LaunchTexture[] = [];
    spec.bindings.forEach((b, binding) => {
      if (!b.texture) return;
      const texture = this.h.device.createTexture({
        label: `${spec.name}:${b.storage}`,
        size: [b.texture.width, b.texture.rows],
        format: "rgba32float",
        usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
      });
      this.#textures.push(texture);
      out.push({ binding, texture, view: texture.createView(), shape: b.texture });
    });
    return out;
  }

  /** Encodes launch `a`: its texture bindings' copies first, then the dispatch. */
  #launch(a: Launch, bindGroup: GPUBindGroup): void {
    for (const t of a.textures) {
      const s = a.slots[t.binding];
      if (!(s.buffer!.usage & GPUBufferUsage.COPY_SRC)) {
        throw new InputError(
          `kernel '${a.name}' reads '${s.label}' as a texture, copied from its buffer, but the ` +
            `buffer bound for it lacks COPY_SRC usage; create it with GPUBufferUsage.COPY_SRC ` +
            `or set inductor.matmulTextures to "off"`,
        );
      }
      this.#stream.copyBufferToTexture(s.buffer!, s.offset, t.texture, t.shape, s.bytes);
    }
    this.#stream.launch(a.pipeline, [bindGroup], a.grid, a.name);
  }

  #alloc(bytes: number, label: string): GPUBuffer {
    const b = createStorageBuffer(this.h, bytes, label);
    this.#owned.add(b);
    return b;
  }

  /** Waits for the runs before this one; the returned function lets the next one go. */
  async #lock(): Promise<() => void> {
    let release!: () => void;
    const prev = this.#tail;
    this.#tail = new Promise<void>((r) => (release = r));
    await prev;
    return release;
  }

  /** Binds the inputs, launches, and either reads the outputs back (one wait) or copies them
   * into device buffers (no wait). Concurrent runs are serialised; a run returning arrays lets
   * the next one start as soon as its readback is submitted (the queue keeps the order). */
  async run(req: RunRequest): Promise<RunResult> {
    const release = await this.#lock();
    let pending: Promise<TypedArray[]> | undefined;
    let buffers: GPUBuffer[] | undefined;
    try {
      if (this.#disposed) throw new DeviceError("this compiled graph was disposed");
      this.#bindInputs(req.inputs);
      if (req.poison) poisonSlots(this.h, this.slots);
      await this.#launchFrom(0);
      if (req.output === "buffer") buffers = this.#handover.take(this.#outputs, req.out ?? []);
      else {
        const wb = req.writeBack ?? [];
        const ranges = [
          ...this.#outputs.map((b) => this.#range(b)),
          ...wb.map((i) => this.#range({ slot: this.#inputs[i], ...this.#inputs[i] })),
        ];
        pending = readback(this.h, ranges); // submits the copies before it first waits
      }
    } finally {
      release();
    }
    if (buffers) return { buffers, recycle: (b) => this.#handover.recycle(b, this.#disposed) };
    const got = await pending!;
    const wb = req.writeBack ?? [];
    wb.forEach((i, k) => {
      const src = req.inputs[i] as { data: TypedArray };
      src.data.set(got[this.#outputs.length + k] as never);
    });
    return { arrays: got.slice(0, this.#outputs.length) };
  }

  #range(b: Binding) {
    return { buffer: b.slot.buffer!, offset: b.slot.offset, dtype: b.dtype, count: b.numel };
  }

  #bindInputs(sources: InputSource[]): void {
    this.#inputs.forEach((s, i) => {
      const src = sources[i];
      if ("buffer" in src) {
        s.buffer = src.buffer;
        return;
      }
      let own = this.#inputUploads[i];
      if (!own) own = this.#inputUploads[i] = this.#alloc(s.bytes, s.label);
      writeBuffer(this.h, own, src.data, s.dtype, 0);
      s.buffer = own;
    });
  }

  async #read(b: Binding): Promise<TypedArray> {
    return (await readback(this.h, [this.#range(b)]))[0];
  }

  /** Launch the actions from index `i` on (host steps await in between). */
  async #launchFrom(i: number): Promise<void> {
    for (; i < this.#actions.length; i++) {
      const a = this.#actions[i];
      if (a.kind === "host") {
        await this.#host(a);
        continue;
      }
      if (this.options.replay) {
        this.#launch(a, this.#groups.forLaunch(a));
        continue;
      }
      // no replay: a fresh bind group and one submit per launch
      this.#launch(a, this.#groups.make(a.pipeline, a.name, a.slots, a.textures));
      this.#stream.flush();
    }
  }

  async #host(a: HostStep): Promise<void> {
    const binding = (name: string) => {
      const s = a.scope.get(name);
      if (!s) {
        throw new ProgramError(`NameError: name '${name}' is not defined (custom op ${a.name})`);
      }
      return s;
    };
    await a.run({
      read: async (name) => {
        await this.#stream.synchronize();
        return await this.#read(binding(name));
      },
      write: (name, data) => {
        const b = binding(name);
        writeBuffer(this.h, b.slot.buffer!, data, b.dtype, b.slot.offset);
      },
    });
  }

  /** Replays the recorded launches `iterations` times back to back (inputs stay as they are,
   * nothing is read back) and waits for the device: the device-side cost of a run. Host steps,
   * if any, run in between as usual. Returns elapsed milliseconds. */
  async replay(iterations: number, opts: { submitEach?: boolean } = {}): Promise<number> {
    if (this.#disposed) throw new DeviceError("this compiled graph was disposed");
    this.#requireBoundInputs("replay");
    await this.#stream.synchronize();
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) {
      if (!opts.submitEach) await this.#launchFrom(0);
      else {
        // the baseline replay beats: every launch submitted and awaited on its own
        for (const a of this.#actions) {
          if (a.kind === "host") await this.#host(a);
          else {
            this.#launch(a, this.#groups.forLaunch(a));
            await this.#stream.synchronize();
          }
        }
      }
    }
    await this.#stream.synchronize();
    return performance.now() - t0;
  }

  /** The outputs as they are now on the device (after `replay`). */
  async readOutputs(): Promise<TypedArray[]> {
    if (this.#disposed) throw new DeviceError("this compiled graph was disposed");
    this.#requireBoundInputs("readOutputs");
    return await readback(this.h, this.#outputs.map((b) => this.#range(b)));
  }

  #requireBoundInputs(doing: string): void {
    if (this.#inputs.some((s) => !s.buffer)) {
      throw new InputError(`${doing}: run the graph once first (its inputs are not bound yet)`);
    }
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const b of this.#owned) destroyBuffer(b);
    this.#owned.clear();
    for (const t of this.#textures) t.destroy();
    this.#textures.length = 0;
    this.slots.length = 0;
    this.#actions = [];
  }
}
