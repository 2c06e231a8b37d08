// validateGraph: re-check a graph built by hand (rawCall) or transformed by a pass against the
// registry: structure, arity, kwargs and meta. Throws on the first problem, naming the node.
import { isDType, shapeStr } from "../dtype.ts";
import { GraphError } from "../errors.ts";
import { inferCall, whereOf } from "./builder.ts";
import { formatArg, type Graph, type Node, type TensorMeta } from "./graph.ts";

const metaStr = (m: TensorMeta | null) => (m ? `${m.dtype}${shapeStr(m.shape)}` : "no tensor");

export function validateGraph(g: Graph): void {
  const seen = new Set<Node>();
  const names = new Set<string>();
  g.nodes.forEach((n, i) => {
    const where = n.kind === "call_function" ? whereOf(n.name, n.target) : `node '${n.name}'`;
    if (names.has(n.name)) throw new GraphError(`duplicate node name '${n.name}'`);
    names.add(n.name);
    if (n.graph !== g) throw new GraphError(`${where} belongs to another graph`);
    for (const inp of n.inputNodes()) {
      if (!seen.has(inp)) {
        throw new GraphError(`${where} uses '${inp.name}', which is not an earlier node`);
      }
      if (!inp.users.includes(n)) {
        throw new GraphError(`${where} uses '${inp.name}' but is missing from its users`);
      }
    }
    if (n.kind === "placeholder") checkPlaceholder(n, where);
    else if (n.kind === "output") checkOutput(n, i === g.nodes.length - 1, where);
    else {
      const { meta } = inferCall(n.target, n.args, n.kwargs, where);
      if (metaStr(meta) !== metaStr(n.meta)) {
        throw new GraphError(
          `${where}: meta is ${metaStr(n.meta)} but the op gives ${metaStr(meta)}`,
        );
      }
    }
    seen.add(n);
  });
  if (!g.outputNode()) throw new GraphError("graph has no output node");
}

function checkPlaceholder(n: Node, where: string) {
  const m = n.meta;
  if (!m || !isDType(m.dtype) || !m.shape.every((s) => Number.isInteger(s) && s >= 0)) {
    throw new GraphError(
      `${where}: placeholder needs meta {shape, dtype}, has ${JSON.stringify(m)}`,
    );
  }
}

function checkOutput(n: Node, last: boolean, where: string) {
  if (!last) throw new GraphError(`${where}: the output node must be the last node`);
  const outs = n.args[0];
  if (n.args.length !== 1 || !Array.isArray(outs)) {
    throw new GraphError(`${where}: output takes one list of nodes`);
  }
  for (const o of outs) {
    if (!(o && typeof o === "object" && !Array.isArray(o) && o.meta)) {
      throw new GraphError(`${where}: output value ${formatArg(o)} is not a tensor node`);
    }
  }
}
