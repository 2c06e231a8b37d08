// The tracer: chaining, the ops namespace, printed graphs, and misuse errors.
import assert from "node:assert/strict";
import { DTypeError, GraphError, ShapeError } from "../src/errors.ts";
import { registerCustomOp } from "../src/fx/custom_ops.ts";
import type { TensorMeta } from "../src/fx/graph.ts";
import { unregisterOp } from "../src/fx/registry.ts";
import { ops, TensorProxy, trace } from "../src/fx/tracer.ts";
import { interpret } from "../src/reference/interpreter.ts";

Deno.test("method chaining records one node per op, printed with meta", () => {
  const g = trace(
    (x, w, b) => x.matmul(w).add(b).relu().mul(0.5).sum(-1, true),
    [{ shape: [2, 3], name: "x" }, { shape: [3, 4], name: "w" }, { shape: [4], name: "b" }],
  );
  assert.equal(
    g.print(),
    [
      "graph():",
      "    %x = placeholder()  # f32[2, 3]",
      "    %w = placeholder()  # f32[3, 4]",
      "    %b = placeholder()  # f32[4]",
      "    %matmul = matmul(%x, %w)  # f32[2, 4]",
      "    %add = add(%matmul, %b)  # f32[2, 4]",
      "    %relu = relu(%add)  # f32[2, 4]",
      "    %mul = mul(%relu, 0.5)  # f32[2, 4]",
      "    %sum = sum(%mul, dim=-1, keepdim=true)  # f32[2, 1]",
      "    return [%sum]",
    ].join("\n"),
  );
});

Deno.test("proxies expose shape, dtype, ndim and node; names are uniqued", () => {
  let seen: TensorProxy | null = null;
  const g = trace((x) => {
    const y = x.exp().exp();
    seen = y;
    assert.deepEqual(y.shape, [4, 1]);
    assert.equal(y.dtype, "f16");
    assert.equal(y.ndim, 2);
    assert.equal(y.numel(), 4);
    assert.equal(y.node.name, "exp_1");
    return y;
  }, [{ shape: [4, 1], dtype: "f16" }]);
  assert.equal(g.outputs()[0], seen!.node);
  assert.equal(g.placeholders()[0].name, "arg0");
});

Deno.test("every torch-like method form records the expected op and kwargs", () => {
  const g = trace((x, w, c) => {
    const y = x.view(2, 12).reshape([4, 6]).permute(1, 0).transpose(0, 1).t().t();
    const z = x.expand([3, 2, 3, 4]).slice(0, 1, 3).squeeze(-1).unsqueeze(0).squeeze(0);
    const n = x.layerNorm(4, w, null, 1e-3).rmsNorm([4], w).softmax().logSoftmax(1);
    const r = [x.max(1), x.min(), x.mean([0, 1]), x.argmax(-1, true)];
    const e = [x.sigmoid(), x.tanh(), x.gelu("tanh"), x.silu(), x.rsqrt(), x.reciprocal(), x.neg()];
    const b = [x.maximum(1), x.minimum(w), x.pow(2), x.div(3), x.sub(w), x.eq(0), x.lt(w), x.gt(1)];
    const k = [x.where(c, 0), x.to("f16"), x.cast("i32"), x.float(), x.int(), x.half()];
    return [y, z, n, ...r, ...e, ...b, ...k];
  }, [{ shape: [2, 3, 4] }, { shape: [4] }, { shape: [2, 3, 4], dtype: "bool" }]);
  const targets = g.nodes.filter((n) => n.kind === "call_function").map((n) => n.target);
  for (
    const t of [
      "reshape",
      "permute",
      "transpose",
      "expand",
      "slice",
      "squeeze",
      "unsqueeze",
      "layer_norm",
      "rms_norm",
      "softmax",
      "log_softmax",
      "max",
      "min",
      "mean",
      "argmax",
      "gelu",
      "where",
      "cast",
      "pow",
      "eq",
    ]
  ) {
    assert.ok(targets.includes(t), t);
  }
  const ln = g.nodes.find((n) => n.target === "layer_norm")!;
  assert.deepEqual(ln.kwargs, { normalized_shape: [4], eps: 1e-3 });
  assert.equal(ln.args[2], null);
  const sl = g.nodes.find((n) => n.target === "slice")!;
  assert.deepEqual(sl.kwargs, { dim: 0, start: 1, end: 3, step: 1 });
  assert.deepEqual(g.outputs()[0].meta!.shape, [4, 6]);
  assert.deepEqual(g.outputs()[1].meta!.shape, [2, 2, 3, 4]);
});

Deno.test("the ops namespace has functional forms, including creation ops and cat", () => {
  const g = trace((x, w, idx) => {
    const f = ops.full([2, 4], 1, "f32");
    const e = ops.emptyLike(ops.empty([2, 4]));
    const y = ops.add(ops.layerNorm(x, [4]), ops.rmsNorm(x, [4], w, 1e-5));
    const l = ops.logSoftmax(ops.linear(y, ops.reshape(ops.cat([w, w, w, w], 0), [4, 4])), 0);
    const m = ops.matmul(ops.transpose(x, 0, 1), x);
    const emb = ops.embedding(ops.unsqueeze(w, 1), idx);
    ops.copy_(e, f);
    return [ops.gelu(l), m, ops.sum(e, null), emb, ops.where(ops.gt(x, 0), x, ops.neg(x))];
  }, [{ shape: [2, 4] }, { shape: [4] }, { shape: [3], dtype: "i32" }]);
  const out = interpret(g, [
    new Float32Array(8).fill(1),
    new Float32Array([1, 2, 3, 4]),
    new Int32Array([3, 0, 1]),
  ]);
  assert.deepEqual([...out[2]], [8]); // copy_ into e is seen by sum(e)
  assert.deepEqual([...out[3]], [4, 1, 2]);
});

Deno.test("ops.call reaches custom ops; mutating ops return null", () => {
  registerCustomOp({
    name: "tracertest::fill_",
    args: ["out!", "value"],
    shape: () => null,
    reference: (a) => {
      (a[0] as { data: Float64Array }).data.fill(a[1] as number);
      return null;
    },
  });
  registerCustomOp({
    name: "tracertest::twice",
    args: ["x"],
    shape: (a) => (a[0] as TensorMeta).shape,
    reference: (a) => {
      const x = a[0] as { shape: number[]; dtype: "f32"; data: Float64Array };
      return { ...x, data: x.data.map((v) => 2 * v) };
    },
  });
  try {
    const g = trace((x) => {
      assert.equal(ops.call("tracertest::fill_", [x, 3]), null);
      return ops.call("tracertest::twice.default", [x])!;
    }, [{ shape: [2] }]);
    assert.match(g.print(), / {4}tracertest::fill_\(%arg0, 3\)\n/);
    assert.deepEqual([...interpret(g, [new Float32Array(2)])[0]], [6, 6]);
  } finally {
    unregisterOp("tracertest::fill_");
    unregisterOp("tracertest::twice");
  }
});

Deno.test("proxies outside their trace or from another trace are rejected", () => {
  let leaked: TensorProxy | null = null;
  trace((x) => (leaked = x.relu()), [{ shape: [2] }]);
  assert.throws(() => leaked!.exp(), {
    name: "GraphError",
    message: /tensor 'relu' used outside trace\(\)/,
  });
  assert.throws(() => ops.full([2], 0), { message: /op 'full' called outside trace\(\)/ });
  assert.throws(() => trace((x) => x.add(leaked!), [{ shape: [2] }]), {
    message: /tensor 'relu' belongs to a trace that has finished/,
  });
  assert.throws(
    () =>
      trace((outer) => {
        trace((inner) => inner.add(outer), [{ shape: [2] }]);
        return outer;
      }, [{ shape: [2] }]),
    { message: /tensor 'arg0' belongs to an outer trace/ },
  );
  assert.throws(() => trace(() => leaked!, [{ shape: [2] }]), {
    message: /trace output.*finished/,
  });
});

Deno.test("bad specs and bad return values give clear errors", () => {
  assert.throws(
    () => trace((x) => x, [{ shape: [2, -1] }]),
    (e: Error) => e instanceof ShapeError && /input 0.*non-negative integers/.test(e.message),
  );
  assert.throws(
    () => trace((x) => x, [{ shape: [2], dtype: "f64" as "f32" }]),
    (e: Error) => e instanceof DTypeError && /unknown dtype "f64"/.test(e.message),
  );
  assert.throws(() => trace((x) => x, [{ shape: [2], name: "a" }, { shape: [2], name: "a" }]), {
    message: /input 1: name "a" is not a fresh identifier/,
  });
  assert.throws(() => trace((x) => x, "nope" as never), { message: /specs must be a list/ });
  for (const bad of [undefined, 3, [], [1]]) {
    assert.throws(
      () => trace(() => bad as never, [{ shape: [1] }]),
      (e: Error) => e instanceof GraphError && /must return a TensorProxy/.test(e.message),
    );
  }
  assert.throws(() => trace(() => Promise.resolve() as never, []), { message: /synchronous/ });
});

Deno.test("t() transposes 2-d, keeps 1-d, rejects 3-d", () => {
  const g = trace((a, b) => [a.t(), b.t()], [{ shape: [2, 3] }, { shape: [3] }]);
  assert.deepEqual(g.outputs().map((o) => o.meta!.shape), [[3, 2], [3]]);
  assert.throws(() => trace((x) => x.t(), [{ shape: [1, 2, 3] }]), ShapeError);
});
