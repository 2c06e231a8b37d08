// The checks of what a CompiledGraph is given: `compile(…, { params })` against the graph's
// placeholders, and `run()`'s inputs and `{ out }` tensors against the input and output specs.
// Each error is an InputError naming the input, param or output at fault (src/compile.ts calls
// these; split from it to keep the class readable).
import {
  type DType,
  dtypeOfArray,
  hostArrayName,
  numel,
  shapeStr,
  type TypedArray,
} from "./dtype.ts";
import { InputError } from "./errors.ts";
import type { Graph } from "./fx/graph.ts";
import { Tensor } from "./runtime/tensor.ts";

/** A run input: host data uploaded for the run, or a device tensor bound as it is. */
export type RunInput = TypedArray | Tensor;

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function isDetached(a: TypedArray): boolean {
  return (a.buffer as ArrayBuffer & { detached?: boolean }).detached === true;
}

/** A tensor bound to a placeholder must match its shape and dtype exactly. */
function checkTensorFits(
  t: Tensor,
  s: { name: string; shape: number[]; dtype: DType },
  where: string,
): void {
  if (t.disposed) throw new InputError(`${where}: ${t.describe()} was disposed`);
  if (t.dtype !== s.dtype || !sameShape(t.shape, s.shape)) {
    throw new InputError(
      `${where}: ${t.describe()} does not match placeholder '${s.name}' of shape ` +
        `${shapeStr(s.shape)} and dtype ${s.dtype}`,
    );
  }
}

/** Validates `compile(…, { params })` against the graph's placeholders. */
export function checkParams(
  graph: Graph,
  params: Record<string, Tensor | TypedArray>,
): Map<string, Tensor | TypedArray> {
  const out = new Map<string, Tensor | TypedArray>();
  if (params === null || typeof params !== "object") {
    throw new InputError(`compile(): params must be an object of name -> Tensor | TypedArray`);
  }
  const specs = new Map(graph.placeholders().map((p) => [p.name, p.meta!] as const));
  for (const name of Object.keys(params)) {
    const m = specs.get(name);
    if (!m) {
      throw new InputError(
        `compile(): param '${name}' is not a placeholder of the graph (placeholders: ${
          [...specs.keys()].join(", ") || "none"
        })`,
      );
    }
    const v = params[name];
    const spec = { name, shape: [...m.shape], dtype: m.dtype };
    const where = `compile(): param '${name}'`;
    if (v instanceof Tensor) checkTensorFits(v, spec, where);
    else {
      const d = dtypeOfArray(v);
      if (d !== m.dtype) {
        throw new InputError(
          `${where} must be a Tensor or a ${hostArrayName(m.dtype)} for dtype ${m.dtype}, got ` +
            `${(v as unknown as object)?.constructor?.name ?? typeof v}`,
        );
      }
      if (v.length !== numel(m.shape)) {
        throw new InputError(
          `${where} of shape ${shapeStr(m.shape)} needs ${
            numel(m.shape)
          } elements, got ${v.length}`,
        );
      }
    }
    out.set(name, v);
  }
  return out;
}

/** The checks of `CompiledGraph.run` on its inputs: one per spec, a Tensor of the spec's shape
 * and dtype or a live typed array of its dtype and element count. */
export function checkRunInputs(
  inputs: RunInput[],
  specs: { name: string; shape: number[]; dtype: DType }[],
): void {
  if (!Array.isArray(inputs) || inputs.length !== specs.length) {
    throw new InputError(
      `run() expects ${specs.length} input(s) (${specs.map((s) => s.name).join(", ")}), got ` +
        `${Array.isArray(inputs) ? inputs.length : typeof inputs}`,
    );
  }
  specs.forEach((s, i) => {
    const a = inputs[i];
    if (a instanceof Tensor) {
      checkTensorFits(a, s, `run() input ${i} ('${s.name}')`);
      return;
    }
    if (ArrayBuffer.isView(a) && (a.buffer as ArrayBuffer).detached) {
      throw new InputError(
        `input ${i} ('${s.name}'): its ArrayBuffer is detached (transferred); keep inputs ` +
          `alive until run() resolves`,
      );
    }
    const d = dtypeOfArray(a);
    if (d !== s.dtype) {
      throw new InputError(
        `input ${i} ('${s.name}') must be a ${hostArrayName(s.dtype)} for dtype ${s.dtype}, got ` +
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

/** `run({ out })`: one Tensor per output, each of that output's shape and dtype, and only with
 * `{ output: "tensor" }`. */
export function checkOutTensors(
  out: Tensor[],
  output: string,
  specs: { shape: number[]; dtype: DType }[],
): void {
  if (output !== "tensor") {
    throw new InputError(`run(): { out } needs { output: "tensor" }`);
  }
  if (!Array.isArray(out) || out.length !== specs.length) {
    throw new InputError(
      `run(): out must hold one Tensor per output (${specs.length}), got ${
        Array.isArray(out) ? out.length : typeof out
      }`,
    );
  }
  out.forEach((t, i) => {
    if (!(t instanceof Tensor)) {
      throw new InputError(`run(): out[${i}] must be a Tensor, got ${typeof t}`);
    }
    const s = specs[i];
    if (t.dtype !== s.dtype || !sameShape(t.shape, s.shape)) {
      throw new InputError(
        `run(): out[${i}] is ${t.describe()}, but output ${i} is ${shapeStr(s.shape)} ${s.dtype}`,
      );
    }
  });
}
