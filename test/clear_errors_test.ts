// Clear errors instead of raw TypeErrors/RangeErrors or silently dropped input: deeply nested
// JSON, kwargs named like Object.prototype members, bad compile() arguments and modes, an input
// detached during run(); and the documented GPU behaviour of out-of-range embedding indices.
import assert from "node:assert/strict";
import {
  compile,
  graphFromJSON,
  graphToJSON,
  interpret,
  ops,
  registerCustomOp,
  trace,
} from "../src/mod.ts";
import { MAX_ARG_DEPTH } from "../src/fx/builder.ts";

const PROTO_NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "bogus"];

Deno.test("JSON nested 10^4 deep is a GraphError naming the node, not a RangeError", () => {
  const j = JSON.parse(JSON.stringify(graphToJSON(trace((x) => x.sum(0), [{ shape: [2, 3] }]))));
  let deep: unknown = 0;
  for (let i = 0; i < 10_000; i++) deep = [deep];
  j.nodes[1].args.push(deep);
  for (const form of [j, JSON.stringify(j)]) {
    assert.throws(() => graphFromJSON(form), {
      name: "GraphError",
      message: new RegExp(`node 'sum': an argument nests lists more than ${MAX_ARG_DEPTH} levels`),
    });
  }
  // in kwargs and meta too
  const k = JSON.parse(JSON.stringify(graphToJSON(trace((x) => x.sum(0), [{ shape: [2] }]))));
  k.nodes[1].kwargs.dim = deep;
  assert.throws(() => graphFromJSON(k), { name: "GraphError", message: /node 'sum'/ });
  // and through the tracer
  assert.throws(() => trace(() => ops.call("cat", [deep as never])!, [{ shape: [2] }]), {
    name: "GraphError",
    message: /op 'cat': an argument nests lists more than/,
  });
});

Deno.test("kwargs named like Object.prototype members are rejected like any unknown kwarg", () => {
  const j = graphToJSON(trace((x) => x.sum(0), [{ shape: [2, 3] }]));
  for (const k of PROTO_NAMES) {
    const want = {
      name: "GraphError",
      message: new RegExp(`node 'sum' \\(sum\\): unknown kwarg '${k}' for op 'sum'`),
    };
    const jk = JSON.parse(JSON.stringify(j));
    jk.nodes[1].kwargs[k] = 1; // JSON.parse makes an own property, even for __proto__
    assert.throws(() => graphFromJSON(JSON.stringify(jk)), want, `JSON kwarg ${k}`);
    assert.throws(
      () => trace((x) => ops.call("sum", [x], { [k]: 1 })!, [{ shape: [2] }]),
      want,
      `traced kwarg ${k}`,
    );
  }
  assert.throws(
    () =>
      registerCustomOp({
        name: "ce::op",
        args: ["x"],
        kwargs: JSON.parse('{"__proto__": 1}'),
        shape: () => [1],
        reference: () => null,
      }),
    { name: "GraphError", message: /kwarg name "__proto__" is not an identifier/ },
  );
  assert.throws(() => ops.call("sum", [], null as never), /outside trace/);
  assert.throws(() => trace(() => ops.call("sum", 7 as never)!, []), {
    name: "GraphError",
    message: /op 'sum': args must be a list/,
  });
});

Deno.test("compile() checks what it is given", () => {
  for (const bad of [42, null, undefined, "x => x", { nodes: [] }, [1]]) {
    assert.throws(() => compile(bad as never), {
      name: "InputError",
      message: /compile\(\) takes a function \(traced with options.inputs\) or a Graph, got/,
    });
  }
  assert.throws(() => compile({ nodes: [] } as never), /loads with graphFromJSON first/);
  const fn = (x: ReturnType<typeof ops.full>) => x.add(1);
  assert.throws(() => compile(fn, { inputs: [{ shape: [2] }], mode: "turbo" as never }), {
    name: "InputError",
    message: /compile\(\): unknown mode "turbo"; expected one of default, eager/,
  });
  assert.throws(() => compile(fn, null as never), {
    name: "InputError",
    message: /options must be an object/,
  });
  assert.throws(() => compile(fn, { inputs: [{ shape: [2] }], config: 3 as never }), {
    name: "InputError",
    message: /options.config must be an object/,
  });
});

Deno.test("an input detached while run() waits is an InputError naming it", async () => {
  const cg = compile((x) => x.add(1), { inputs: [{ shape: [4], name: "x" }] });
  try {
    const x = new Float32Array(4);
    const p = cg.run([x]);
    x.buffer.transfer(); // detaches x before the upload
    await assert.rejects(() => p, {
      name: "InputError",
      message: /input 0 \('x'\): its ArrayBuffer is detached/,
    });
    const y = new Float32Array(4);
    y.buffer.transfer();
    await assert.rejects(() => cg.run([y]), { name: "InputError", message: /detached/ });
    // still usable afterwards
    const [z] = await cg.run([new Float32Array([1, 2, 3, 4])]);
    assert.deepEqual(Array.from(z), [2, 3, 4, 5]);
  } finally {
    await cg.disposeAsync();
  }
});

for (const mode of ["eager", "default"] as const) {
  Deno.test(`embedding: an index outside [0, V) reads zeros on the GPU (${mode}); the reference raises`, async () => {
    const cg = compile((w, i) => ops.embedding(w.mul(2), i).add(1), {
      inputs: [{ shape: [4, 3] }, { shape: [5], dtype: "i32" }],
      mode,
    });
    try {
      const w = new Float32Array(12).map((_, k) => k + 1);
      const idx = new Int32Array([0, 4, -1, 3, 2147483647]);
      const [y] = await cg.run([w, idx], { poison: true });
      const rows = [0, 1, 2, 3, 4].map((r) => Array.from(y.slice(3 * r, 3 * r + 3)));
      assert.deepEqual(rows, [[3, 5, 7], [1, 1, 1], [1, 1, 1], [21, 23, 25], [1, 1, 1]]);
      assert.throws(() => interpret(cg.graph, [w, idx]), {
        name: "InputError",
        message: /embedding index 4 \(element 1 of indices\) is out of range for 4 rows/,
      });
    } finally {
      await cg.disposeAsync();
    }
  });
}
