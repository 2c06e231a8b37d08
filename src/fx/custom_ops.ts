// Custom ops registered by name (`ns::op`, also callable as `ns::op.default`), like
// torch.library ops: arg names with a trailing `!` are written in place (vLLM's
// `unified_attention_with_output(q, k, v, out!)`). The runtime later reads the opaque
// implementation fields (`wgsl`, `js`) and the scheduling flags from the CustomOpDef.
import type { DType } from "../dtype.ts";
import { DTypeError, GraphError } from "../errors.ts";
import type { RefTensor } from "../reference/tensor.ts";
import type { MetaArg, OpDef, OpKwargs, RefArg } from "./op_def.ts";
import { isTensorMeta } from "./ops/common.ts";
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
  const def: CustomOpDef = {
    name: spec.name,
    kind: "custom",
    signature: `${spec.name}(${spec.args.join(", ")})`,
    minArgs,
    maxArgs: spec.args.length,
    kwargs: { ...spec.kwargs },
    shape: (args, kw) => spec.shape(args, kw),
    dtype(args, kw, where) {
      if (spec.shape(args, kw) === null) return null;
      if (spec.dtype) return spec.dtype(args, kw);
      const t = args.find(isTensorMeta);
      if (!t) throw new DTypeError(`${where}: no tensor argument to take the dtype from`);
      return t.dtype;
    },
    reference: (args, kw) => spec.reference(args, kw),
    mutates: mutates.length ? mutates : undefined,
    aliasOf: spec.aliasOf,
    argNames,
    wgsl: spec.wgsl,
    js: spec.js,
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
