// Runs a compiled program. `create` interprets the program once with scopes, as the generated
// Python wrapper would run: allocations get persistent GPU buffers, reuses share them, frees
// remove names; every kernel's bind group is fixed then. A run writes the inputs, replays the
// recorded launches on one stream (host steps in between), and reads the outputs back. The
// runtime never sees fx nodes or IR: only names, kernel specs and host callbacks.
import { type DType, gpuBytes, type TypedArray, typedArrayFor } from "../dtype.ts";
import { DeviceError } from "../errors.ts";
import { createStorageBuffer, destroyBuffer, download, writeBuffer } from "./buffers.ts";
import { type DeviceHandle, requireDType } from "./device.ts";
import { getPipeline } from "./pipeline_cache.ts";
import { type ExecProgram, type HostIO, ProgramError } from "./program.ts";
import { Stream } from "./stream.ts";

/** A physical GPU buffer. */
interface Slot {
  buffer: GPUBuffer;
  dtype: DType;
  numel: number;
}

/** What a name is bound to: a slot seen with the name's own dtype and length (a reuse or a
 * dtype view may see another dtype than the slot was made for). */
interface Binding {
  slot: Slot;
  dtype: DType;
  numel: number;
}

type Action =
  | {
    kind: "launch";
    name: string;
    pipeline: GPUComputePipeline;
    bindGroup: GPUBindGroup;
    grid: [number, number, number];
  }
  | { kind: "host"; name: string; run: (io: HostIO) => Promise<void>; scope: Map<string, Binding> };

export interface RunOptions {
  /** Fill every non-input buffer with NaN (ints: 0xDEADBEEF) first, so a kernel that leaves
   * elements unwritten is caught by the comparison. */
  poison?: boolean;
}

const POISON: Record<DType, number> = {
  f32: NaN,
  f16: NaN,
  i32: -559038737,
  u32: 0xdeadbeef,
  bool: 0xff,
};

export interface ExecStats {
  /** Physical buffers (inputs excluded) and their bytes: the planned footprint. */
  slots: number;
  plannedBytes: number;
  /** Bytes of every allocation line, as if nothing were reused. */
  unplannedBytes: number;
  launchesPerRun: number;
  hostStepsPerRun: number;
  /** Replayable partitions recorded (once each, at prepare). */
  recordedPartitions: number;
}

export class Executor {
  readonly slots: Slot[] = [];
  #inputs: Slot[] = [];
  #outputs: Binding[] = [];
  #actions: Action[] = [];
  #stream: Stream;
  #disposed = false;
  stats: ExecStats = {
    slots: 0,
    plannedBytes: 0,
    unplannedBytes: 0,
    launchesPerRun: 0,
    hostStepsPerRun: 0,
    recordedPartitions: 0,
  };

  private constructor(readonly h: DeviceHandle, readonly program: ExecProgram) {
    this.#stream = new Stream(h, "compiled-graph");
  }

  static async create(h: DeviceHandle, program: ExecProgram): Promise<Executor> {
    const ex = new Executor(h, program);
    try {
      await ex.#interpret();
    } catch (e) {
      ex.dispose();
      throw e;
    }
    return ex;
  }

  #slot(dtype: DType, numel: number, label: string): Slot {
    requireDType(this.h, dtype, `buffer '${label}'`);
    const s = { buffer: createStorageBuffer(this.h, numel * gpuBytes(dtype), label), dtype, numel };
    this.slots.push(s);
    return s;
  }

  /** One pass over the program with Python-like scopes; fixes buffers and bind groups. */
  async #interpret(): Promise<void> {
    const p = this.program;
    const scope = new Map<string, Binding>();
    for (const i of p.inputs) {
      const s = this.#slot(i.dtype, i.numel, i.name);
      this.#inputs.push(s);
      scope.set(i.name, { slot: s, dtype: i.dtype, numel: i.numel });
    }
    const inputSlots = new Set(this.#inputs);
    const pending: Promise<void>[] = [];
    const run = (fnName: string, sc: Map<string, Binding>): Binding[] => {
      const fn = p.functions.get(fnName)!;
      const lookup = (name: string, doing: string): Binding => {
        const s = sc.get(name);
        if (!s) {
          throw new ProgramError(
            `NameError: name '${name}' is not defined (${fnName}: ${doing})`,
          );
        }
        return s;
      };
      if (fn.replayable) this.stats.recordedPartitions++;
      for (const l of fn.lines) {
        switch (l.op) {
          case "alloc":
            sc.set(l.name, {
              slot: this.#slot(l.dtype, l.numel, l.name),
              dtype: l.dtype,
              numel: l.numel,
            });
            this.stats.unplannedBytes += l.numel * gpuBytes(l.dtype);
            break;
          case "reuse": {
            // the planner only reuses storage of the same byte size
            const s = lookup(l.prev, `reusing '${l.prev}' for '${l.next}'`);
            sc.delete(l.prev);
            sc.set(l.next, { slot: s.slot, dtype: l.dtype, numel: l.numel });
            this.stats.unplannedBytes += l.numel * gpuBytes(l.dtype);
            break;
          }
          case "free":
            lookup(l.name, `del ${l.name}`);
            sc.delete(l.name);
            break;
          case "alias":
            sc.set(l.name, {
              slot: lookup(l.of, `viewing '${l.of}' as '${l.name}'`).slot,
              dtype: l.dtype,
              numel: l.numel,
            });
            break;
          case "kernel": {
            const spec = l.spec;
            const bufs = spec.bindings.map((b) =>
              lookup(b.storage, `kernel ${spec.name}`).slot.buffer
            );
            const idx = this.#actions.length;
            this.#actions.push(null as unknown as Action);
            pending.push(
              getPipeline(this.h, { name: spec.name, wgsl: spec.wgsl }).then((pipeline) => {
                const bindGroup = this.h.device.createBindGroup({
                  label: spec.name,
                  layout: pipeline.getBindGroupLayout(0),
                  entries: bufs.map((buffer, i) => ({ binding: i, resource: { buffer } })),
                });
                this.#actions[idx] = {
                  kind: "launch",
                  name: spec.name,
                  pipeline,
                  bindGroup,
                  grid: spec.workgroups,
                };
              }),
            );
            this.stats.launchesPerRun++;
            break;
          }
          case "host": {
            for (const r of l.reads) lookup(r, `custom op ${l.name}`);
            this.#actions.push({ kind: "host", name: l.name, run: l.run, scope: new Map(sc) });
            this.stats.hostStepsPerRun++;
            break;
          }
          case "call": {
            const inner = new Map<string, Binding>();
            for (const i of l.inputs) inner.set(i, lookup(i, `argument of ${l.fn}`));
            const outs = run(l.fn, inner);
            for (const d of l.dealloc) sc.delete(d);
            l.outputs.forEach((o, i) => sc.set(o, outs[i]));
            break;
          }
        }
      }
      return fn.returns.map((r) => {
        const s = sc.get(r);
        if (!s) {
          throw new ProgramError(
            `NameError: name '${r}' is not defined (${fnName} returns it, but never allocated ` +
              `or received it: undefined buffer at the partition's return)`,
          );
        }
        return s;
      });
    };
    try {
      this.#outputs = run("call", scope);
    } catch (e) {
      // let pipeline compiles already started finish before the caller disposes the buffers
      // their bind groups name
      await Promise.allSettled(pending);
      throw e;
    }
    await Promise.all(pending);
    const own = this.slots.filter((s) => !inputSlots.has(s));
    this.stats.slots = own.length;
    this.stats.plannedBytes = own.reduce((a, s) => a + s.numel * gpuBytes(s.dtype), 0);
  }

  async run(inputs: TypedArray[], opts: RunOptions = {}): Promise<TypedArray[]> {
    if (this.#disposed) throw new DeviceError("this compiled graph was disposed");
    const h = this.h;
    this.#inputs.forEach((s, i) => writeBuffer(h, s.buffer, inputs[i], s.dtype));
    if (opts.poison) {
      const inputSet = new Set(this.#inputs);
      for (const s of this.slots) {
        if (inputSet.has(s)) continue;
        const fill = typedArrayFor(s.dtype, s.numel);
        fill.fill(POISON[s.dtype]);
        writeBuffer(h, s.buffer, fill, s.dtype);
      }
    }
    for (const a of this.#actions) {
      if (a.kind === "launch") this.#stream.launch(a.pipeline, [a.bindGroup], a.grid, a.name);
      else {
        const sc = a.scope;
        const slot = (name: string) => {
          const s = sc.get(name);
          if (!s) {
            throw new ProgramError(
              `NameError: name '${name}' is not defined (custom op ${a.name})`,
            );
          }
          return s;
        };
        await a.run({
          read: async (name) => {
            await this.#stream.synchronize();
            const s = slot(name);
            return await download(h, s.slot.buffer, s.dtype, s.numel);
          },
          write: (name, data) => writeBuffer(h, slot(name).slot.buffer, data, slot(name).dtype),
        });
      }
    }
    await this.#stream.synchronize();
    return await Promise.all(
      this.#outputs.map((s) => download(h, s.slot.buffer, s.dtype, s.numel)),
    );
  }

  async #host(a: Extract<Action, { kind: "host" }>): Promise<void> {
    const h = this.h;
    const slot = (name: string) => {
      const s = a.scope.get(name);
      if (!s) {
        throw new ProgramError(`NameError: name '${name}' is not defined (custom op ${a.name})`);
      }
      return s;
    };
    await a.run({
      read: async (name) => {
        await this.#stream.synchronize();
        const s = slot(name);
        return await download(h, s.slot.buffer, s.dtype, s.numel);
      },
      write: (name, data) => writeBuffer(h, slot(name).slot.buffer, data, slot(name).dtype),
    });
  }

  /** Replays the recorded launches `iterations` times back to back (inputs stay as they are,
   * nothing is read back) and waits for the device: the device-side cost of a run. Host steps,
   * if any, run in between as usual. Returns elapsed milliseconds. */
  async replay(iterations: number): Promise<number> {
    if (this.#disposed) throw new DeviceError("this compiled graph was disposed");
    await this.#stream.synchronize();
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) {
      for (const a of this.#actions) {
        if (a.kind === "launch") this.#stream.launch(a.pipeline, [a.bindGroup], a.grid, a.name);
        else await this.#host(a);
      }
    }
    await this.#stream.synchronize();
    return performance.now() - t0;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const s of this.slots) destroyBuffer(s.buffer);
    this.slots.length = 0;
    this.#actions = [];
  }
}
