// The program a CompiledGraph hands the executor: the wrapper's functions as exec lines, host
// steps for custom ops run on the CPU (their `js` implementation or float64 reference), and the
// graph inputs the program writes in place. Split from src/compile.ts; upstream this is the
// Python wrapper module that TorchInductor's WrapperCodeGen emits and runs.
import { type DType, numel, type TypedArray, typedArrayFor } from "./dtype.ts";
import { checkHostResult, getCustomOp } from "./fx/custom_ops.ts";
import type { KernelChoice } from "./codegen/autotune.ts";
import type { Program, WrapperCodegen } from "./codegen/wrapper.ts";
import type { IRBuffer } from "./inductor/ir.ts";
import { isMutation, type Scheduler } from "./inductor/scheduler.ts";
import type { RefTensor } from "./reference/tensor.ts";
import type { ExecFunction, ExecLine, ExecProgram, HostIO } from "./runtime/program.ts";

/** The executor's program: the wrapper's `call` and each replayable partition as functions of
 * exec lines, with `kernels` (prepare()'s choices for the adapter) in place of the compile-time
 * kernels they replace; `specs` are every placeholder in graph order. */
export function execProgram(
  p: Program,
  s: Scheduler,
  specs: { name: string; shape: number[]; dtype: DType }[],
  kernels: KernelChoice,
): ExecProgram {
  const functions = new Map<string, ExecFunction>();
  functions.set("call", execFunction(s, p.main, false, kernels));
  for (const [i, w] of p.partitions) {
    functions.set(`partition_${i}`, execFunction(s, w, true, kernels));
  }
  return {
    functions,
    inputs: specs.map((spec) => ({
      name: spec.name,
      dtype: spec.dtype,
      numel: numel(spec.shape),
    })),
  };
}

/** One wrapper function as exec lines (allocations, reuses, kernels, host steps, calls). */
function execFunction(
  s: Scheduler,
  w: WrapperCodegen,
  replayable: boolean,
  kernels: KernelChoice,
): ExecFunction {
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
        lines.push({ op: "kernel", spec: kernels.get(l) ?? l.spec });
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

/** Graph inputs the program writes in place (pointwise mutations and custom ops' out! args). */
export function mutatedInputsOf(s: Scheduler): Set<string> {
  const inputs = new Set(s.graph.inputs);
  const out = new Set<string>();
  for (const b of s.graph.buffers) {
    const targets = isMutation(b) ? [b.target!] : [];
    if (b.def.kind === "fallback") targets.push(...b.def.mutated);
    for (const t of targets) {
      const st = s.storage(t);
      if (inputs.has(st)) out.add(st);
    }
  }
  return out;
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
