// Shape, dtype, arity and kwarg errors name the node, the op and the culprit.
import assert from "node:assert/strict";
import { DTypeError, GraphError, ShapeError, UnsupportedOpError } from "../src/errors.ts";
import { callOp } from "../src/fx/builder.ts";
import { registerCustomOp } from "../src/fx/custom_ops.ts";
import { Graph, type TensorMeta } from "../src/fx/graph.ts";
import { getOp, listOps, unregisterOp } from "../src/fx/registry.ts";
import { type InputSpec, ops, trace, type TraceFn } from "../src/fx/tracer.ts";

/** A graph with placeholders a, b, … of the given metas. */
function graphWith(...metas: TensorMeta[]) {
  const g = new Graph();
  const ps = metas.map((m, i) => g.placeholder(String.fromCharCode(97 + i), m));
  return { g, ps };
}

const f32 = (...shape: number[]): TensorMeta => ({ shape, dtype: "f32" });
const i32 = (...shape: number[]): TensorMeta => ({ shape, dtype: "i32" });

function throwsTrace(
  fn: TraceFn,
  specs: InputSpec[],
  cls: new (...a: never[]) => Error,
  re: RegExp,
) {
  assert.throws(() => trace(fn, specs), (e: Error) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e.constructor.name}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

Deno.test("unknown op names it and suggests close registered names", () => {
  assert.throws(() => getOp("softmx"), {
    name: "UnsupportedOpError",
    message: /'softmx'.*'softmax'/,
  });
  assert.throws(() => getOp("layerNorm"), { message: /did you mean 'layer_norm'/ });
  assert.throws(
    () => getOp("zzzzzzzz"),
    (e: Error) => e instanceof UnsupportedOpError && !/did you mean/.test(e.message),
  );
  const { g, ps } = graphWith(f32(2));
  assert.throws(() => callOp(g, "rleu", [ps[0]]), {
    message: /node 'rleu' \(rleu\): unknown op 'rleu'; did you mean 'relu'/,
  });
});

Deno.test("registry lists every built-in op", () => {
  const names = listOps();
  for (
    const n of [
      "add",
      "where",
      "cast",
      "argmax",
      "layer_norm",
      "rms_norm",
      "linear",
      "slice",
      "cat",
      "embedding",
      "empty_like",
      "copy_",
    ]
  ) {
    assert.ok(names.includes(n), n);
  }
});

Deno.test("wrong arity names the node, the op and its signature", () => {
  const { g, ps } = graphWith(f32(2), f32(2), f32(2));
  assert.throws(() => callOp(g, "add", [ps[0], ps[1], ps[2]]), {
    name: "GraphError",
    message: /node 'add' \(add\): expected 2 positional args \(add\(a, b\).*got 3/,
  });
  assert.throws(() => callOp(g, "cat", []), { message: /expected at least 1 positional args/ });
  assert.throws(
    () => callOp(g, "layer_norm", [ps[0], null, null, null], { normalized_shape: [2] }),
    {
      message: /expected 1 to 3 positional args/,
    },
  );
});

Deno.test("unknown, missing and ill-typed kwargs are named", () => {
  const { g, ps } = graphWith(f32(2, 3));
  assert.throws(() => callOp(g, "sum", [ps[0]], { dims: 1 }), {
    name: "GraphError",
    message: /node 'sum' \(sum\): unknown kwarg 'dims' for op 'sum' \(accepted: dim, keepdim\)/,
  });
  assert.throws(() => callOp(g, "relu", [ps[0]], { inplace: true }), {
    message: /'inplace'.*takes no kwargs/,
  });
  assert.throws(() => callOp(g, "reshape", [ps[0]]), { message: /missing required kwarg 'shape'/ });
  assert.throws(() => callOp(g, "sum", [ps[0]], { dim: "x" }), {
    message: /kwarg 'dim' must be a list of integers, got "x"/,
  });
  assert.throws(() => callOp(g, "gelu", [ps[0]], { approximate: "fast" }), {
    message: /'approximate' must be one of none, tanh/,
  });
  assert.throws(() => callOp(g, "cast", [ps[0]], { dtype: "f64" }), {
    message: /'dtype' must be a dtype/,
  });
  assert.throws(() => callOp(g, "sum", [ps[0]], { dim: ps[0] }), {
    message: /tensors must be positional/,
  });
});

Deno.test("broadcast mismatch names node, op and both shapes", () => {
  throwsTrace(
    (a, b) => a.add(b),
    [{ shape: [2, 3] }, { shape: [4] }],
    ShapeError,
    /node 'add' \(add\): cannot broadcast shapes \[2, 3\] and \[4\]/,
  );
  throwsTrace(
    (c, a) => ops.where(c, a, 0),
    [{ shape: [5], dtype: "bool" }, { shape: [3] }],
    ShapeError,
    /\(where\).*\[5\] and \[3\]/,
  );
  throwsTrace(
    (a, b) => a.copy_(b),
    [{ shape: [3] }, { shape: [2, 3] }],
    ShapeError,
    /copy_.*\[2, 3\]/,
  );
});

Deno.test("matmul, bmm and linear mismatches name both shapes", () => {
  throwsTrace(
    (a, b) => a.matmul(b),
    [{ shape: [2, 3] }, { shape: [4, 5] }],
    ShapeError,
    /node 'matmul' \(matmul\): inner dimensions do not match: \[2, 3\] @ \[4, 5\] \(3 vs 4\)/,
  );
  throwsTrace(
    (a, b) => a.matmul(b),
    [{ shape: [2, 2, 3] }, { shape: [3, 3, 4] }],
    ShapeError,
    /cannot broadcast shapes \[2\] and \[3\]/,
  );
  throwsTrace(
    (a, b) => a.bmm(b),
    [{ shape: [2, 3, 4] }, { shape: [2, 5, 4] }],
    ShapeError,
    /\[2, 3, 4\] @ \[2, 5, 4\]/,
  );
  throwsTrace(
    (a, b) => a.bmm(b),
    [{ shape: [3, 4] }, { shape: [4, 5] }],
    ShapeError,
    /bmm needs 3-d operands/,
  );
  throwsTrace(
    (x, w) => x.linear(w),
    [{ shape: [2, 3] }, { shape: [4, 5] }],
    ShapeError,
    /x \[2, 3\] and weight \[4, 5\]/,
  );
  throwsTrace(
    (x, w, b) => x.linear(w, b),
    [{ shape: [2, 5] }, { shape: [4, 5] }, { shape: [5] }],
    ShapeError,
    /bias has shape \[5\], expected \[4\]/,
  );
});

Deno.test("dtype errors name the node and the dtype", () => {
  throwsTrace(
    (x) => x.exp(),
    [{ shape: [2], dtype: "i32" }],
    DTypeError,
    /node 'exp' \(exp\): dtype i32 is not supported; exp accepts f32, f16/,
  );
  throwsTrace(
    (x) => x.neg(),
    [{ shape: [2], dtype: "bool" }],
    DTypeError,
    /dtype bool.*f32, f16, i32/,
  );
  throwsTrace(
    (x) => x.pow(2),
    [{ shape: [2], dtype: "i32" }],
    DTypeError,
    /pow needs float operands, got i32/,
  );
  throwsTrace(
    (x) => x.sub(x),
    [{ shape: [2], dtype: "bool" }],
    DTypeError,
    /sub does not accept bool/,
  );
  throwsTrace(
    (c, x) => ops.where(c, x, x),
    [{ shape: [2] }, { shape: [2] }],
    DTypeError,
    /cond must be bool, got f32/,
  );
  throwsTrace(
    (a, b) => a.matmul(b),
    [{ shape: [2, 2] }, { shape: [2, 2], dtype: "f16" }],
    DTypeError,
    /a is f32 but b is f16/,
  );
  throwsTrace(
    (x) => x.mean(),
    [{ shape: [2], dtype: "i32" }],
    DTypeError,
    /\(mean\): input has dtype i32/,
  );
  throwsTrace((x) => x.softmax(), [{ shape: [2], dtype: "i32" }], DTypeError, /softmax/);
  throwsTrace(
    (w, i) => ops.embedding(w, i),
    [{ shape: [4, 2] }, { shape: [3] }],
    DTypeError,
    /indices must be i32 or u32, got f32/,
  );
  throwsTrace(
    (a, b) => ops.cat([a, b]),
    [{ shape: [2] }, { shape: [2], dtype: "f16" }],
    DTypeError,
    /t1 is f16 but t0 is f32/,
  );
  throwsTrace(
    (x, w) => x.layerNorm(2, w),
    [{ shape: [2] }, { shape: [2], dtype: "f16" }],
    DTypeError,
    /x is f32 but weight is f16/,
  );
  const { g, ps } = graphWith(i32(2));
  assert.throws(() => callOp(g, "add", [1, 2]), {
    message: /node 'add' \(add\): at least one operand must be a tensor/,
  });
  assert.throws(() => callOp(g, "exp", [3]), {
    message: /argument 'x' must be a tensor, got number 3/,
  });
  assert.equal(callOp(g, "relu", [ps[0]], {}, "my_relu").name, "my_relu");
  assert.throws(() => callOp(g, "sqrt", [ps[0]], {}, "bad"), { message: /node 'bad' \(sqrt\)/ });
});

Deno.test("dim errors: out of range, duplicates, bad reshape/expand/permute/norm shapes", () => {
  const s = [{ shape: [2, 3, 4] }];
  throwsTrace(
    (x) => x.sum(3),
    s,
    ShapeError,
    /node 'sum' \(sum\): dim 3 is out of range for a 3-d tensor \(expected -3 to 2\)/,
  );
  throwsTrace((x) => x.sum([1, -2]), s, ShapeError, /dim -2 appears more than once/);
  throwsTrace((x) => x.softmax(-4), s, ShapeError, /out of range/);
  throwsTrace(
    (x) => x.reshape(5, -1),
    s,
    ShapeError,
    /cannot reshape \[2, 3, 4\] \(24 elements\) to \[5, -1\]/,
  );
  throwsTrace((x) => x.reshape(-1, -1), s, ShapeError, /only one dim may be -1/);
  throwsTrace((x) => x.reshape(4, 5), s, ShapeError, /element counts differ/);
  throwsTrace(
    (x) => x.expand(2, 5, 4),
    s,
    ShapeError,
    /cannot expand \[2, 3, 4\] to \[2, 5, 4\] \(dim 1\)/,
  );
  throwsTrace((x) => x.permute(0, 0, 1), s, ShapeError, /not a permutation/);
  throwsTrace((x) => x.slice(0, 0, 1, 0), s, ShapeError, /step must be >= 1/);
  throwsTrace((x) => x.unsqueeze(5), s, ShapeError, /expected -4 to 3/);
  throwsTrace(
    (x) => x.layerNorm([3]),
    s,
    ShapeError,
    /normalized_shape \[3\] must be the trailing dims of x \[2, 3, 4\]/,
  );
  throwsTrace((x) => x.max(1), [{ shape: [2, 0] }], ShapeError, /zero-size dim/);
  throwsTrace(
    (a, b) => ops.cat([a, b], 1),
    [{ shape: [2, 3] }, { shape: [3, 3] }],
    ShapeError,
    /t1 has shape \[3, 3\].*outside dim 1/,
  );
  throwsTrace(() => ops.full([2, -1], 0), [], ShapeError, /negative size/);
});

Deno.test("custom op registration is checked; its rule errors gain the node name", () => {
  assert.throws(
    () =>
      registerCustomOp({
        name: "noNamespace",
        args: ["x"],
        shape: () => [1],
        reference: () => null,
      }),
    {
      name: "GraphError",
      message: /'namespace::op'/,
    },
  );
  assert.throws(
    () =>
      registerCustomOp({ name: "t::bad", args: ["x y"], shape: () => [1], reference: () => null }),
    {
      message: /args must be identifiers/,
    },
  );
  registerCustomOp({
    name: "errtest::strict",
    args: ["x"],
    shape: (a) => {
      if ((a[0] as TensorMeta).shape.length !== 2) throw new ShapeError("x must be 2-d");
      return [1];
    },
    reference: () => null,
  });
  try {
    assert.throws(
      () =>
        registerCustomOp({
          name: "errtest::strict",
          args: ["x"],
          shape: () => [1],
          reference: () => null,
        }),
      {
        message: /already registered/,
      },
    );
    throwsTrace(
      (x) => ops.call("errtest::strict", [x])!,
      [{ shape: [3] }],
      ShapeError,
      /node 'strict' \(errtest::strict\): x must be 2-d/,
    );
    throwsTrace(
      (x) => ops.call("errtest::strict.default", [x, x])!,
      [{ shape: [3, 3] }],
      GraphError,
      /expected 1 positional args/,
    );
  } finally {
    unregisterOp("errtest::strict");
  }
});
