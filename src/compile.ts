// compile(): fx graph -> GraphLowering -> Scheduler (fusion, partitions) -> WrapperCodegen
// (program, memory plan, WGSL) -> CompiledGraph. Everything up to the program runs
// synchronously, so graph errors surface at the call; the device, pipelines and (with
// autotuning) tile choices are settled on the first run or by `prepare()`.
import { config } from "./config.ts";
import {
  type DType,
  dtypeOfArray,
  gpuBytes,
  numel,
  shapeStr,
  type TypedArray,
  typedArrayFor,
} from "./dtype.ts";
import { InputError } from "./errors.ts";
import { Graph } from "./fx/graph.ts";
import { checkHostResult, getCustomOp } from "./fx/custom_ops.ts";
import { type InputSpec, trace, type TraceFn } from "./fx/tracer.ts";
import { validateGraph } from "./fx/validate.ts";
import { graphToJSON } from "./fx/json.ts";
import { registryVersion } from "./fx/registry.ts";
import { runAutotune } from "./inductor/autotune.ts";
import { counters } from "./inductor/counters.ts";
import type { IRBuffer } from "./inductor/ir.ts";
import { GraphLowering } from "./inductor/lowering.ts";
import type { Scheduler } from "./inductor/scheduler.ts";
import {
  codegenProgram,
  printProgram,
  type Program,
  type WrapperCodegen,
} from "./inductor/wrapper.ts";
import type { RefTensor } from "./reference/tensor.ts";
import { getDevice } from "./runtime/device.ts";
import { Executor, type RunOptions } from "./runtime/executor.ts";
import type { ExecFunction, ExecLine, ExecProgram, HostIO } from "./runtime/program.ts";

export type CompileMode = "default" | "eager";

export interface CompileOptions {
  /** "eager": one kernel per op (the baseline); "default": the fusing pipeline. */
  mode?: CompileMode;
  /** Input specs when compiling a function (traced with `trace`). */
  inputs?: InputSpec[];
  /** Config overrides in force while compiling (like `config.patch`). */
  config?: Record<string, unknown>;
}

export interface CompileStats {
  /** Kernel launches per run. */
  kernels: number;
  /** Host steps (custom ops on the CPU) per run. */
  hostOps: number;
  /** Partitions the scheduler made (1 when the graph is not split). */
  partitions: number;
  /** Partitions recorded once and replayed. */
  replayablePartitions: number;
  /** Bytes of device memory for intermediates and outputs after memory planning. */
  peakBytes: number;
  /** Bytes of every intermediate and output without any reuse. */
  unplannedBytes: number;
  /** IR buffers (inputs and outputs included). */
  irBuffers: number;
}

export class CompiledGraph {
  readonly stats: CompileStats;
  #executor: Promise<Executor> | null = null;
  #disposed = false;
  #config: Record<string, unknown>;

  constructor(
    readonly graph: Graph,
    readonly mode: CompileMode,
    readonly scheduler: Scheduler,
    readonly program: Program,
    configOverrides: Record<string, unknown> = {},
  ) {
    this.#config = configOverrides;
    const wrappers = [program.main, ...program.partitions.values()];
    const lines = wrappers.flatMap((w) => w.lines);
    const bytes = (name: string) => {
      const b = scheduler.byName.get(name)!;
      return numel(b.shape) * gpuBytes(b.dtype);
    };
    let planned = 0, unplanned = 0;
    for (const l of lines) {
      if (l.op === "alloc") {
        planned += bytes(l.buf);
        unplanned += bytes(l.buf);
      } else if (l.op === "reuse") unplanned += bytes(l.next);
    }
    this.stats = {
      kernels: lines.filter((l) => l.op === "kernel").length,
      hostOps: lines.filter((l) => l.op === "custom" && l.buf.layout !== "alias").length,
      partitions: program.partitions.size ? program.partitionList.length : 1,
      replayablePartitions: program.partitions.size,
      peakBytes: planned,
      unplannedBytes: unplanned,
      irBuffers: scheduler.graph.buffers.length,
    };
  }

  /** The scheduler nodes (kernels and custom-op steps) in order. */
  get nodes() {
    return this.scheduler.nodes;
  }

  /** Input specs taken from the graph's placeholders. */
  get inputSpecs(): { name: string; shape: number[]; dtype: DType }[] {
    return this.graph.placeholders().map((p) => ({
      name: p.name,
      shape: [...p.meta!.shape],
      dtype: p.meta!.dtype,
    }));
  }

  /** Acquire the device, autotune (when configured), allocate buffers and compile every
   * pipeline; the first run does it when not called. */
  prepare(): Promise<void> {
    return this.#ensure().then(() => {});
  }

  #ensure(): Promise<Executor> {
    if (this.#disposed) return Promise.reject(new InputError("this CompiledGraph was disposed"));
    if (!this.#executor) {
      this.#executor = config.patch(this.#config, async () => {
        const h = await getDevice();
        await runAutotune(h, this.program);
        const ex = await Executor.create(h, this.#execProgram(), {
          replay: config.bool("inductor.replay"),
          arena: config.bool("inductor.memoryPlanning"),
        });
        counters.partitionsRecorded += ex.stats.recordedPartitions;
        return ex;
      });
      this.#executor.catch(() => (this.#executor = null));
    }
    return this.#executor;
  }

  /** Runs the graph on `inputs` (one typed array per placeholder, in order) and returns the
   * outputs as typed arrays of their dtypes (bool as Uint8Array). */
  async run(inputs: TypedArray[], opts: RunOptions = {}): Promise<TypedArray[]> {
    this.checkInputs(inputs);
    const ex = await this.#ensure();
    // the caller may have transferred or resized an input's buffer while the device was being
    // prepared: say so rather than fail inside the upload
    this.checkInputs(inputs);
    return await ex.run(inputs, opts);
  }

  /** Device-side timing: replays the recorded launches `iterations` times back to back, with
   * no uploads or readbacks, and waits for the device; returns milliseconds per iteration. Run
   * once with real inputs first (the buffers keep them). */
  /** Device memory the run uses after preparation: `plannedBytes` (arena total with
   * inductor.memoryPlanning, else the reuse-planned slots), `reuseBytes`, `unplannedBytes`,
   * `arenas`, launches and host steps per run. */
  async memoryStats(): Promise<Executor["stats"]> {
    return { ...(await this.#ensure()).stats };
  }

  async timeDevice(iterations = 10, opts: { submitEach?: boolean } = {}): Promise<number> {
    const ex = await this.#ensure();
    return (await ex.replay(iterations, opts)) / iterations;
  }

  /** The outputs as they are on the device now (after `timeDevice`), read back. */
  async readOutputs(): Promise<TypedArray[]> {
    return await (await this.#ensure()).readOutputs();
  }

  checkInputs(inputs: TypedArray[]): void {
    const specs = this.inputSpecs;
    if (!Array.isArray(inputs) || inputs.length !== specs.length) {
      throw new InputError(
        `run() expects ${specs.length} input(s) (${specs.map((s) => s.name).join(", ")}), got ` +
          `${Array.isArray(inputs) ? inputs.length : typeof inputs}`,
      );
    }
    specs.forEach((s, i) => {
      const a = inputs[i];
      if (ArrayBuffer.isView(a) && (a.buffer as ArrayBuffer).detached) {
        throw new InputError(
          `input ${i} ('${s.name}'): its ArrayBuffer is detached (transferred); keep inputs ` +
            `alive until run() resolves`,
        );
      }
      const d = dtypeOfArray(a);
      if (d !== s.dtype) {
        throw new InputError(
          `input ${i} ('${s.name}') must be a ${arrayName(s.dtype)} for dtype ${s.dtype}, got ` +
            `${a?.constructor?.name ?? typeof a}`,
        );
      }
      const n = numel(s.shape);
      if (a.length !== n) {
        throw new InputError(
          `input ${i} ('${s.name}') of shape ${
            shapeStr(s.shape)
          } needs ${n} elements, got ${a.length}`,
        );
      }
    });
  }

  /** Frees every GPU buffer this graph made. */
  dispose(): void {
    this.#disposed = true;
    const ex = this.#executor;
    this.#executor = null;
    ex?.then((e) => e.dispose(), () => {});
  }

  /** dispose(), awaiting a preparation still in flight (tests count live buffers after it). */
  async disposeAsync(): Promise<void> {
    const ex = this.#executor;
    this.dispose();
    if (ex) await ex.then((e) => e.dispose(), () => {});
  }

  /** Partitions, kernels (and why each boundary exists) and the memory-planned program. */
  explain(): string {
    const s = this.stats;
    const out: string[] = [
      `mode: ${this.mode}; kernels: ${s.kernels}; host ops: ${s.hostOps}; partitions: ` +
      `${s.partitions} (${s.replayablePartitions} replayable); memory: ${s.peakBytes} bytes ` +
      `planned, ${s.unplannedBytes} unplanned`,
    ];
    if (this.program.partitions.size) {
      this.program.partitionList.forEach((p, i) => {
        const names = p.nodes.map((n) => n.name).join(", ");
        out.push(
          `partition ${i} ${p.skip ? `[runs in call: ${p.reason}]` : "[replayed]"}: ${names}`,
        );
      });
    }
    out.push("", this.scheduler.explain(), "", printProgram(this.program));
    return out.join("\n");
  }

  #execProgram(): ExecProgram {
    const functions = new Map<string, ExecFunction>();
    const p = this.program;
    functions.set("call", this.#execFunction(p.main, false));
    for (const [i, w] of p.partitions) functions.set(`partition_${i}`, this.#execFunction(w, true));
    return {
      functions,
      inputs: this.inputSpecs.map((s) => ({ name: s.name, dtype: s.dtype, numel: numel(s.shape) })),
    };
  }

  #execFunction(w: WrapperCodegen, replayable: boolean): ExecFunction {
    const s = this.scheduler;
    const info = (name: string) => {
      const b = s.byName.get(name)!;
      return { dtype: b.dtype, numel: numel(b.shape) };
    };
    const lines: ExecLine[] = [];
    for (const l of w.lines) {
      switch (l.op) {
        case "alloc":
          lines.push({ op: "alloc", name: l.buf, ...info(l.buf) });
          break;
        case "reuse":
          lines.push({ op: "reuse", prev: l.prev, next: l.next, ...info(l.next) });
          break;
        case "free":
          if (!l.reused) lines.push({ op: "free", name: l.buf });
          break;
        case "kernel":
          lines.push({ op: "kernel", spec: l.spec });
          break;
        case "custom":
          if (l.buf.layout === "alias") {
            lines.push({ op: "alias", name: l.buf.name, of: l.buf.target!, ...info(l.buf.name) });
          } else lines.push(hostLine(l.buf, s));
          break;
        case "partition":
          lines.push({
            op: "call",
            fn: `partition_${l.index}`,
            inputs: l.sig.inputs,
            outputs: l.sig.outputs,
            dealloc: l.sig.inputs.filter((i) => l.sig.inputDeallocation.get(i)),
          });
          break;
      }
    }
    return { params: w.signature?.inputs ?? [], lines, returns: w.returns(), replayable };
  }
}

function arrayName(d: DType): string {
  return {
    f32: "Float32Array",
    f16: "Float16Array",
    i32: "Int32Array",
    u32: "Uint32Array",
    bool: "Uint8Array",
  }[d];
}

/** A custom op run on the host: its `js` implementation on typed arrays, or else its float64
 * reference (the CPU fallback). Mutated args and the result are written back. */
function hostLine(buf: IRBuffer, s: Scheduler): ExecLine {
  const d = buf.def;
  if (d.kind !== "fallback") throw new Error("hostLine: not a fallback kernel");
  const op = getCustomOp(d.op)!;
  const argName = (a: unknown) =>
    a && typeof a === "object" && "buf" in a ? s.realName((a as { buf: string }).buf) : null;
  const reads = d.args.map(argName).filter((n): n is string => n !== null);
  return {
    op: "host",
    name: d.op,
    reads,
    run: async (io: HostIO) => {
      const tensors = new Map<string, TypedArray>();
      for (const n of reads) tensors.set(n, await io.read(n));
      const mutated = d.mutated.map(s.realName);
      let result: unknown;
      if (op.js) {
        const args = d.args.map((a) => argName(a) ? tensors.get(argName(a)!)! : a);
        result = (op.js as (args: unknown[], kw: Record<string, unknown>) => unknown)(
          args,
          d.kwargs,
        );
        for (const n of mutated) io.write(n, tensors.get(n)!);
      } else {
        const refs = new Map<string, RefTensor>();
        const args = d.args.map((a) => {
          const n = argName(a);
          if (!n) return a;
          const b = s.byName.get(n)!;
          const r: RefTensor = {
            shape: [...b.shape],
            dtype: b.dtype,
            data: Float64Array.from(tensors.get(n)!, Number),
          };
          refs.set(n, r);
          return r;
        });
        result = op.reference(args as never, d.kwargs, null);
        for (const n of mutated) io.write(n, toTyped(refs.get(n)!));
      }
      if (buf.layout === "fixed") {
        // a short array, the wrong dtype or nothing is the op's error, not silent garbage
        const what = op.js ? "js" : "reference";
        io.write(buf.name, checkHostResult(op.name, what, result, buf.shape, buf.dtype));
      }
    },
  };
}

function toTyped(r: RefTensor): TypedArray {
  const out = typedArrayFor(r.dtype, r.data.length);
  for (let i = 0; i < r.data.length; i++) {
    out[i] = r.dtype === "bool" ? (r.data[i] ? 1 : 0) : r.data[i];
  }
  return out;
}

/** inductor.debug: the scheduler's kernels, the program and every kernel's WGSL. */
export function debugDump(sched: Scheduler, program: Program): string {
  const out = [sched.explain(), "", printProgram(program)];
  for (const w of [...program.partitions.values(), program.main]) {
    for (const l of w.lines) {
      if (l.op === "kernel") out.push("", `// ---- ${l.spec.name} (${w.name})`, l.spec.wgsl);
    }
  }
  return out.join("\n");
}

/** Compiled programs by (mode, op registry version, config, graph JSON); a program is shared
 * by every CompiledGraph made from it (each has its own buffers and pipelines state). */
const compileCache = new Map<string, { scheduler: Scheduler; program: Program }>();
const COMPILE_CACHE_SIZE = 64;

function remember(key: string, v: { scheduler: Scheduler; program: Program }): void {
  compileCache.delete(key);
  compileCache.set(key, v);
  if (compileCache.size > COMPILE_CACHE_SIZE) {
    compileCache.delete(compileCache.keys().next().value!);
  }
}

/** Compile a traced function (with `options.inputs`) or a Graph. */
export function compile(fnOrGraph: TraceFn | Graph, options: CompileOptions = {}): CompiledGraph {
  checkCompileArgs(fnOrGraph, options);
  const overrides = options.config ?? {};
  return config.patch(overrides, () => {
    const graph = typeof fnOrGraph === "function"
      ? trace(fnOrGraph, requireInputs(options))
      : fnOrGraph;
    validateGraph(graph);
    const mode = options.mode ?? "default";
    // warm compiles: the same graph, mode, knobs and op registry give the same program
    const key = `${mode}\n${registryVersion()}\n${config.explain()}\n${
      JSON.stringify(graphToJSON(graph))
    }`;
    const hit = compileCache.get(key);
    if (hit) {
      counters.compileCacheHits++;
      return new CompiledGraph(graph, mode, hit.scheduler, hit.program, overrides);
    }
    const bindingLimit = config.int("inductor.maxKernelBindings");
    const lmode = mode === "eager" ? "eager" : "fused";
    const lowering = new GraphLowering(graph, { mode: lmode, bindingLimit });
    lowering.run();
    const sched = lowering.updateScheduler({ mode: lmode, bindingLimit });
    const program = codegenProgram(sched);
    remember(key, { scheduler: sched, program });
    if (config.bool("inductor.debug")) console.log(debugDump(sched, program));
    counters.graphsCompiled++;
    counters.partitions += program.partitions.size ? program.partitionList.length : 1;
    counters.replayablePartitions += program.partitions.size;
    return new CompiledGraph(graph, mode, sched, program, overrides);
  });
}

const MODES: readonly CompileMode[] = ["default", "eager"];

/** What compile() accepts, checked before anything is traced or lowered. */
function checkCompileArgs(fnOrGraph: unknown, options: unknown): void {
  if (typeof fnOrGraph !== "function" && !(fnOrGraph instanceof Graph)) {
    const got = fnOrGraph === null
      ? "null"
      : Array.isArray(fnOrGraph)
      ? "an array"
      : typeof fnOrGraph;
    throw new InputError(
      `compile() takes a function (traced with options.inputs) or a Graph, got ${got}` +
        (typeof fnOrGraph === "object" && fnOrGraph !== null
          ? " (a graph in JSON form loads with graphFromJSON first)"
          : ""),
    );
  }
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InputError(`compile(): options must be an object, got ${String(options)}`);
  }
  const o = options as CompileOptions;
  if (o.mode !== undefined && !MODES.includes(o.mode)) {
    throw new InputError(
      `compile(): unknown mode ${JSON.stringify(o.mode)}; expected one of ${MODES.join(", ")}`,
    );
  }
  if (o.config !== undefined && (typeof o.config !== "object" || o.config === null)) {
    throw new InputError(`compile(): options.config must be an object of config overrides`);
  }
}

function requireInputs(o: CompileOptions): InputSpec[] {
  if (!o.inputs) {
    throw new InputError(
      "compile(fn, options): options.inputs (one {shape, dtype} per argument) is required to trace a function",
    );
  }
  return o.inputs;
}
