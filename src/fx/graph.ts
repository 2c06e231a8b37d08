// fx graphs: placeholder / call_function / output nodes with shape and dtype meta.
import { type DType, shapeStr } from "../dtype.ts";
import { GraphError } from "../errors.ts";
import type { GraphJSON } from "./json_types.ts";

export interface TensorMeta {
  shape: number[];
  dtype: DType;
}

export type NodeKind = "placeholder" | "call_function" | "output";

/** Node names are identifiers; placeholder names may also be dotted paths, so a parameter keeps
 * its PyTorch fully qualified name (`layers.0.attn.q_proj.weight`, `_constant.0`). */
export const NODE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const PLACEHOLDER_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;

/** A node argument: another node, a literal, or a list of them. */
export type Arg = Node | number | boolean | string | null | Arg[];
export type Kwargs = Record<string, Arg>;

export class Node {
  /** Nodes that take this node as an argument, in graph order. */
  readonly users: Node[] = [];
  constructor(
    readonly graph: Graph,
    public name: string,
    readonly kind: NodeKind,
    /** Op name for call_function ("add", "vllm::unified_attention_with_output"); "" otherwise. */
    readonly target: string,
    readonly args: Arg[],
    readonly kwargs: Kwargs,
    /** Result meta; null for nodes that return nothing (output, mutating custom ops). */
    public meta: TensorMeta | null,
  ) {}

  /** Tensor arguments (direct or inside lists), in order. */
  inputNodes(): Node[] {
    const out: Node[] = [];
    const walk = (a: Arg) => {
      if (a instanceof Node) out.push(a);
      else if (Array.isArray(a)) a.forEach(walk);
    };
    this.args.forEach(walk);
    Object.values(this.kwargs).forEach(walk);
    return out;
  }

  toString(): string {
    return this.name;
  }
}

export function formatArg(a: Arg): string {
  if (a instanceof Node) return `%${a.name}`;
  if (Array.isArray(a)) return `[${a.map(formatArg).join(", ")}]`;
  // JSON.stringify would print Infinity and NaN as null.
  if (typeof a === "number" && !Number.isFinite(a)) {
    return Number.isNaN(a) ? "nan" : a > 0 ? "inf" : "-inf";
  }
  return JSON.stringify(a);
}

/** JSON (de)serialisation, installed by fx/json.ts: it needs the op registry, and importing it
 * here would put this module in an import cycle. */
interface GraphCodec {
  toJSON(g: Graph): GraphJSON;
  fromJSON(json: unknown): Graph;
}
let codec: GraphCodec | null = null;

export function installGraphCodec(c: GraphCodec): void {
  codec = c;
}

function needCodec(): GraphCodec {
  if (!codec) throw new GraphError("graph JSON needs src/fx/json.ts to be imported");
  return codec;
}

export class Graph {
  readonly nodes: Node[] = [];
  #names = new Set<string>();
  #counter = new Map<string, number>();

  /** A fresh node name derived from `base` (add, add_1, add_2 …); `dotted` keeps a valid
   * dotted path (placeholders). */
  uniqueName(base: string, dotted = false): string {
    const clean = dotted && PLACEHOLDER_NAME.test(base)
      ? base
      : base.replace(/[^A-Za-z0-9_]/g, "_").replace(/^(\d)/, "_$1") || "v";
    let name = clean;
    let i = this.#counter.get(clean) ?? 0;
    while (this.#names.has(name)) name = `${clean}_${++i}`;
    this.#counter.set(clean, i);
    return name;
  }

  #add(node: Node): Node {
    if (this.#names.has(node.name)) {
      throw new GraphError(`duplicate node name '${node.name}'`);
    }
    if (this.nodes.length && this.nodes[this.nodes.length - 1].kind === "output") {
      throw new GraphError(`cannot add node '${node.name}' after the output node`);
    }
    for (const inp of node.inputNodes()) {
      if (inp.graph !== this || !this.#names.has(inp.name)) {
        throw new GraphError(
          `node '${node.name}' uses '${inp.name}', which is not an earlier node of this graph`,
        );
      }
      if (!inp.users.includes(node)) inp.users.push(node);
    }
    this.#names.add(node.name);
    this.nodes.push(node);
    return node;
  }

  placeholder(name: string, meta: TensorMeta): Node {
    return this.#add(new Node(this, this.uniqueName(name, true), "placeholder", "", [], {}, meta));
  }

  /** Append a call without checking it against the op registry (see `fx/builder.ts`'s
   * `callOp`, which infers meta and validates). */
  rawCall(
    target: string,
    args: Arg[],
    kwargs: Kwargs,
    meta: TensorMeta | null,
    name?: string,
  ): Node {
    const base = name ?? target.replace(/^.*::/, "").replace(/\..*$/, "");
    return this.#add(
      new Node(this, name ?? this.uniqueName(base), "call_function", target, args, kwargs, meta),
    );
  }

  output(values: Node[]): Node {
    if (this.outputNode()) throw new GraphError("graph already has an output node");
    for (const v of values) {
      if (!v.meta) {
        throw new GraphError(`graph output '${v.name}' (${v.target}) returns no tensor`);
      }
    }
    return this.#add(new Node(this, "output", "output", "", [values], {}, null));
  }

  placeholders(): Node[] {
    return this.nodes.filter((n) => n.kind === "placeholder");
  }

  outputNode(): Node | undefined {
    return this.nodes.find((n) => n.kind === "output");
  }

  /** The graph's output nodes, in order. */
  outputs(): Node[] {
    const o = this.outputNode();
    if (!o) throw new GraphError("graph has no output node");
    return o.args[0] as Node[];
  }

  node(name: string): Node {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new GraphError(`no node named '${name}'`);
    return n;
  }

  /** The versioned JSON form (fx/json.ts); `JSON.stringify(graph)` uses it. */
  toJSON(): GraphJSON {
    return needCodec().toJSON(this);
  }

  /** Parse and re-validate a graph from its JSON form (object or string); see fx/json.ts. */
  static fromJSON(json: unknown): Graph {
    return needCodec().fromJSON(json);
  }

  /** Human-readable listing, one node per line. */
  print(): string {
    const lines: string[] = ["graph():"];
    for (const n of this.nodes) {
      const m = n.meta ? `  # ${n.meta.dtype}${shapeStr(n.meta.shape)}` : "";
      if (n.kind === "placeholder") lines.push(`    %${n.name} = placeholder()${m}`);
      else if (n.kind === "output") lines.push(`    return ${formatArg(n.args[0])}`);
      else {
        const parts = n.args.map(formatArg);
        for (const [k, v] of Object.entries(n.kwargs)) parts.push(`${k}=${formatArg(v)}`);
        const lhs = n.meta ? `%${n.name} = ` : "";
        lines.push(`    ${lhs}${n.target}(${parts.join(", ")})${m}`);
      }
    }
    return lines.join("\n");
  }
}
