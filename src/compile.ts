// compile(): fx graph -> lowering -> scheduler -> wrapper/codegen -> CompiledGraph. Lowering,
// scheduling and codegen run synchronously (errors surface at the call); the device and the
// pipelines are acquired on the first run (or by `prepare()`).
import { config } from "./config.ts";
import { type DType, dtypeOfArray, numel, shapeStr, type TypedArray } from "./dtype.ts";
import { InputError } from "./errors.ts";
import type { Graph } from "./fx/graph.ts";
import { getCustomOp } from "./fx/custom_ops.ts";
import { type InputSpec, trace, type TraceFn } from "./fx/tracer.ts";
import { validateGraph } from "./fx/validate.ts";
import type { IRBuffer } from "./inductor/ir.ts";
import { type LoweredGraph, lowerGraph } from "./inductor/lowering.ts";
import { scheduleEager, type SchedulerNode } from "./inductor/scheduler.ts";
import { buildProgram, printProgram, type Program } from "./inductor/wrapper.ts";
import type { RefTensor } from "./reference/tensor.ts";
import { getDevice } from "./runtime/device.ts";
import {
  type ExecProgram,
  type ExecStep,
  Executor,
  type HostIO,
  type RunOptions,
} from "./runtime/executor.ts";

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
  /** Host steps (opaque JS custom ops) per run. */
  hostOps: number;
  /** Buffers the IR holds (inputs and outputs included). */
  irBuffers: number;
  /** Bytes allocated on the device for intermediates and outputs (inputs excluded). */
  allocatedBytes: number;
  /** Sum of all intermediate and output buffer sizes without any reuse. */
  unplannedBytes: number;
}

export class CompiledGraph {
  readonly stats: CompileStats;
  #executor: Promise<Executor> | null = null;
  #disposed = false;

  constructor(
    readonly graph: Graph,
    readonly mode: CompileMode,
    readonly lowered: LoweredGraph,
    readonly nodes: SchedulerNode[],
    readonly program: Program,
  ) {
    const bytes = (b: IRBuffer) => numel(b.shape) * (b.dtype === "f16" ? 2 : 4);
    const inter = program.storages.filter((b) => !program.inputs.includes(b.name));
    this.stats = {
      kernels: program.lines.filter((l) => l.op === "kernel").length,
      hostOps: program.lines.filter((l) => l.op === "custom").length,
      irBuffers: lowered.buffers.length,
      allocatedBytes: inter.reduce((s, b) => s + bytes(b), 0),
      unplannedBytes: inter.reduce((s, b) => s + bytes(b), 0),
    };
  }

  /** Input specs taken from the graph's placeholders. */
  get inputSpecs(): { name: string; shape: number[]; dtype: DType }[] {
    return this.graph.placeholders().map((p) => ({
      name: p.name,
      shape: [...p.meta!.shape],
      dtype: p.meta!.dtype,
    }));
  }

  /** Acquire the device, allocate buffers and compile every pipeline (the first run does it
   * when not called). */
  prepare(): Promise<void> {
    return this.#ensure().then(() => {});
  }

  #ensure(): Promise<Executor> {
    if (this.#disposed) return Promise.reject(new InputError("this CompiledGraph was disposed"));
    if (!this.#executor) {
      this.#executor = getDevice().then((h) => Executor.create(h, this.#execProgram()));
      this.#executor.catch(() => (this.#executor = null));
    }
    return this.#executor;
  }

  /** Runs the graph on `inputs` (one typed array per placeholder, in order) and returns the
   * outputs as typed arrays of their dtypes (bool as Uint8Array). */
  async run(inputs: TypedArray[], opts: RunOptions = {}): Promise<TypedArray[]> {
    this.checkInputs(inputs);
    const ex = await this.#ensure();
    return await ex.run(inputs, opts);
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

  /** Awaitable dispose, for tests that count live buffers right after. */
  async disposeAsync(): Promise<void> {
    const ex = this.#executor;
    this.dispose();
    if (ex) await ex.then((e) => e.dispose(), () => {});
  }

  /** The kernels, why each boundary exists, and the program. */
  explain(): string {
    const out: string[] = [`mode: ${this.mode}`, `kernels: ${this.stats.kernels}`];
    for (const n of this.nodes) {
      out.push(`  ${n.name} [${n.kind}] ${n.members.map((m) => m.name).join(", ")} — ${n.reason}`);
    }
    out.push("", printProgram(this.program));
    return out.join("\n");
  }

  #execProgram(): ExecProgram {
    const p = this.program;
    const steps: ExecStep[] = [];
    for (const l of p.lines) {
      if (l.op === "kernel") steps.push({ kind: "kernel", spec: l.spec });
      else if (l.op === "custom") steps.push(hostStep(l.buf, p));
    }
    return {
      storages: p.storages.map((b) => ({ name: b.name, dtype: b.dtype, numel: numel(b.shape) })),
      steps,
      inputs: p.inputs,
      outputs: p.outputs,
    };
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
function hostStep(buf: IRBuffer, p: Program): ExecStep {
  const d = buf.def;
  if (d.kind !== "fallback") throw new Error("hostStep: not a fallback kernel");
  const op = getCustomOp(d.op)!;
  const storage = (n: string) => p.storageOf.get(n)!;
  return {
    kind: "host",
    name: d.op,
    run: async (io: HostIO) => {
      const tensors = new Map<string, TypedArray>();
      for (const a of d.args) {
        if (a && typeof a === "object" && "buf" in a) {
          const n = (a as { buf: string }).buf;
          tensors.set(n, await io.read(storage(n)));
        }
      }
      const shapeOf = (n: string) => p.storages.find((s) => s.name === storage(n))?.shape ?? [];
      const dtypeOf = (n: string) => p.storages.find((s) => s.name === storage(n))!.dtype;
      let result: TypedArray | RefTensor | null | void;
      if (op.js) {
        const args = d.args.map((a) =>
          a && typeof a === "object" && "buf" in a ? tensors.get((a as { buf: string }).buf)! : a
        );
        result =
          (op.js as (args: unknown[], kw: Record<string, unknown>) => TypedArray | null | void)(
            args,
            d.kwargs,
          );
        for (const n of d.mutated) io.write(storage(n), tensors.get(n)!);
      } else {
        const refs = new Map<string, RefTensor>();
        const args = d.args.map((a) => {
          if (!(a && typeof a === "object" && "buf" in a)) return a;
          const n = (a as { buf: string }).buf;
          const r: RefTensor = {
            shape: shapeOf(n),
            dtype: dtypeOf(n),
            data: Float64Array.from(tensors.get(n)!, Number),
          };
          refs.set(n, r);
          return r;
        });
        result = op.reference(args as never, d.kwargs, null);
        for (const n of d.mutated) io.write(storage(n), toTyped(refs.get(n)!));
      }
      if (buf.layout === "fixed" && result) {
        io.write(
          storage(buf.name),
          "data" in result && !(ArrayBuffer.isView(result))
            ? toTyped({ ...result, dtype: buf.dtype })
            : result as TypedArray,
        );
      }
    },
  };
}

function toTyped(r: RefTensor): TypedArray {
  const ctor = {
    f32: Float32Array,
    f16: Float16Array,
    i32: Int32Array,
    u32: Uint32Array,
    bool: Uint8Array,
  }[r.dtype];
  const out = new ctor(r.data.length);
  for (let i = 0; i < r.data.length; i++) {
    out[i] = r.dtype === "bool" ? (r.data[i] ? 1 : 0) : r.data[i];
  }
  return out;
}

/** Compile a traced function (with `options.inputs`) or a Graph. */
export function compile(fnOrGraph: TraceFn | Graph, options: CompileOptions = {}): CompiledGraph {
  const build = () => {
    const graph = typeof fnOrGraph === "function"
      ? trace(fnOrGraph, requireInputs(options))
      : fnOrGraph;
    validateGraph(graph);
    const mode = options.mode ?? "default";
    const lowered = lowerGraph(graph, { mode: mode === "eager" ? "eager" : "fused" });
    const nodes = scheduleEager(lowered);
    const program = buildProgram(lowered, nodes);
    return new CompiledGraph(graph, mode, lowered, nodes, program);
  };
  return options.config ? config.patch(options.config, build) : build();
}

function requireInputs(o: CompileOptions): InputSpec[] {
  if (!o.inputs) {
    throw new InputError(
      "compile(fn, options): options.inputs (one {shape, dtype} per argument) is required to trace a function",
    );
  }
  return o.inputs;
}
