// The float64 reference interpreter: the oracle for every numerical test and the CPU fallback.
// Every node computes in float64 and its result is rounded to the node's dtype (castScalar).
//
// Aliasing: views and copy_ results alias their input. After a node writes an argument in
// place (copy_, custom `out!` args), the write lands in the argument's own array, so later
// users of that node see it, and every view already taken of the same storage is recomputed.
// A write into a view lands in the view's array and is then copied through to its root.
import {
  castScalar,
  dtypeOfArray,
  numel,
  shapeStr,
  type TypedArray,
  typedArrayFor,
} from "../dtype.ts";
import { GraphError, InputError, UnsupportedOpError } from "../errors.ts";
import { whereOf, withWhere } from "../fx/builder.ts";
import { type Arg, type Graph, Node } from "../fx/graph.ts";
import type { OpDef, RefArg } from "../fx/op_def.ts";
import { sameShape } from "../fx/ops/common.ts";
import { getOp } from "../fx/registry.ts";
import type { RefTensor } from "./tensor.ts";

function describeInput(a: unknown): string {
  const dt = dtypeOfArray(a);
  if (dt) {
    return `${(a as TypedArray).constructor.name} (${dt}) of length ${(a as TypedArray).length}`;
  }
  return a === null || typeof a !== "object" ? String(a) : (a.constructor?.name ?? "object");
}

/** Run `graph` on host arrays (one per placeholder, in order; bool as Uint8Array). */
export function interpret(graph: Graph, inputs: TypedArray[]): TypedArray[] {
  const phs = graph.placeholders();
  checkCount(phs.length, inputs.length);
  const refs = phs.map((p, i): RefTensor => {
    const m = p.meta!;
    const a = inputs[i];
    const n = numel(m.shape);
    if (dtypeOfArray(a) !== m.dtype || a.length !== n) {
      throw new InputError(
        `input ${i} ('${p.name}'): expected ${m.dtype}${shapeStr(m.shape)} (${n} elements as ` +
          `${typedArrayFor(m.dtype, 0).constructor.name}), got ${describeInput(a)}`,
      );
    }
    return { shape: m.shape.slice(), dtype: m.dtype, data: Float64Array.from(a) };
  });
  const env = interpretRef(graph, refs);
  return graph.outputs().map((o) => {
    const t = env.get(o)!;
    const out = typedArrayFor(t.dtype, t.data.length);
    out.set(t.data);
    return out;
  });
}

function checkCount(want: number, got: number) {
  if (want !== got) throw new InputError(`expected ${want} inputs, got ${got}`);
}

/** Run `graph` on float64 tensors; returns every tensor-valued node's value (for tests that
 * compare intermediates). Inputs are copied, so in-place ops never touch the caller's data. */
export function interpretRef(graph: Graph, inputs: RefTensor[]): Map<Node, RefTensor> {
  const env = new Map<Node, RefTensor>();
  const phs = graph.placeholders();
  checkCount(phs.length, inputs.length);
  phs.forEach((p, i) => {
    const m = p.meta!, t = inputs[i];
    if (
      !t || t.dtype !== m.dtype || !sameShape(t.shape, m.shape) || t.data.length !== numel(m.shape)
    ) {
      throw new InputError(
        `input ${i} ('${p.name}'): expected ${m.dtype}${shapeStr(m.shape)}, got ` +
          (t ? `${t.dtype}${shapeStr(t.shape)} with ${t.data.length} values` : String(t)),
      );
    }
    env.set(p, {
      shape: m.shape.slice(),
      dtype: m.dtype,
      data: t.data.map((v) => castScalar(v, m.dtype)),
    });
  });
  const aliases = new AliasTracker(env);
  for (const node of graph.nodes) {
    if (node.kind !== "call_function") continue;
    const def = getOp(node.target);
    const where = whereOf(node.name, node.target);
    for (const i of def.mutates ?? []) aliases.viewChain(node.args[i], where);
    const result = run(node, def, env, where);
    if (result) env.set(node, result);
    aliases.record(node, def);
    for (const i of def.mutates ?? []) {
      const a = node.args[i];
      if (!(a instanceof Node)) continue;
      aliases.writeThrough(a, where);
      aliases.refreshViews(a, node);
    }
  }
  return env;
}

function argValue(a: Arg, env: Map<Node, RefTensor>, where: string): RefArg {
  if (a instanceof Node) {
    const v = env.get(a);
    if (!v) throw new GraphError(`${where}: argument '${a.name}' has no value`);
    return v;
  }
  return Array.isArray(a) ? a.map((x) => argValue(x, env, where)) : a;
}

/** Evaluate one node; the result is rounded to the node's dtype unless it aliases an input
 * (whose values are already rounded). */
function run(node: Node, def: OpDef, env: Map<Node, RefTensor>, where: string): RefTensor | null {
  const args = node.args.map((a) => argValue(a, env, where));
  let r: RefTensor | null;
  try {
    r = def.reference(args, node.kwargs, node.meta);
  } catch (e) {
    withWhere(e, where);
  }
  const m = node.meta;
  if (!m) return null;
  if (!r || !sameShape(r.shape, m.shape) || r.data.length !== numel(m.shape)) {
    throw new GraphError(
      `${where}: reference returned ${r ? shapeStr(r.shape) : "nothing"}, expected ` +
        shapeStr(m.shape),
    );
  }
  if (def.aliasOf === undefined) {
    const d = r.data;
    for (let i = 0; i < d.length; i++) d[i] = castScalar(d[i], m.dtype);
  }
  r.dtype = m.dtype;
  return r;
}

/** Which storage each node's value lives in, so in-place writes can refresh stale views. */
class AliasTracker {
  #root = new Map<Node, Node>();
  /** Views (recomputed on mutation) in graph order. */
  #views: { node: Node; def: OpDef }[] = [];
  constructor(private env: Map<Node, RefTensor>) {}

  rootOf(n: Node): Node {
    return this.#root.get(n) ?? n;
  }

  record(node: Node, def: OpDef) {
    if (def.aliasOf === undefined) return;
    const base = node.args[def.aliasOf];
    if (base instanceof Node) this.#root.set(node, this.rootOf(base));
    // copy_ returns its dst object itself, so only real views need recomputing.
    if (!def.mutates) this.#views.push({ node, def });
  }

  /** The views from the storage's root down to `arg` (empty when `arg` is not a view). In-place
   * writes through byte-reinterpreting views (view_dtype) are refused. */
  viewChain(arg: Arg, where: string): { node: Node; def: OpDef }[] {
    const chain: { node: Node; def: OpDef }[] = [];
    let n = arg instanceof Node ? arg : null;
    while (n && n.kind === "call_function") {
      const def = getOp(n.target);
      if (def.aliasOf === undefined) break;
      if (!def.mutates) {
        if (n.target.includes("::")) {
          throw new UnsupportedOpError(
            `${where}: writing in place into '${n.name}', a ${n.target} view, is not supported; ` +
              `write into its base tensor instead`,
          );
        }
        chain.unshift({ node: n, def });
      }
      const next = n.args[def.aliasOf];
      n = next instanceof Node ? next : null;
    }
    return chain;
  }

  /** A write landed in view `arg`'s own array: copy it into the root's storage. Which root
   * element each view element is comes from running the same views over the root's element
   * numbers (views only move data, so the numbers arrive exactly). */
  writeThrough(arg: Arg, where: string) {
    const chain = this.viewChain(arg, where);
    if (!chain.length) return;
    const root = this.rootOf(arg as Node);
    const rootVal = this.env.get(root)!;
    let pos: RefTensor = {
      shape: rootVal.shape.slice(),
      dtype: "f32",
      data: Float64Array.from({ length: rootVal.data.length }, (_, i) => i),
    };
    for (const { node, def } of chain) {
      const args = node.args.map((a, i) => (i === def.aliasOf ? pos : a)) as RefArg[];
      pos = def.reference(args, node.kwargs, node.meta)!;
    }
    const view = this.env.get(arg as Node)!;
    const seen = new Set<number>();
    for (let i = 0; i < pos.data.length; i++) {
      const at = pos.data[i];
      if (seen.has(at)) {
        throw new UnsupportedOpError(
          `${where}: writing in place into '${(arg as Node).name}', a view in which several ` +
            `elements share one memory location (expand), is not supported`,
        );
      }
      seen.add(at);
      rootVal.data[at] = view.data[i];
    }
  }

  /** After `writer` mutated `target`, recompute every earlier view of the same storage. */
  refreshViews(target: Node, writer: Node) {
    const root = this.rootOf(target);
    for (const { node, def } of this.#views) {
      if (node === writer || this.rootOf(node) !== root) continue;
      const fresh = run(node, def, this.env, whereOf(node.name, node.target))!;
      const old = this.env.get(node)!;
      // Keep the object identity: later lookups already hold it.
      old.data = fresh.data;
    }
  }
}
