// JSON round trips are exact; malformed files fail with errors naming the node.
import assert from "node:assert/strict";
import { GraphError, ShapeError, UnsupportedOpError } from "../src/errors.ts";
import { registerCustomOp } from "../src/fx/custom_ops.ts";
import { Graph, type TensorMeta } from "../src/fx/graph.ts";
import { GRAPH_FORMAT, graphFromJSON, graphToJSON, type NodeJSON } from "../src/fx/json.ts";
import { unregisterOp } from "../src/fx/registry.ts";
import { ops, trace } from "../src/fx/tracer.ts";
import { validateGraph } from "../src/fx/validate.ts";

function sample(): Graph {
  return trace((x, w, idx) => {
    const mask = ops.full([4, 4], -Infinity);
    const h = x.linear(w).add(mask.slice(0, 0, 1)).softmax(-1).layerNorm([4], null, null, 1e-6);
    const e = ops.embedding(w, idx).sum([0, -1], false);
    const n = ops.full([2], NaN).mul(ops.full([2], -0));
    ops.copy_(x, x.mul(2));
    const c = ops.cat([h, x.gelu("tanh")], 0).argmax(null, true);
    return [h, e, n, c, ops.where(h.gt(0), h, 0.5).cast("f16")];
  }, [{ shape: [3, 4], name: "x" }, { shape: [4, 4], name: "w" }, {
    shape: [2, 5],
    dtype: "i32",
    name: "idx",
  }]);
}

const doc = (nodes: unknown[]) => ({ format: GRAPH_FORMAT, version: 1, nodes });
const ph = (name: string, shape = [2]): NodeJSON => ({
  name,
  op: "placeholder",
  args: [],
  kwargs: {},
  meta: { shape, dtype: "f32" },
});
const call = (name: string, target: string, args: unknown[], kwargs = {}, meta?: TensorMeta) => ({
  name,
  op: "call_function",
  target,
  args,
  kwargs,
  ...(meta ? { meta } : {}),
});
const out = (...names: string[]) => ({
  name: "output",
  op: "output",
  args: [names.map((node) => ({ node }))],
  kwargs: {},
});

Deno.test("round trip through a JSON string is exact, special floats included", () => {
  const g = sample();
  const text = JSON.stringify(graphToJSON(g));
  assert.match(text, /\{"float":"-inf"\}/);
  assert.match(text, /\{"float":"nan"\}/);
  assert.match(text, /\{"float":"-0"\}/);
  const back = graphFromJSON(text);
  assert.equal(back.print(), g.print());
  assert.deepEqual(graphToJSON(back), graphToJSON(g));
  assert.ok(Object.is(back.node("full_2").kwargs.value, -0));
  assert.match(g.print(), /value=-inf/);
});

Deno.test("Graph.toJSON / Graph.fromJSON and JSON.stringify(graph) use the same format", () => {
  const g = sample();
  const j = JSON.parse(JSON.stringify(g));
  assert.equal(j.format, GRAPH_FORMAT);
  assert.equal(j.version, 1);
  assert.deepEqual(j.nodes[0], {
    name: "x",
    op: "placeholder",
    args: [],
    kwargs: {},
    meta: { shape: [3, 4], dtype: "f32" },
  });
  assert.equal(Graph.fromJSON(j).print(), g.print());
  assert.deepEqual(g.toJSON(), graphToJSON(g));
});

Deno.test("custom ops round trip, including ops that return nothing", () => {
  registerCustomOp({
    name: "jsontest::attn",
    args: ["q", "k", "v", "out!"],
    kwargs: { scale: 1 },
    shape: () => null,
    reference: () => null,
  });
  try {
    const g = trace((q, o) => {
      ops.call("jsontest::attn.default", [q, q, q, o], { scale: 0.125 });
      return o.add(1);
    }, [{ shape: [2, 4] }, { shape: [2, 4] }]);
    const back = graphFromJSON(JSON.stringify(g));
    assert.equal(back.print(), g.print());
    const n = back.nodes.find((x) => x.target.startsWith("jsontest"))!;
    assert.equal(n.meta, null);
    assert.deepEqual(n.kwargs, { scale: 0.125 });
  } finally {
    unregisterOp("jsontest::attn");
  }
});

Deno.test("omitted kwargs get defaults; missing call meta is inferred", () => {
  const g = graphFromJSON(
    doc([ph("a", [2, 3]), call("s", "sum", [{ node: "a" }], { dim: 1 }), out("s")]),
  );
  assert.deepEqual(g.node("s").kwargs, { dim: 1, keepdim: false });
  assert.deepEqual(g.node("s").meta, { shape: [2], dtype: "f32" });
});

function rejects(json: unknown, re: RegExp, cls: new (...a: never[]) => Error = GraphError) {
  assert.throws(() => graphFromJSON(json), (e: Error) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e.constructor.name}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

Deno.test("malformed documents: format, version, parse errors", () => {
  rejects("{not json", /does not parse/);
  rejects(
    { format: "torch.fx", version: 1, nodes: [] },
    /format is "torch.fx", expected "webgpu-inductor.graph"/,
  );
  rejects(
    { format: GRAPH_FORMAT, version: 2, nodes: [] },
    /unsupported graph version 2 \(this build reads 1\)/,
  );
  rejects({ format: GRAPH_FORMAT, version: 1, nodes: {} }, /'nodes' must be a list/);
});

Deno.test("structure errors: dangling, cycle, order, duplicates, output", () => {
  rejects(
    doc([ph("a"), call("b", "relu", [{ node: "zz" }]), out("b")]),
    /node 'b' refers to unknown node 'zz' \(dangling\)/,
  );
  rejects(
    doc([
      ph("x"),
      call("a", "add", [{ node: "x" }, { node: "b" }]),
      call("b", "relu", [{ node: "a" }]),
      out("b"),
    ]),
    /cycle through a → b → a/,
  );
  rejects(doc([ph("x"), call("a", "relu", [{ node: "a" }]), out("a")]), /cycle through a → a/);
  rejects(
    doc([
      ph("x"),
      call("a", "relu", [{ node: "b" }]),
      call("b", "relu", [{ node: "x" }]),
      out("a"),
    ]),
    /node 'a' uses 'b', which comes later/,
  );
  rejects(doc([ph("x"), ph("x"), out("x")]), /duplicate node name 'x'/);
  rejects(doc([ph("x"), call("r", "relu", [{ node: "x" }])]), /missing output/);
  rejects(
    doc([ph("x"), out("x"), call("r", "relu", [{ node: "x" }])]),
    /exactly one output node.*last/,
  );
  rejects(doc([ph("bad name")]), /name "bad name" is not an identifier/);
  rejects(
    doc([ph("x"), { name: "y", op: "get_attr", args: [], kwargs: {} }, out("x")]),
    /node 'y': unknown op kind "get_attr"/,
  );
  rejects(
    doc([ph("x"), call("r", "relu", [{ weird: 1 }]), out("r")]),
    /node 'r': unrecognised argument/,
  );
});

Deno.test("meta errors and op rule errors name the node", () => {
  rejects(
    doc([{ ...ph("x"), meta: { shape: [-1], dtype: "f32" } }, out("x")]),
    /node 'x': bad meta/,
  );
  rejects(doc([{ ...ph("x"), meta: undefined }, out("x")]), /node 'x': bad meta/);
  rejects(
    doc([
      ph("x", [2, 3]),
      call("s", "sum", [{ node: "x" }], { dim: 0 }, { shape: [2], dtype: "f32" }),
      out("s"),
    ]),
    /node 's': meta in the JSON is f32\[2\] but sum gives f32\[3\]/,
  );
  rejects(
    doc([ph("x"), call("r", "rleu", [{ node: "x" }]), out("r")]),
    /node 'r' \(rleu\): unknown op 'rleu'; did you mean 'relu'/,
    UnsupportedOpError,
  );
  rejects(
    doc([ph("x", [2]), ph("y", [3]), call("s", "add", [{ node: "x" }, { node: "y" }]), out("s")]),
    /node 's' \(add\): cannot broadcast/,
    ShapeError,
  );
  rejects(
    doc([ph("x"), call("r", "relu", [{ node: "x" }], { bogus: 1 }), out("r")]),
    /node 'r' \(relu\): unknown kwarg 'bogus'/,
  );
});

Deno.test("validateGraph re-checks hand-built graphs", () => {
  const g = sample();
  validateGraph(g);
  const h = new Graph();
  const x = h.placeholder("x", { shape: [2, 3], dtype: "f32" });
  const s = h.rawCall("sum", [x], { dim: 0 }, { shape: [2], dtype: "f32" });
  h.output([s]);
  assert.throws(() => validateGraph(h), {
    name: "GraphError",
    message: /node 'sum' \(sum\): meta is f32\[2\] but the op gives f32\[3\]/,
  });
  const k = new Graph();
  const y = k.placeholder("y", { shape: [2], dtype: "f32" });
  k.output([k.rawCall("nope", [y], {}, { shape: [2], dtype: "f32" })]);
  assert.throws(() => validateGraph(k), UnsupportedOpError);
  assert.throws(() => validateGraph(new Graph()), /no output node/);
});

Deno.test("placeholders may be dotted paths (PyTorch parameter names); other nodes may not", () => {
  const g = graphFromJSON(
    doc([
      ph("layers.0.attn.q_proj.weight"),
      ph("_constant.0"),
      call("s", "add", [{ node: "layers.0.attn.q_proj.weight" }, { node: "_constant.0" }]),
      out("s"),
    ]),
  );
  assert.deepEqual(g.placeholders().map((p) => p.name), [
    "layers.0.attn.q_proj.weight",
    "_constant.0",
  ]);
  assert.deepEqual(graphToJSON(graphFromJSON(JSON.stringify(g))), graphToJSON(g));
  // built in code, the name is kept too (a clash still gets a suffix)
  const h = new Graph();
  assert.equal(h.placeholder("a.b", { shape: [1], dtype: "f32" }).name, "a.b");
  assert.equal(h.placeholder("a.b", { shape: [1], dtype: "f32" }).name, "a.b_1");
  assert.equal(h.placeholder("a..b", { shape: [1], dtype: "f32" }).name, "a__b");
  rejects(doc([ph("a."), out("a.")]), /name "a\." is not an identifier or a dotted path/);
  rejects(
    doc([ph("x"), call("r.s", "relu", [{ node: "x" }]), out("r.s")]),
    /name "r\.s" is not an identifier/,
  );
});
