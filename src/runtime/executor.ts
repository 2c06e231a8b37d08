// Runs a compiled program. `create` interprets the program once with scopes, as the generated
// Python wrapper would run: allocations become storage slots, reuses share them, frees end a
// slot's life and remove names. Slots then get device memory — a buffer each, or (memory
// planning) aligned offsets in a few arenas packed by lifetime — and every kernel's bind group
// is fixed. A run writes the inputs, replays the recorded launches on one stream (host steps in
// between), and reads the outputs back. The runtime never sees fx nodes or IR: only names,
// kernel specs and host callbacks.
import type { KernelSpec } from "./kernel_spec.ts";
import { type DType, gpuBytes, type TypedArray, typedArrayFor } from "../dtype.ts";
import { DeviceError, InputError } from "../errors.ts";
import { createStorageBuffer, destroyBuffer, readback, writeBuffer } from "./buffers.ts";
import { type DeviceHandle, requireDType } from "./device.ts";
import { getPipeline } from "./pipeline_cache.ts";
import { type ExecProgram, type HostIO, ProgramError } from "./program.ts";
import { Stream } from "./stream.ts";
import { type Arena, checkNoOverlap, packArenas } from "./arena.ts";

/** Storage for one allocation (and the reuses that inherit it). */
interface Slot {
  label: string;
  dtype: DType;
  numel: number;
  bytes: number;
  /** Program step that allocates it, and the last step that uses it. */
  start: number;
  end: number;
  input: boolean;
  /** Bound by a custom op's own kernel: gets a buffer of its own, never an arena range. */
  ownBuffer?: boolean;
  /** Where it lives once placed. */
  buffer?: GPUBuffer;
  offset: number;
  /** An output slot with a buffer of its own: a run that returns device buffers hands this
   * buffer to the caller and takes another (see #handOver), so launches binding it make their
   * bind groups per run, as for inputs. */
  handOver?: boolean;
  /** Buffers of this slot's size the caller gave back (disposed outputs), for the next runs. */
  spare?: GPUBuffer[];
}

/** What a name is bound to: a slot seen with the name's own dtype and length (a reuse or a
 * dtype view may see another dtype than the slot was made for). */
interface Binding {
  slot: Slot;
  dtype: DType;
  numel: number;
}

interface Launch {
  kind: "launch";
  name: string;
  pipeline: GPUComputePipeline;
  /** Fixed at prepare when no binding is a graph input; otherwise made per set of bound input
   * buffers and cached (`groups`). */
  bindGroup: GPUBindGroup | undefined;
  groups: Map<string, GPUBindGroup>;
  grid: [number, number, number];
  slots: Slot[];
  /** Bindings the kernel declares read_write (a buffer bound twice must not be one of them). */
  writable: boolean[];
}
interface HostStep {
  kind: "host";
  name: string;
  run: (io: HostIO) => Promise<void>;
  scope: Map<string, Binding>;
}
type Action = Launch | HostStep;

/** A launch found by the interpretation, waiting for its pipeline and bind group. */
interface PendingLaunch {
  idx: number;
  spec: KernelSpec;
  slots: Slot[];
}

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

const POISON: Record<DType, number> = {
  f32: NaN,
  f16: NaN,
  i32: -559038737,
  u32: 0xdeadbeef,
  bool: 0xff,
};

export interface ExecStats {
  /** Storage slots (inputs excluded) after reuse planning, and their bytes. */
  slots: number;
  reuseBytes: number;
  /** Device bytes actually allocated for intermediates and outputs (arena total with memory
   * planning, the slots' sum without). */
  plannedBytes: number;
  /** Bytes of every allocation line, as if nothing were reused. */
  unplannedBytes: number;
  arenas: number;
  launchesPerRun: number;
  hostStepsPerRun: number;
  /** Replayable partitions recorded (once each, at prepare). */
  recordedPartitions: number;
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

export class Executor {
  readonly slots: Slot[] = [];
  /** Buffers this executor destroys at dispose (slots', arenas', spares'). */
  #owned = new Set<GPUBuffer>();
  /** Handed-over buffers (and taken-back spares): the slot whose size they have. */
  #spareOf = new WeakMap<GPUBuffer, Slot>();
  #inputs: Slot[] = [];
  /** The executor's own upload buffer per input (made when host data is first given). */
  #inputUploads: (GPUBuffer | undefined)[] = [];
  #bufferIds = new WeakMap<GPUBuffer, number>();
  #nextBufferId = 0;
  /** Runs are serialised: each binds inputs and reuses the same intermediate storage. */
  #tail: Promise<void> = Promise.resolve();
  #outputs: Binding[] = [];
  #actions: Action[] = [];
  #stream: Stream;
  #disposed = false;
  stats: ExecStats = {
    slots: 0,
    reuseBytes: 0,
    plannedBytes: 0,
    unplannedBytes: 0,
    arenas: 0,
    launchesPerRun: 0,
    hostStepsPerRun: 0,
    recordedPartitions: 0,
  };

  private constructor(
    readonly h: DeviceHandle,
    readonly program: ExecProgram,
    readonly options: ExecutorOptions,
  ) {
    this.#stream = new Stream(h, "compiled-graph");
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
    const bytes = Math.max(4, roundUp(numel * gpuBytes(dtype), 4));
    const s: Slot = { label, dtype, numel, bytes, start: step, end: step, input, offset: 0 };
    this.slots.push(s);
    return s;
  }

  /** One pass over the program with Python-like scopes: slots, lifetimes, launches. */
  #interpret(): { launches: PendingLaunch[] } {
    const p = this.program;
    let step = 0;
    const scope = new Map<string, Binding>();
    for (const i of p.inputs) {
      const s = this.#newSlot(i.dtype, i.numel, i.name, 0, true);
      this.#inputs.push(s);
      scope.set(i.name, { slot: s, dtype: i.dtype, numel: i.numel });
    }
    const launches: PendingLaunch[] = [];
    const touch = (b: Binding) => (b.slot.end = Math.max(b.slot.end, step));
    const run = (fnName: string, sc: Map<string, Binding>): Binding[] => {
      const fn = p.functions.get(fnName)!;
      const lookup = (name: string, doing: string): Binding => {
        const s = sc.get(name);
        if (!s) {
          throw new ProgramError(`NameError: name '${name}' is not defined (${fnName}: ${doing})`);
        }
        return s;
      };
      if (fn.replayable) this.stats.recordedPartitions++;
      for (const l of fn.lines) {
        step++;
        switch (l.op) {
          case "alloc":
            sc.set(l.name, {
              slot: this.#newSlot(l.dtype, l.numel, l.name, step),
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
            touch(s);
            this.stats.unplannedBytes += l.numel * gpuBytes(l.dtype);
            break;
          }
          case "free":
            touch(lookup(l.name, `del ${l.name}`));
            sc.delete(l.name);
            break;
          case "alias": {
            const of = lookup(l.of, `viewing '${l.of}' as '${l.name}'`);
            sc.set(l.name, { slot: of.slot, dtype: l.dtype, numel: l.numel });
            touch(of);
            break;
          }
          case "kernel": {
            const slots = l.spec.bindings.map((b) => lookup(b.storage, `kernel ${l.spec.name}`));
            slots.forEach(touch);
            if (l.spec.custom) { for (const b of slots) b.slot.ownBuffer = true; }
            launches.push({
              idx: this.#actions.length,
              spec: l.spec,
              slots: slots.map((b) => b.slot),
            });
            this.#actions.push(null as unknown as Action);
            this.stats.launchesPerRun++;
            break;
          }
          case "host": {
            for (const r of l.reads) touch(lookup(r, `custom op ${l.name}`));
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
    this.#outputs = run("call", scope);
    for (const o of this.#outputs) o.slot.end = Infinity; // outputs live past the run
    // a host step may read any slot of its scope later than its reads say
    for (const a of this.#actions) {
      if (a?.kind === "host") {
        for (const b of a.scope.values()) b.slot.end = Math.max(b.slot.end, step);
      }
    }
    return { launches };
  }

  async #prepare(): Promise<void> {
    const { launches } = this.#interpret();
    for (const l of launches) checkBindingSizes(this.h, l.spec.name, l.slots);
    this.#place();
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
      this.#actions[idx] = {
        kind: "launch",
        name: spec.name,
        pipeline,
        bindGroup: slots.some((s) => s.input || s.handOver)
          ? undefined
          : this.#bindGroup(pipeline, spec.name, slots),
        groups: new Map(),
        grid: spec.workgroups,
        slots,
        writable,
      };
    });
    // let every compile settle before reporting one that failed: the caller disposes the buffers
    // the others' bind groups name
    const settled = await Promise.allSettled(pending);
    const failed = settled.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  #bindGroup(pipeline: GPUComputePipeline, label: string, slots: Slot[]): GPUBindGroup {
    return this.h.device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries: slots.map((s, i) => ({
        binding: i,
        resource: { buffer: s.buffer!, offset: s.offset, size: s.bytes },
      })),
    });
  }

  /** The bind group of a launch for the input buffers bound now (cached per set of buffers: a
   * decode loop alternating a few tensors reuses its groups). */
  #groupFor(a: Launch): GPUBindGroup {
    if (a.bindGroup) return a.bindGroup;
    const key = a.slots.map((s) => (s.input || s.handOver ? this.#idOf(s.buffer!) : "-"))
      .join(",");
    let g = a.groups.get(key);
    if (g) {
      a.groups.delete(key); // least recently used goes first
      a.groups.set(key, g);
      return g;
    }
    for (let i = 0; i < a.slots.length; i++) {
      for (let j = i + 1; j < a.slots.length; j++) {
        const x = a.slots[i], y = a.slots[j];
        if (x === y || !(x.input || y.input) || x.buffer !== y.buffer) continue;
        if (!(a.writable[i] || a.writable[j])) continue;
        throw new InputError(
          `inputs '${x.label}' and '${y.label}' are the same tensor, but kernel '${a.name}' ` +
            `binds them together and may write one of them; pass distinct tensors`,
        );
      }
    }
    g = this.#bindGroup(a.pipeline, a.name, a.slots);
    a.groups.set(key, g);
    if (a.groups.size > 16) a.groups.delete(a.groups.keys().next().value!);
    return g;
  }

  #idOf(b: GPUBuffer): number {
    let id = this.#bufferIds.get(b);
    if (id === undefined) this.#bufferIds.set(b, id = this.#nextBufferId++);
    return id;
  }

  /** Give every slot device memory: intermediates a buffer each, or packed into arenas by
   * lifetime (greedy best-offset placement, largest first). Inputs get theirs per run. */
  #place(): void {
    const own = this.slots.filter((s) => !s.input);
    this.stats.slots = own.length;
    this.stats.reuseBytes = own.reduce((a, s) => a + s.bytes, 0);
    if (!this.options.arena) {
      for (const s of own) s.buffer = this.#alloc(s.bytes, s.label);
      this.stats.plannedBytes = this.stats.reuseBytes;
      this.stats.arenas = 0;
      return;
    }
    const align = Math.max(4, this.h.limits.minStorageBufferOffsetAlignment);
    const cap = Math.min(this.h.limits.maxStorageBufferBindingSize, this.h.limits.maxBufferSize);
    for (const s of own.filter((s) => s.ownBuffer)) s.buffer = this.#alloc(s.bytes, s.label);
    const packed = own.filter((s) => !s.ownBuffer);
    // greedy interval packing is order-sensitive: try a few orders, keep the smallest
    const orders: ((a: Slot, b: Slot) => number)[] = [
      (a, b) => b.bytes - a.bytes || a.start - b.start,
      (a, b) => a.start - b.start || b.bytes - a.bytes,
      (a, b) => (b.end - b.start) - (a.end - a.start) || b.bytes - a.bytes,
    ];
    let arenas: Arena<Slot>[] = [];
    let best = Infinity;
    for (const order of orders) {
      const plan = packArenas([...packed].sort(order), align, cap);
      const total = plan.arenas.reduce((t, a) => t + a.size, 0);
      if (total < best) {
        best = total;
        arenas = plan.arenas;
        for (const [slot, off] of plan.offsets) slot.offset = off;
      }
    }
    arenas.forEach((a, i) => {
      const buffer = this.#alloc(a.size, `arena${i}`);
      for (const s of a.placed) s.buffer = buffer;
    });
    this.stats.arenas = arenas.length;
    this.stats.plannedBytes = arenas.reduce((t, a) => t + a.size, 0) +
      own.filter((s) => s.ownBuffer).reduce((t, s) => t + s.bytes, 0);
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
      if (req.poison) this.#poison();
      await this.#launchFrom(0);
      if (req.output === "buffer") buffers = this.#takeOutputs(req.out ?? []);
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
    if (buffers) return { buffers, recycle: (b) => this.#recycle(b) };
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

  /** Each output in a buffer the caller owns: the output slot's own buffer, handed over (the
   * kernels wrote it; the slot takes a spare or a new buffer for the next run), or a copy
   * (into `out[i]` when given; an output that is an input, a view, an arena range, or the same
   * slot as an earlier output). Handing over saves a copy of every output per run: on lavapipe,
   * gelu on [4096, 4096], a run returning Tensors took 98 ms (163 CPU ms) against 74 ms for
   * the kernel alone; handing over, 64 ms (117) against 67 (106). */
  #takeOutputs(out: (GPUBuffer | undefined)[]): GPUBuffer[] {
    const made: GPUBuffer[] = [];
    const handed = new Set<Slot>();
    try {
      const res = this.#outputs.map((b, i) => {
        const bytes = Math.max(4, roundUp(b.numel * gpuBytes(b.dtype), 4));
        if (!out[i] && b.slot.handOver && b.slot.bytes === bytes && !handed.has(b.slot)) {
          handed.add(b.slot);
          return this.#handOver(b.slot);
        }
        let dst = out[i];
        if (!dst) {
          dst = createStorageBuffer(this.h, bytes, `${b.slot.label} (output ${i})`);
          made.push(dst);
        }
        if (dst !== b.slot.buffer || b.slot.offset !== 0) {
          this.#stream.copyBufferToBuffer(b.slot.buffer!, b.slot.offset, dst, 0, bytes);
        }
        return dst;
      });
      this.#stream.flush();
      return res;
    } catch (e) {
      for (const b of made) destroyBuffer(b);
      throw e;
    }
  }

  /** The slot's buffer, now the caller's; the slot gets a spare or a new buffer. */
  #handOver(s: Slot): GPUBuffer {
    const b = s.buffer!;
    const next = s.spare?.pop() ?? createStorageBuffer(this.h, s.bytes, s.label);
    this.#owned.delete(b);
    this.#owned.add(next);
    s.buffer = next;
    this.#spareOf.delete(next);
    this.#spareOf.set(b, s);
    return b;
  }

  /** A handed-over buffer the caller disposed: kept as a spare of its slot (at most two). */
  #recycle(b: GPUBuffer): boolean {
    const s = this.#spareOf.get(b);
    if (this.#disposed || !s) return false;
    s.spare ??= [];
    if (s.spare.length >= 2) return false;
    s.spare.push(b);
    this.#owned.add(b);
    return true;
  }

  #poison(): void {
    for (const s of this.slots) {
      if (s.input) continue;
      const fill = typedArrayFor(s.dtype, s.numel);
      fill.fill(POISON[s.dtype]);
      writeBuffer(this.h, s.buffer!, fill, s.dtype, s.offset);
    }
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
        this.#stream.launch(a.pipeline, [this.#groupFor(a)], a.grid, a.name);
        continue;
      }
      // no replay: a fresh bind group and one submit per launch
      this.#stream.launch(
        a.pipeline,
        [this.#bindGroup(a.pipeline, a.name, a.slots)],
        a.grid,
        a.name,
      );
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
            this.#stream.launch(a.pipeline, [this.#groupFor(a)], a.grid, a.name);
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
    this.slots.length = 0;
    this.#actions = [];
  }
}

/** Every tensor a kernel binds must fit one storage binding: say which, how big, and the
 * device's limit, before anything is allocated (WebGPU would reject the bind group only at
 * submit). Kernels do not split a binding into pieces. */
function checkBindingSizes(h: DeviceHandle, kernel: string, slots: Slot[]): void {
  const limit = h.limits.maxStorageBufferBindingSize;
  for (const s of slots) {
    if (s.bytes <= limit) continue;
    const per = s.bytes / s.numel;
    throw new DeviceError(
      `kernel '${kernel}' binds '${s.label}' (${s.numel} ${s.dtype} elements, ${s.bytes} bytes), ` +
        `over this device's maxStorageBufferBindingSize of ${limit} bytes ` +
        `(${(limit / 2 ** 20).toFixed(0)} MiB, ${h.info}); a tensor one kernel reads or writes ` +
        `must fit one binding: split it into tensors of at most ${Math.floor(limit / per)} ` +
        `elements`,
    );
  }
}
