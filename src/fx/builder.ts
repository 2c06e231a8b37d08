// callOp: the one checked way to add a call_function node. Looks the op up, checks arity and
// kwargs, fills kwarg defaults, runs the shape/dtype rules and appends the node with its meta.
import { GraphError, InductorError } from "../errors.ts";
import { type Arg, type Graph, type Kwargs, Node, type TensorMeta } from "./graph.ts";
import type { MetaArg, OpDef } from "./op_def.ts";
import { REQUIRED } from "./ops/common.ts";
import { getOp } from "./registry.ts";

/** How errors name a call: `node 'add_1' (add)`. */
export function whereOf(name: string, target: string): string {
  return `node '${name}' (${target})`;
}

/** Re-raise `e` with `where` in front (same error class), unless it already names it.
 * Custom-op rules and references do not know their node, so callers add it here. */
export function withWhere(e: unknown, where: string): never {
  if (e instanceof InductorError) {
    if (e.message.includes(where)) throw e;
    const Ctor = e.constructor as new (m: string) => InductorError;
    throw new Ctor(`${where}: ${e.message}`);
  }
  throw new GraphError(`${where}: ${e instanceof Error ? e.message : String(e)}`);
}

export interface Inferred {
  def: OpDef;
  /** Kwargs in the op's declared order, defaults filled in. */
  kwargs: Kwargs;
  meta: TensorMeta | null;
}

function toMetaArg(a: Arg, where: string): MetaArg {
  if (a instanceof Node) {
    if (!a.meta) {
      throw new GraphError(`${where}: argument '${a.name}' (${a.target}) returns no tensor`);
    }
    return a.meta;
  }
  if (Array.isArray(a)) return a.map((x) => toMetaArg(x, where));
  return a;
}

const copyArg = (a: Arg): Arg => (Array.isArray(a) ? a.map(copyArg) : a);

/** Deepest list nesting an argument may have (cat's list of tensors is 1; a JSON file nesting
 * thousands of lists would otherwise overflow the stack of every recursive walk). */
export const MAX_ARG_DEPTH = 32;

/** GraphError when `value` nests lists (and, with `intoObjects`, plain JSON objects) deeper
 * than MAX_ARG_DEPTH; checked without recursion. */
export function checkArgDepth(value: unknown, where: string, intoObjects = false): void {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (typeof v !== "object" || v === null || (!intoObjects && !Array.isArray(v))) continue;
    if (d >= MAX_ARG_DEPTH) {
      throw new GraphError(
        `${where}: an argument nests lists more than ${MAX_ARG_DEPTH} levels deep`,
      );
    }
    for (const x of Array.isArray(v) ? v : Object.values(v)) stack.push([x, d + 1]);
  }
}

/** A kwargs object whose keys are only data: `kw["__proto__"] = v` defines a kwarg instead
 * of replacing the prototype (a kwarg named so must be rejected like any unknown one). */
export function kwargsObject(): Kwargs {
  return Object.create(null) as Kwargs;
}

function normalizeKwargs(def: OpDef, kwargs: Kwargs, where: string): Kwargs {
  const accepted = Object.keys(def.kwargs);
  for (const [k, v] of Object.entries(kwargs)) {
    // own keys only: 'constructor', 'toString', '__proto__' are unknown kwargs like any other
    if (!Object.hasOwn(def.kwargs, k)) {
      const list = accepted.length ? `accepted: ${accepted.join(", ")}` : "it takes no kwargs";
      throw new GraphError(`${where}: unknown kwarg '${k}' for op '${def.name}' (${list})`);
    }
    if (v instanceof Node || (Array.isArray(v) && containsNode(v))) {
      throw new GraphError(`${where}: kwarg '${k}' is a tensor; tensors must be positional`);
    }
  }
  const out: Kwargs = {};
  for (const k of accepted) {
    const v = kwargs[k] === undefined ? def.kwargs[k] : kwargs[k];
    if (v === REQUIRED || v === undefined) {
      throw new GraphError(`${where}: missing required kwarg '${k}' (${def.signature})`);
    }
    out[k] = copyArg(v as Arg);
  }
  return out;
}

function containsNode(a: Arg[]): boolean {
  return a.some((x) => x instanceof Node || (Array.isArray(x) && containsNode(x)));
}

/** Check a call against its op and compute its meta, without touching any graph. */
export function inferCall(target: string, args: Arg[], kwargs: Kwargs, where: string): Inferred {
  try {
    const def = getOp(target);
    if (args.length < def.minArgs || args.length > def.maxArgs) {
      const want = def.minArgs === def.maxArgs
        ? `${def.minArgs}`
        : def.maxArgs === Infinity
        ? `at least ${def.minArgs}`
        : `${def.minArgs} to ${def.maxArgs}`;
      throw new GraphError(
        `${where}: expected ${want} positional args (${def.signature}), got ${args.length}`,
      );
    }
    const kw = normalizeKwargs(def, kwargs, where);
    const metaArgs = args.map((a) => toMetaArg(a, where));
    const shape = def.shape(metaArgs, kw, where);
    const dtype = def.dtype(metaArgs, kw, where);
    const meta = shape === null || dtype === null ? null : { shape, dtype };
    return { def, kwargs: kw, meta };
  } catch (e) {
    withWhere(e, where);
  }
}

/** Append `target(*args, **kwargs)` to `graph` after checking it; returns the new node. */
export function callOp(
  graph: Graph,
  target: string,
  args: Arg[],
  kwargs: Kwargs = {},
  name?: string,
): Node {
  const nodeName = name ?? graph.uniqueName(target.replace(/^.*::/, "").replace(/\..*$/, ""));
  const { kwargs: kw, meta } = inferCall(target, args, kwargs, whereOf(nodeName, target));
  return graph.rawCall(target, args.map(copyArg), kw, meta, nodeName);
}
