// compile(): fx graph -> GraphLowering -> Scheduler (fusion, partitions) -> WrapperCodegen
// (program, memory plan, WGSL) -> CompiledGraph. Everything up to the program runs
// synchronously, so graph errors surface at the call; the device, pipelines and (with
// autotuning) tile choices are settled on the first run or by `prepare()`. The checks of
// params, run inputs and `{ out }` are in run_inputs.ts; the executor's program (exec lines,
// host steps) is built by exec_program.ts.
import { config } from "./config.ts";
import { type DType, gpuBytes, numel, type TypedArray } from "./dtype.ts";
import { InputError } from "./errors.ts";
import { Graph } from "./fx/graph.ts";
import { type InputSpec, trace, type TraceFn } from "./fx/tracer.ts";
import { validateGraph } from "./fx/validate.ts";
import { graphToJSON } from "./fx/json.ts";
import { registryVersion } from "./fx/registry.ts";
import { type KernelChoice, runAutotune } from "./codegen/autotune.ts";
import type { KernelSpec } from "./codegen/wgsl/kernel_spec.ts";
import { WGSL_BACKEND } from "./codegen/wgsl/generate.ts";
import { installKernelBackend } from "./inductor/kernel_backend.ts";
import { COMPILE_TARGET, describeTarget, type KernelTarget } from "./codegen/wgsl/target.ts";
import { counters } from "./inductor/counters.ts";
import { GraphLowering } from "./inductor/lowering.ts";
import type { Scheduler } from "./inductor/scheduler.ts";
import { codegenProgram, printProgram, type Program } from "./codegen/wrapper.ts";
import { type DeviceHandle, getDevice } from "./runtime/device.ts";
import { Executor, type InputSource, type RunOptions } from "./runtime/executor.ts";
import { Tensor, tensor as makeTensor } from "./runtime/tensor.ts";
import type { ExecProgram } from "./runtime/program.ts";
import { execProgram, mutatedInputsOf } from "./exec_program.ts";
import {
  checkOutTensors,
  checkParams,
  checkRunInputs,
  isDetached,
  type RunInput,
} from "./run_inputs.ts";

// The scheduler asks codegen for trial and final kernels through this interface (inductor never
// imports codegen); installed for schedulers built outside compile() too (tests, patches).
installKernelBackend(WGSL_BACKEND);

export type CompileMode = "default" | "eager";

export interface CompileOptions {
  /** "eager": one kernel per op (the baseline); "default": the fusing pipeline. */
  mode?: CompileMode;
  /** Input specs when compiling a function (traced with `trace`). */
  inputs?: InputSpec[];
  /** Config overrides in force while compiling (like `config.patch`). */
  config?: Record<string, unknown>;
  /** Placeholders bound once, by name (upstream: parameters are static inputs). A Tensor is
   * bound as it is; a typed array is uploaded once, at prepare. `run()` takes the rest. */
  params?: Record<string, Tensor | TypedArray>;
}

/** Per-run options of `CompiledGraph.run`. */
export interface RunCallOptions extends RunOptions {
  /** "array" (default): host arrays, after one wait on the GPU. "tensor": Tensors that stay on
   * the device (no wait; reading one waits for the work that writes it). */
  output?: "array" | "tensor";
  /** With output "tensor": write the outputs into these tensors (one per output) instead of
   * fresh ones. */
  out?: Tensor[];
}

/** A run input: host data uploaded for the run, or a device tensor bound as it is. */
export type { RunInput } from "./run_inputs.ts";

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
  #handle: DeviceHandle | null = null;
  /** The kernels prepare() chose for its adapter (the program keeps the compile-time ones). */
  #prepared: { target: KernelTarget; kernels: KernelChoice } | null = null;
  #disposed = false;
  #config: Record<string, unknown>;
  /** Params by placeholder name; typed arrays become tensors this graph owns at prepare. */
  #params: Map<string, Tensor | TypedArray>;
  #ownedParams = new Map<string, Tensor>();
  /** Placeholders written in place by the graph (copy_, index_copy_, a custom op's out!). */
  readonly mutatedInputs: ReadonlySet<string>;

  constructor(
    readonly graph: Graph,
    readonly mode: CompileMode,
    readonly scheduler: Scheduler,
    readonly program: Program,
    configOverrides: Record<string, unknown> = {},
    params: Record<string, Tensor | TypedArray> = {},
  ) {
    this.#config = configOverrides;
    this.#params = checkParams(graph, params);
    this.mutatedInputs = mutatedInputsOf(scheduler);
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

  /** What `run()` takes, in order: the placeholders not bound as params. */
  get inputSpecs(): { name: string; shape: number[]; dtype: DType }[] {
    return this.#allSpecs().filter((s) => !this.#params.has(s.name));
  }

  /** Names of the placeholders bound as params. */
  get paramNames(): string[] {
    return [...this.#params.keys()];
  }

  #allSpecs(): { name: string; shape: number[]; dtype: DType }[] {
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
    if (this.#executor && this.#handle?.lost) {
      // the device was lost: rebuild on the next one (README: re-acquired on the next call)
      const old = this.#executor;
      this.#executor = null;
      this.#handle = null;
      old.then((e) => e.dispose(), () => {});
      for (const t of this.#ownedParams.values()) t.dispose();
      this.#ownedParams.clear();
    }
    if (!this.#executor) {
      this.#executor = config.patch(this.#config, async () => {
        const h = await getDevice();
        this.#handle = h;
        for (const [name, v] of this.#params) {
          if (v instanceof Tensor) await v.bufferOn(h, `param '${name}'`);
          else if (!this.#ownedParams.has(name)) {
            const shape = this.#allSpecs().find((s) => s.name === name)!.shape;
            this.#ownedParams.set(name, makeTensor(v, shape, { name }));
          }
        }
        const prepared = await runAutotune(h, this.program);
        this.#prepared = prepared;
        if (config.bool("inductor.debug")) console.log(this.kernelsText());
        const ex = await Executor.create(h, this.#execProgram(prepared.kernels), {
          replay: config.bool("inductor.replay"),
          arena: config.bool("inductor.memoryPlanning"),
          f16Storage: prepared.target.f16,
        });
        counters.partitionsRecorded += ex.stats.recordedPartitions;
        return ex;
      });
      this.#executor.catch(() => (this.#executor = null));
    }
    return this.#executor;
  }

  /** Runs the graph on `inputs` (one typed array or Tensor per input of `inputSpecs`, in
   * order) and returns the outputs as typed arrays of their dtypes (bool as Uint8Array), or as
   * Tensors with `{ output: "tensor" }`. Tensors are bound as they are; a graph that writes an
   * input writes the caller's tensor (or, for a typed array, copies the result back into it). */
  run(inputs: RunInput[], opts?: RunCallOptions & { output?: "array" }): Promise<TypedArray[]>;
  run(inputs: RunInput[], opts: RunCallOptions & { output: "tensor" }): Promise<Tensor[]>;
  run(inputs: RunInput[], opts?: RunCallOptions): Promise<TypedArray[] | Tensor[]>;
  async run(inputs: RunInput[], opts: RunCallOptions = {}): Promise<TypedArray[] | Tensor[]> {
    this.checkInputs(inputs);
    const output = opts.output ?? "array";
    if (output !== "array" && output !== "tensor") {
      throw new InputError(
        `run(): output must be "array" or "tensor", got ${JSON.stringify(output)}`,
      );
    }
    const outSpecs = this.outputSpecs;
    if (opts.out !== undefined) checkOutTensors(opts.out, output, outSpecs);
    const ex = await this.#ensure();
    const h = this.#handle!;
    // every placeholder in graph order: params from the binding, the rest from `inputs`
    const specs = this.#allSpecs();
    const sources: InputSource[] = [];
    const writeBack: number[] = [];
    let next = 0;
    for (let i = 0; i < specs.length; i++) {
      const s = specs[i];
      const p = this.#params.get(s.name);
      const v = p ? (this.#ownedParams.get(s.name) ?? p) : inputs[next++];
      if (v instanceof Tensor) {
        const where = p ? `param '${s.name}'` : `run() input '${s.name}'`;
        sources.push({ buffer: await v.bufferOn(h, where) });
      } else {
        if (isDetached(v)) {
          throw new InputError(
            `input ${next - 1} ('${s.name}'): its ArrayBuffer is detached (transferred) before ` +
              `the run could upload it; keep inputs alive until run() resolves`,
          );
        }
        sources.push({ data: v });
        if (this.mutatedInputs.has(s.name)) writeBack.push(i);
      }
    }
    const out = opts.out?.map((t, i) => t.bufferNow(h, `run() out[${i}]`));
    const r = await ex.run({
      inputs: sources,
      output: output === "tensor" ? "buffer" : "array",
      out,
      writeBack,
      poison: opts.poison,
    });
    if (output === "array") return r.arrays!;
    if (opts.out) return opts.out;
    return r.buffers!.map((b, i) =>
      Tensor.adopt(h, b, outSpecs[i].shape, outSpecs[i].dtype, `output ${i}`, r.recycle)
    );
  }

  /** Shapes and dtypes of the outputs, in order. */
  get outputSpecs(): { shape: number[]; dtype: DType }[] {
    return this.scheduler.graph.outputs.map((n) => {
      const b = this.scheduler.byName.get(n)!;
      return { shape: [...b.shape], dtype: b.dtype };
    });
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

  /** The outputs as they are on the device now (after `timeDevice`), read back. (A run that
   * returned Tensors handed its output buffers to them: read those instead.) */
  async readOutputs(): Promise<TypedArray[]> {
    return await (await this.#ensure()).readOutputs();
  }

  /** Throws an InputError naming the input when `inputs` do not fit `inputSpecs`. */
  checkInputs(inputs: RunInput[]): void {
    checkRunInputs(inputs, this.inputSpecs);
  }

  /** Frees every GPU buffer this graph made. */
  dispose(): void {
    this.#disposed = true;
    const ex = this.#executor;
    this.#executor = null;
    ex?.then((e) => e.dispose(), () => {});
    for (const t of this.#ownedParams.values()) t.dispose();
    this.#ownedParams.clear();
  }

  /** dispose(), awaiting a preparation still in flight (tests count live buffers after it). */
  async disposeAsync(): Promise<void> {
    const ex = this.#executor;
    this.dispose();
    if (ex) await ex.then((e) => e.dispose(), () => {});
  }

  /** Partitions, kernels (and why each boundary exists), the memory-planned program, and the
   * kernels as they run with the adapter they were prepared for (`wgsl: false` leaves out their
   * WGSL, keeping the adapter line). */
  explain(opts: { wgsl?: boolean } = {}): string {
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
    out.push("", this.kernelsText(opts.wgsl ?? true));
    return out.join("\n");
  }

  /** What the kernels are generated for: the adapter prepare() chose them for (with the f16
   * storage, reduction and matmul paths), or the compile-time target before prepare(). */
  get target(): KernelTarget {
    return this.#prepared?.target ?? COMPILE_TARGET;
  }

  /** Every launched kernel in program order, as it runs: after prepare() the kernels chosen for
   * the adapter, before it the compile-time ones. */
  kernelSpecs(): KernelSpec[] {
    const p = this.program;
    const out: KernelSpec[] = [];
    for (const w of [...p.partitions.values(), p.main]) {
      for (const l of w.lines) {
        if (l.op === "kernel") out.push(this.#prepared?.kernels.get(l) ?? l.spec);
      }
    }
    return out;
  }

  /** The target line and the WGSL of every kernel (explain(), inductor.debug at prepare). */
  kernelsText(wgsl = true): string {
    const head = this.#prepared
      ? `kernels as prepared for the adapter (${describeTarget(this.target)}):`
      : `kernels as compiled, not yet prepared for an adapter: prepare() regenerates them for ` +
        `the adapter it gets (${describeTarget(this.target)}):`;
    if (!wgsl) return head;
    const out = [head];
    for (const k of this.kernelSpecs()) out.push("", `// ---- ${k.name}`, k.wgsl.trimEnd());
    return out.join("\n");
  }

  #execProgram(kernels: KernelChoice): ExecProgram {
    return execProgram(this.program, this.scheduler, this.#allSpecs(), kernels);
  }
}

/** inductor.debug: the scheduler's kernels, the program and every kernel's WGSL as compiled
 * (prepare() prints the kernels it regenerates for the adapter). */
export function debugDump(sched: Scheduler, program: Program): string {
  const out = [sched.explain(), "", printProgram(program)];
  out.push("", `compile-time WGSL (prepare() regenerates it for the adapter it gets):`);
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
      return new CompiledGraph(graph, mode, hit.scheduler, hit.program, overrides, options.params);
    }
    const bindingLimit = config.int("inductor.maxKernelBindings");
    const lmode = mode === "eager" ? "eager" : "fused";
    const lowering = new GraphLowering(graph, { mode: lmode, bindingLimit });
    lowering.run();
    const sched = lowering.updateScheduler({ mode: lmode, bindingLimit, backend: WGSL_BACKEND });
    const program = codegenProgram(sched);
    remember(key, { scheduler: sched, program });
    if (config.bool("inductor.debug")) console.log(debugDump(sched, program));
    counters.graphsCompiled++;
    counters.partitions += program.partitions.size ? program.partitionList.length : 1;
    counters.replayablePartitions += program.partitions.size;
    return new CompiledGraph(graph, mode, sched, program, overrides, options.params);
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
