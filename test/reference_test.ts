// The reference interpreter: input checks, dtype rounding, in-place writes and aliasing, custom
// ops, intermediate values, and speed as an oracle.
import assert from "node:assert/strict";
import { InputError, UnsupportedOpError } from "../src/errors.ts";
import { registerCustomOp } from "../src/fx/custom_ops.ts";
import type { TensorMeta } from "../src/fx/graph.ts";
import type { RefArg } from "../src/fx/op_def.ts";
import { unregisterOp } from "../src/fx/registry.ts";
import { ops, trace } from "../src/fx/tracer.ts";
import { interpret, interpretRef } from "../src/reference/interpreter.ts";
import type { RefTensor } from "../src/reference/tensor.ts";

const nums = (a: ArrayLike<number>) => Array.from(a);

Deno.test("inputs are checked: count, dtype, length, naming the placeholder", () => {
  const g = trace((x, y) => x.add(y), [{ shape: [2, 3], name: "x" }, {
    shape: [3],
    dtype: "i32",
    name: "y",
  }]);
  assert.throws(() => interpret(g, [new Float32Array(6)]), {
    name: "InputError",
    message: /expected 2 inputs, got 1/,
  });
  assert.throws(() => interpret(g, [new Float32Array(5), new Int32Array(3)]), {
    message:
      /input 0 \('x'\): expected f32\[2, 3\] \(6 elements as Float32Array\), got Float32Array \(f32\) of length 5/,
  });
  assert.throws(() => interpret(g, [new Float32Array(6), new Float32Array(3)]), {
    message: /input 1 \('y'\): expected i32\[3\].*got Float32Array \(f32\)/,
  });
  assert.throws(() => interpret(g, [new Float32Array(6), [1, 2, 3] as never]), {
    message: /input 1 \('y'\).*got Array/,
  });
  assert.throws(
    () =>
      interpretRef(g, [{ shape: [3, 2], dtype: "f32", data: new Float64Array(6) }, {
        shape: [3],
        dtype: "i32",
        data: new Float64Array(3),
      }]),
    { message: /input 0 \('x'\): expected f32\[2, 3\], got f32\[3, 2\]/ },
  );
});

Deno.test("results are rounded to the node dtype; interpretRef exposes intermediates", () => {
  const g = trace((x) => x.mul(1 / 3).half().add(x.half()).reciprocal(), [{ shape: [2] }]);
  const env = interpretRef(g, [{ shape: [2], dtype: "f32", data: new Float64Array([1, 2]) }]);
  const mul = env.get(g.node("mul"))!;
  assert.deepEqual(nums(mul.data), [Math.fround(1 / 3), Math.fround(2 / 3)]);
  const cast = env.get(g.node("cast"))!;
  assert.deepEqual(nums(cast.data), [
    Math.f16round(Math.fround(1 / 3)),
    Math.f16round(Math.fround(2 / 3)),
  ]);
  const [y] = interpret(g, [new Float32Array([1, 2])]);
  assert.ok(y instanceof Float16Array);
  assert.equal(y[0], Math.f16round(1 / (Math.f16round(Math.fround(1 / 3)) + 1)));
});

Deno.test("copy_ is visible to later users of dst, and to earlier views of it", () => {
  const g = trace((x, src) => {
    const before = x.mul(1); // computed before the write: old values
    const v = x.reshape(3, 2).transpose(0, 1); // a view taken before the write
    const c = x.copy_(src);
    return [before, x.add(0), v.add(0), c, x];
  }, [{ shape: [2, 3] }, { shape: [3] }]);
  const x = new Float32Array([1, 2, 3, 4, 5, 6]);
  const [before, after, view, c, xo] = interpret(g, [x, new Float32Array([7, 8, 9])]);
  assert.deepEqual(nums(before), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(nums(after), [7, 8, 9, 7, 8, 9]);
  assert.deepEqual(nums(view), [7, 9, 8, 8, 7, 9]);
  assert.deepEqual(nums(c), nums(after));
  assert.deepEqual(nums(xo), nums(after));
  assert.deepEqual(nums(x), [1, 2, 3, 4, 5, 6]); // caller's array untouched
});

Deno.test("copy_ into a view writes through to its base; broadcast views are refused", () => {
  const g = trace((x, s) => {
    const before = x.transpose(0, 1); // a view taken before the write sees it too
    x.slice(1, 1, 3).copy_(s);
    return [x, before];
  }, [{ shape: [2, 3] }, { shape: [2, 2] }]);
  const [x, before] = interpret(g, [
    Float32Array.from([0, 1, 2, 3, 4, 5]),
    Float32Array.from([-1, -2, -3, -4]),
  ]);
  assert.deepEqual(nums(x), [0, -1, -2, 3, -3, -4]);
  assert.deepEqual(nums(before), [0, 3, -1, -3, -2, -4]);
  const e = trace((x, s) => {
    x.expand([3, 2]).copy_(s);
    return x;
  }, [{ shape: [1, 2] }, { shape: [3, 2] }]);
  assert.throws(() => interpret(e, [new Float32Array(2), new Float32Array(6)]), (err: Error) => {
    assert.ok(err instanceof UnsupportedOpError);
    assert.match(err.message, /node 'copy_' \(copy_\).*several elements share one memory location/);
    return true;
  });
  // Writing through copy_'s own result (an alias of a real tensor) is fine.
  const h = trace((x, s) => x.copy_(s).copy_(s.mul(2)), [{ shape: [2] }, { shape: [2] }]);
  assert.deepEqual(nums(interpret(h, [new Float32Array(2), new Float32Array([1, 2])])[0]), [2, 4]);
});

Deno.test("custom ops run their reference; out! writes reach later users", () => {
  registerCustomOp({
    name: "reftest::scaled_copy",
    args: ["x", "out!"],
    kwargs: { scale: 1 },
    shape: () => null,
    reference(a: RefArg[], kw) {
      const x = a[0] as RefTensor, o = a[1] as RefTensor;
      for (let i = 0; i < o.data.length; i++) o.data[i] = x.data[i] * (kw.scale as number);
      return null;
    },
    replayUnsafe: true,
  });
  registerCustomOp({
    name: "reftest::rowsum",
    args: ["x"],
    shape: (a) => [(a[0] as TensorMeta).shape[0]],
    dtype: () => "i32",
    reference(a) {
      const x = a[0] as RefTensor;
      const n = x.shape[1];
      return {
        shape: [x.shape[0]],
        dtype: "i32",
        data: Float64Array.from(
          { length: x.shape[0] },
          (_, r) => x.data.slice(r * n, r * n + n).reduce((p, q) => p + q, 0),
        ),
      };
    },
  });
  try {
    const g = trace((x) => {
      const o = ops.empty([2, 2]);
      ops.call("reftest::scaled_copy", [x, o], { scale: 2.6 });
      return [ops.call("reftest::rowsum", [o])!, o];
    }, [{ shape: [2, 2] }]);
    const [s, o] = interpret(g, [new Float32Array([1, 2, 3, 4])]);
    assert.ok(s instanceof Int32Array);
    assert.deepEqual(nums(s), [7, 18]); // 7.8 and 18.2 truncated by the i32 result dtype
    assert.deepEqual(nums(o), [2.6, 5.2, 7.8, 10.4].map(Math.fround));
  } finally {
    unregisterOp("reftest::scaled_copy");
    unregisterOp("reftest::rowsum");
  }
});

Deno.test("embedding index out of range is an InputError naming node and index", () => {
  const g = trace((w, i) => ops.embedding(w, i).relu(), [{ shape: [4, 2] }, {
    shape: [3],
    dtype: "i32",
  }]);
  assert.deepEqual(
    nums(interpret(g, [new Float32Array(8).fill(1), new Int32Array([3, 0, 1])])[0]),
    [1, 1, 1, 1, 1, 1],
  );
  for (const bad of [4, -1]) {
    assert.throws(
      () => interpret(g, [new Float32Array(8), new Int32Array([0, bad, 1])]),
      (e: Error) => {
        assert.ok(e instanceof InputError);
        assert.match(
          e.message,
          new RegExp(
            `node 'embedding' \\(embedding\\): embedding index ${bad} \\(element 1 of indices\\) is out of range for 4 rows`,
          ),
        );
        return true;
      },
    );
  }
});

Deno.test("fast enough to be an oracle: 500 small graphs in well under a second", () => {
  const g = trace((x, w) => x.matmul(w).gelu().layerNorm([32]).softmax(-1).sum(-1), [{
    shape: [16, 32],
  }, { shape: [32, 32] }]);
  const x = new Float32Array(512).fill(0.5), w = new Float32Array(1024).fill(0.01);
  const t0 = performance.now();
  for (let i = 0; i < 500; i++) interpret(g, [x, w]);
  const ms = performance.now() - t0;
  assert.ok(ms < 5000, `500 runs took ${ms} ms`);
});
