// Custom ops registered by name (`ns::op`, also callable as `ns::op.default`), like
// torch.library ops: arg names with a trailing `!` are written in place (vLLM's
// `unified_attention_with_output(q, k, v, out!)`). The runtime later reads the opaque
// implementation fields (`wgsl`, `js`) and the scheduling flags from the CustomOpDef.
import {
  castScalar,
  checkDType,
  type DType,
  dtypeOfArray,
  numel,
  shapeStr,
  type TypedArray,
  typedArrayFor,
} from "../dtype.ts";
import { CustomOpError, DTypeError, GraphError, InductorError, ShapeError } from "../errors.ts";
import type { RefTensor } from "./ref_tensor.ts";
import type { MetaArg, OpDef, OpKwargs, RefArg } from "./op_def.ts";
import { describe, isTensorMeta } from "./ops/common.ts";
import { getOp, registerOp } from "./registry.ts";

export interface CustomOpSpec {
  /** `namespace::op`. */
  name: string;
  /** Positional arg names; a trailing `!` marks an arg the op writes in place, a trailing `?`
   * an optional arg (optional args come last; a call may leave out any tail of them). */
  args: string[];
  /** Accepted kwargs and their defaults. */
  kwargs?: Record<string, unknown>;
  /** Output shape, or null for ops that return nothing (they only mutate). */
  shape(args: MetaArg[], kwargs: OpKwargs): number[] | null;
  /** Output dtype; defaults to the first tensor argument's dtype. */
  dtype?(args: MetaArg[], kwargs: OpKwargs): DType;
  /** float64 reference; writes mutated args' `data` in place. */
  reference(args: RefArg[], kwargs: OpKwargs): RefTensor | null;
  /** A GPU implementation: WGSL for the argument metas. Bindings are, in order, every tensor
   * argument (mutated ones `read_write`, the rest `read`) then the result (`read_write`), each an
   * `array<T>` of its storage type at @group(0) @binding(i); f16 tensors follow `target.f16`. */
  wgsl?: CustomKernelFn;
  /** A host implementation for the runtime (opaque here). */
  js?: (...args: never[]) => unknown;
  /** Cannot be recorded into a replayed partition (upstream: cudagraph_unsafe). */
  replayUnsafe?: boolean;
  /** Reads device data back to the host while running. */
  hostReadback?: boolean;
  /** Index of the arg whose storage the result aliases (view-like ops). */
  aliasOf?: number;
  /** Replace an op already registered under this name. */
  replace?: boolean;
}

/** What a custom op's kernel is generated for (the adapter prepare() got). */
export interface CustomKernelTarget {
  /** "native": f16 tensors are `array<f16>` (the kernel says `enable f16;`); "emulated": the
   * adapter has no `shader-f16`, so f16 tensors are `array<u32>` holding two halves per word
   * (element 2i in the low 16 bits), computed in f32: decode with `f16_bits_to_f32` and encode
   * with `f32_to_f16_bits` from `f16Helpers`. A kernel must not write two halves of one word from
   * different invocations with plain stores (own whole words, or use atomics). */
  f16: "native" | "emulated";
  /** WGSL of `fn f16_bits_to_f32(h: u32) -> f32` and `fn f32_to_f16_bits(v: f32) -> u32`. */
  f16Helpers: string;
}

/** Builds a custom op's GPU kernel for concrete argument metas. */
export type CustomKernelFn = (
  args: MetaArg[],
  kwargs: OpKwargs,
  target: CustomKernelTarget,
) => {
  wgsl: string;
  workgroups: [number, number, number];
  /** Positional indices of the tensor arguments the kernel binds, in binding order (default:
   * every tensor argument). An argument left out is still a dependency, just not bound. */
  bind?: number[];
};

export interface CustomOpDef extends OpDef {
  kind: "custom";
  argNames: string[];
  wgsl?: CustomKernelFn;
  js?: (...args: never[]) => unknown;
  replayUnsafe: boolean;
  hostReadback: boolean;
}

const NAME = /^[A-Za-z_]\w*::[A-Za-z_]\w*$/;
const ARG = /^[A-Za-z_]\w*[!?]?$/;

export function registerCustomOp(spec: CustomOpSpec): CustomOpDef {
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    throw new GraphError(
      `registerCustomOp: expected a spec {name, args, shape, reference, ...}, got ${
        describe(spec)
      }`,
    );
  }
  const bad = (why: string) => new GraphError(`registerCustomOp('${spec.name}'): ${why}`);
  if (typeof spec.name !== "string" || !NAME.test(spec.name)) {
    throw bad("name must look like 'namespace::op'");
  }
  if (!Array.isArray(spec.args) || !spec.args.every((a) => ARG.test(a))) {
    throw bad(
      `args must be identifiers, optionally ending in '!', got ${JSON.stringify(spec.args)}`,
    );
  }
  const argNames = spec.args.map((a) => a.replace(/[!?]$/, ""));
  const required = spec.args.findIndex((a) => a.endsWith("?"));
  const minArgs = required < 0 ? spec.args.length : required;
  if (spec.args.slice(minArgs).some((a) => !a.endsWith("?"))) {
    throw bad(`optional args ('?') must come last, got ${JSON.stringify(spec.args)}`);
  }
  if (new Set(argNames).size !== argNames.length) throw bad("duplicate arg names");
  const mutates = spec.args.flatMap((a, i) => (a.endsWith("!") ? [i] : []));
  if (spec.aliasOf !== undefined && !(spec.aliasOf >= 0 && spec.aliasOf < spec.args.length)) {
    throw bad(`aliasOf ${spec.aliasOf} is not an arg index`);
  }
  if (typeof spec.shape !== "function" || typeof spec.reference !== "function") {
    throw bad("shape and reference must be functions");
  }
  for (const f of ["dtype", "wgsl", "js"] as const) {
    if (spec[f] !== undefined && typeof spec[f] !== "function") {
      throw bad(`${f} must be a function when given, got ${describe(spec[f])}`);
    }
  }
  if (spec.kwargs !== undefined && (typeof spec.kwargs !== "object" || spec.kwargs === null)) {
    throw bad(`kwargs must be an object of defaults, got ${describe(spec.kwargs)}`);
  }
  for (const k of Object.keys(spec.kwargs ?? {})) {
    if (!ARG.test(k) || /[!?]$/.test(k) || k === "__proto__") {
      throw bad(`kwarg name ${JSON.stringify(k)} is not an identifier`);
    }
  }
  const name = spec.name;
  const storageArgs = [...mutates, ...(spec.aliasOf !== undefined ? [spec.aliasOf] : [])];
  const shapeRule = (args: MetaArg[], kw: OpKwargs, where: string) => {
    for (const i of storageArgs) {
      if (isTensorMeta(args[i])) continue;
      const role = mutates.includes(i) ? "is written in place" : "is the storage the result views";
      throw new GraphError(
        `${where}: argument '${argNames[i]}' ${role} and must be a tensor, got ${
          describe(args[i])
        }`,
      );
    }
    return checkShapeResult(spec.shape(args, kw), where);
  };
  const userJs = spec.js as ((...a: unknown[]) => unknown) | undefined;
  const userWgsl = spec.wgsl;
  const def: CustomOpDef = {
    name,
    kind: "custom",
    signature: `${name}(${spec.args.join(", ")})`,
    minArgs,
    maxArgs: spec.args.length,
    kwargs: { ...spec.kwargs },
    shape: shapeRule,
    dtype(args, kw, where) {
      if (shapeRule(args, kw, where) === null) return null;
      if (spec.dtype) return checkDType(spec.dtype(args, kw), `${where}: the dtype rule's result`);
      const t = args.find(isTensorMeta);
      if (!t) throw new DTypeError(`${where}: no tensor argument to take the dtype from`);
      return t.dtype;
    },
    reference: (args, kw) => callUser(name, "reference", () => spec.reference(args, kw)),
    mutates: mutates.length ? mutates : undefined,
    aliasOf: spec.aliasOf,
    argNames,
    wgsl: userWgsl &&
      ((args, kw, target) =>
        checkKernelResult(name, callUser(name, "wgsl", () => userWgsl(args, kw, target)))),
    js: userJs && ((...a: never[]) => callUser(name, "js", () => userJs(...a))),
    replayUnsafe: spec.replayUnsafe ?? false,
    hostReadback: spec.hostReadback ?? false,
  };
  registerOp(def, spec.replace ?? false);
  return def;
}

export function isCustomOp(def: OpDef): def is CustomOpDef {
  return def.kind === "custom";
}

/** The custom op called `name` (or `name.default`), or null for built-ins and unknown names. */
export function getCustomOp(name: string): CustomOpDef | null {
  try {
    const def = getOp(name);
    return isCustomOp(def) ? def : null;
  } catch {
    return null;
  }
}

/** A shape rule's result: null (the op returns nothing) or a list of non-negative integers. */
function checkShapeResult(s: unknown, where: string): number[] | null {
  if (s === null) return null;
  if (Array.isArray(s) && s.every((d) => Number.isSafeInteger(d) && d >= 0)) return s.slice();
  throw new ShapeError(
    `${where}: the shape rule returned ${
      s === undefined ? "nothing (undefined)" : describe(s)
    }; expected a list of non-negative integers, or null for an op that returns nothing`,
  );
}

/** Run a custom op's own function; what it throws comes back naming the op and the function
 * (InductorErrors keep their class). */
export function callUser<T>(op: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const msg = `custom op '${op}': its ${what} implementation threw: ${
      e instanceof Error ? e.message : String(e)
    }`;
    const Ctor = e instanceof InductorError
      ? e.constructor as new (m: string) => InductorError
      : CustomOpError;
    const err = new Ctor(msg);
    (err as { cause?: unknown }).cause = e;
    throw err;
  }
}

function checkKernelResult(
  op: string,
  k: unknown,
): { wgsl: string; workgroups: [number, number, number] } {
  const r = k as { wgsl?: unknown; workgroups?: unknown } | null;
  const grid = r?.workgroups;
  if (
    typeof r !== "object" || r === null || typeof r.wgsl !== "string" || !Array.isArray(grid) ||
    grid.length !== 3 || !grid.every((g) => Number.isSafeInteger(g) && g >= 0)
  ) {
    throw new CustomOpError(
      `custom op '${op}': its wgsl implementation returned ${describe(k)}; expected ` +
        `{ wgsl: string, workgroups: [x, y, z] } with non-negative integer counts`,
    );
  }
  return r as { wgsl: string; workgroups: [number, number, number] };
}

/** The result of a custom op's host step (its `js`, or its reference as the CPU fallback) as a
 * typed array of the op's declared `shape` and `dtype`: a typed array of that dtype and length,
 * or a reference tensor `{ shape, data }` of that shape. Anything else is a CustomOpError. */
export function checkHostResult(
  op: string,
  what: "js" | "reference",
  result: unknown,
  shape: readonly number[],
  dtype: DType,
): TypedArray {
  const n = numel(shape);
  const want = `${dtype}${shapeStr(shape)} (${n} elements, a ${
    typedArrayFor(dtype, 0).constructor.name
  } or { shape, data })`;
  const fail = (got: string): never => {
    throw new CustomOpError(
      `custom op '${op}': its ${what} implementation returned ${got}; ` +
        `the op's result is ${want}`,
    );
  };
  if (ArrayBuffer.isView(result)) {
    const a = result as TypedArray;
    const dt = dtypeOfArray(a);
    if (dt !== dtype) fail(`a ${a.constructor.name}`);
    if (a.length !== n) fail(`a ${a.constructor.name} of ${a.length} elements`);
    return a;
  }
  const r = result as { shape?: unknown; data?: unknown } | null | undefined;
  if (typeof r === "object" && r !== null && Array.isArray(r.shape) && r.data) {
    const data = r.data as ArrayLike<number>;
    const same = r.shape.length === shape.length && r.shape.every((d, i) => d === shape[i]);
    if (!same || data.length !== n) {
      fail(`a tensor of shape ${shapeStr(r.shape as number[])} with ${data.length} values`);
    }
    const out = typedArrayFor(dtype, n);
    for (let i = 0; i < n; i++) out[i] = castScalar(Number(data[i]), dtype);
    return out;
  }
  return fail(result === undefined ? "nothing (undefined)" : describe(result));
}
