// Versioned JSON form of fx graphs. Node references are {"node": name}; non-finite numbers and
// -0 are {"float": "inf" | "-inf" | "nan" | "-0"} so the round trip is exact. Loading
// re-derives every call's meta through the op registry and checks it against the file.
import { type DType, isDType, shapeStr } from "../dtype.ts";
import { GraphError } from "../errors.ts";
import { callOp, checkArgDepth, kwargsObject } from "./builder.ts";
import {
  type Arg,
  Graph,
  installGraphCodec,
  type Kwargs,
  Node,
  NODE_NAME,
  PLACEHOLDER_NAME,
  type TensorMeta,
} from "./graph.ts";

export * from "./json_types.ts";
import {
  type ArgJSON,
  GRAPH_FORMAT,
  GRAPH_VERSION,
  type GraphJSON,
  type NodeJSON,
  type SpecialFloat,
} from "./json_types.ts";

function encodeArg(a: Arg): ArgJSON {
  if (a instanceof Node) return { node: a.name };
  if (Array.isArray(a)) return a.map(encodeArg);
  if (typeof a === "number") {
    if (Number.isNaN(a)) return { float: "nan" };
    if (a === Infinity) return { float: "inf" };
    if (a === -Infinity) return { float: "-inf" };
    if (Object.is(a, -0)) return { float: "-0" };
  }
  return a;
}

export function graphToJSON(graph: Graph): GraphJSON {
  const nodes = graph.nodes.map((n): NodeJSON => {
    const j: NodeJSON = { name: n.name, op: n.kind, args: n.args.map(encodeArg), kwargs: {} };
    if (n.kind === "call_function") j.target = n.target;
    for (const [k, v] of Object.entries(n.kwargs)) j.kwargs[k] = encodeArg(v);
    if (n.meta) j.meta = { shape: n.meta.shape.slice(), dtype: n.meta.dtype };
    return j;
  });
  return { format: GRAPH_FORMAT, version: GRAPH_VERSION, nodes };
}

const SPECIAL: Record<SpecialFloat, number> = {
  inf: Infinity,
  "-inf": -Infinity,
  nan: NaN,
  "-0": -0,
};
const isObj = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

/** Node names referenced anywhere inside a JSON argument. */
function refsIn(a: unknown, out: string[] = []): string[] {
  if (Array.isArray(a)) a.forEach((x) => refsIn(x, out));
  else if (isObj(a) && typeof a.node === "string") out.push(a.node);
  return out;
}

function decodeArg(a: unknown, byName: Map<string, Node>, where: string): Arg {
  if (Array.isArray(a)) return a.map((x) => decodeArg(x, byName, where));
  if (isObj(a)) {
    const keys = Object.keys(a);
    if (keys.length === 1 && typeof a.node === "string") return byName.get(a.node)!;
    if (keys.length === 1 && typeof a.float === "string" && a.float in SPECIAL) {
      return SPECIAL[a.float as SpecialFloat];
    }
    throw new GraphError(`${where}: unrecognised argument ${JSON.stringify(a)}`);
  }
  if (a === null || ["number", "boolean", "string"].includes(typeof a)) return a as Arg;
  throw new GraphError(`${where}: unrecognised argument ${String(a)}`);
}

function decodeMeta(m: unknown, where: string): TensorMeta {
  const ok = isObj(m) && Array.isArray(m.shape) &&
    m.shape.every((s) => Number.isInteger(s) && s >= 0) && isDType(m.dtype);
  if (!ok) {
    throw new GraphError(
      `${where}: bad meta ${JSON.stringify(m)}; expected {shape: non-negative integers, dtype}`,
    );
  }
  return { shape: (m.shape as number[]).slice(), dtype: m.dtype as DType };
}

/** Structural checks before building: names, references, cycles, order, output. */
function checkStructure(nodes: Record<string, unknown>[]): void {
  const index = new Map<string, number>();
  nodes.forEach((n, i) => {
    const where = `node ${i}`;
    const pattern = n.op === "placeholder" ? PLACEHOLDER_NAME : NODE_NAME;
    if (typeof n.name !== "string" || !pattern.test(n.name)) {
      throw new GraphError(
        `${where}: name ${JSON.stringify(n.name)} is not an identifier` +
          (n.op === "placeholder" ? " or a dotted path of them (a.b.0.c)" : ""),
      );
    }
    if (index.has(n.name)) throw new GraphError(`duplicate node name '${n.name}'`);
    if (!["placeholder", "call_function", "output"].includes(n.op as string)) {
      throw new GraphError(`node '${n.name}': unknown op kind ${JSON.stringify(n.op)}`);
    }
    if (!Array.isArray(n.args) || (n.kwargs !== undefined && !isObj(n.kwargs))) {
      throw new GraphError(`node '${n.name}': args must be a list and kwargs an object`);
    }
    checkArgDepth([n.args, n.kwargs, n.meta], `node '${n.name}'`, true);
    index.set(n.name, i);
  });
  const deps = nodes.map((n) => refsIn([n.args, Object.values(n.kwargs ?? {})]));
  deps.forEach((ds, i) => {
    for (const d of ds) {
      if (!index.has(d)) {
        throw new GraphError(`node '${nodes[i].name}' refers to unknown node '${d}' (dangling)`);
      }
    }
  });
  const cycle = findCycle(nodes.map((n) => n.name as string), deps);
  if (cycle) throw new GraphError(`graph has a cycle through ${cycle.join(" → ")}`);
  deps.forEach((ds, i) => {
    for (const d of ds) {
      if (index.get(d)! >= i) {
        throw new GraphError(
          `node '${
            nodes[i].name
          }' uses '${d}', which comes later; nodes must be in topological order`,
        );
      }
    }
  });
  const outs = nodes.filter((n) => n.op === "output");
  if (outs.length === 0) throw new GraphError("graph has no output node (missing output)");
  if (outs.length > 1 || nodes[nodes.length - 1].op !== "output") {
    throw new GraphError("graph must have exactly one output node, and it must come last");
  }
}

/** A cycle as [a, b, …, a] following "uses" edges, or null. */
function findCycle(names: string[], deps: string[][]): string[] | null {
  const idx = new Map(names.map((n, i) => [n, i]));
  const state = new Array<number>(names.length).fill(0); // 0 new, 1 on stack, 2 done
  const stack: number[] = [];
  const visit = (i: number): string[] | null => {
    state[i] = 1;
    stack.push(i);
    for (const d of deps[i]) {
      const j = idx.get(d)!;
      if (state[j] === 1) return [...stack.slice(stack.indexOf(j)), j].map((k) => names[k]);
      if (state[j] === 0) {
        const c = visit(j);
        if (c) return c;
      }
    }
    stack.pop();
    state[i] = 2;
    return null;
  };
  for (let i = 0; i < names.length; i++) {
    if (state[i] === 0) {
      const c = visit(i);
      if (c) return c;
    }
  }
  return null;
}

/** Parse (string or object), check and rebuild a graph; GraphError naming the node on any
 * structural problem, and the op rules' own errors for calls that do not type-check. */
export function graphFromJSON(json: unknown): Graph {
  let j = json;
  if (typeof j === "string") {
    try {
      j = JSON.parse(j);
    } catch (e) {
      throw new GraphError(`graph JSON does not parse: ${(e as Error).message}`);
    }
  }
  if (!isObj(j) || j.format !== GRAPH_FORMAT) {
    throw new GraphError(
      `not a graph: format is ${
        JSON.stringify(isObj(j) ? j.format : j)
      }, expected "${GRAPH_FORMAT}"`,
    );
  }
  if (j.version !== GRAPH_VERSION) {
    throw new GraphError(
      `unsupported graph version ${JSON.stringify(j.version)} (this build reads ${GRAPH_VERSION})`,
    );
  }
  if (!Array.isArray(j.nodes) || !j.nodes.every(isObj)) {
    throw new GraphError("graph JSON: 'nodes' must be a list of objects");
  }
  const nodes = j.nodes as Record<string, unknown>[];
  checkStructure(nodes);
  const g = new Graph();
  const byName = new Map<string, Node>();
  for (const n of nodes) {
    const name = n.name as string;
    const where = `node '${name}'`;
    let node: Node;
    if (n.op === "placeholder") {
      node = g.placeholder(name, decodeMeta(n.meta, where));
    } else if (n.op === "output") {
      const outs = decodeArg((n.args as unknown[])[0], byName, where);
      if (!Array.isArray(outs) || !outs.every((o) => o instanceof Node)) {
        throw new GraphError(`${where}: args[0] must be a list of node references`);
      }
      node = g.output(outs as Node[]);
    } else {
      if (typeof n.target !== "string") throw new GraphError(`${where}: missing target`);
      const args = (n.args as unknown[]).map((a) => decodeArg(a, byName, where));
      const kwargs: Kwargs = kwargsObject();
      for (const [k, v] of Object.entries(n.kwargs ?? {})) kwargs[k] = decodeArg(v, byName, where);
      node = callOp(g, n.target, args, kwargs, name);
      if (n.meta !== undefined) checkMeta(node, decodeMeta(n.meta, where), where);
    }
    byName.set(name, node);
  }
  return g;
}

function checkMeta(node: Node, given: TensorMeta, where: string) {
  const m = node.meta;
  const same = m && m.dtype === given.dtype && shapeStr(m.shape) === shapeStr(given.shape);
  if (!same) {
    const inferred = m ? `${m.dtype}${shapeStr(m.shape)}` : "no tensor";
    throw new GraphError(
      `${where}: meta in the JSON is ${given.dtype}${shapeStr(given.shape)} but ${node.target} ` +
        `gives ${inferred}`,
    );
  }
}

installGraphCodec({ toJSON: graphToJSON, fromJSON: graphFromJSON });
