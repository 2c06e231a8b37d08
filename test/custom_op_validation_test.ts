// Custom ops are checked like built-ins: a shape rule must give a list of non-negative integers
// (or null), a dtype rule a known dtype, a host (`js` or reference) result the declared shape and
// dtype, a `wgsl` rule WGSL and a grid; whatever a user function throws comes back naming the op
// and the function; registerCustomOp checks its spec.
import assert from "node:assert/strict";
import { compile, interpret, ops, registerCustomOp, trace } from "../src/mod.ts";
import type { CustomOpSpec } from "../src/fx/custom_ops.ts";
import type { TensorMeta } from "../src/fx/graph.ts";
import type { RefArg } from "../src/fx/op_def.ts";
import { unregisterOp } from "../src/fx/registry.ts";
import type { RefTensor } from "../src/reference/tensor.ts";

let n = 0;
/** Register a throwaway op `cv::opN` from `over`; a same-shape copy op unless overridden. */
function op(over: Partial<CustomOpSpec>): string {
  const name = `cv::op${n++}`;
  registerCustomOp({
    name,
    args: ["x"],
    shape: (args) => [...(args[0] as TensorMeta).shape],
    reference: (args: RefArg[]) => {
      const x = args[0] as RefTensor;
      return { shape: [...x.shape], dtype: x.dtype, data: x.data.slice() };
    },
    ...over,
  });
  return name;
}

const traceOp = (name: string) =>
  trace((x) => ops.call(name, [x])!.add(1), [{ shape: [4], name: "x" }]);

Deno.test("a shape rule must return a list of non-negative integers or null", () => {
  for (const bad of ["abc", [-1], [1.5], ["4"], undefined, 7, [Infinity]]) {
    const name = op({ shape: () => bad as never });
    try {
      assert.throws(() => traceOp(name), (e: Error) => {
        assert.equal(e.name, "ShapeError");
        assert.match(e.message, new RegExp(`node '\\w+' \\(${name}\\): the shape rule returned`));
        assert.match(e.message, /expected a list of non-negative integers, or null/);
        if (bad === undefined) assert.match(e.message, /returned nothing \(undefined\)/);
        return true;
      }, `shape ${JSON.stringify(bad)}`);
    } finally {
      unregisterOp(name);
    }
  }
});

Deno.test("a dtype rule must return a known dtype", () => {
  const name = op({ dtype: () => "f64" as never });
  try {
    assert.throws(() => traceOp(name), {
      name: "DTypeError",
      message: new RegExp(`\\(${name}\\): the dtype rule's result: unknown dtype "f64"`),
    });
  } finally {
    unregisterOp(name);
  }
});

Deno.test("errors thrown by reference, js and wgsl name the op and the function", async () => {
  const boom = () => {
    throw new TypeError("kaboom");
  };
  const ref = op({ reference: boom });
  const js = op({ js: boom });
  const wgsl = op({ wgsl: boom });
  try {
    const x = new Float32Array(4);
    assert.throws(() => interpret(traceOp(ref), [x]), {
      name: "CustomOpError",
      message: new RegExp(`custom op '${ref}': its reference implementation threw: kaboom`),
    });
    const cg = compile(traceOp(js));
    try {
      await assert.rejects(() => cg.run([x]), {
        name: "CustomOpError",
        message: new RegExp(`custom op '${js}': its js implementation threw: kaboom`),
      });
    } finally {
      await cg.disposeAsync();
    }
    assert.throws(() => compile(traceOp(wgsl)), {
      name: "CustomOpError",
      message: new RegExp(`custom op '${wgsl}': its wgsl implementation threw: kaboom`),
    });
  } finally {
    [ref, js, wgsl].forEach((o) => unregisterOp(o));
  }
});

Deno.test("a host result of the wrong length, dtype or nothing is an error, not garbage", async () => {
  const cases: [unknown, RegExp][] = [
    [new Float32Array(3), /returned a Float32Array of 3 elements/],
    [new Int32Array(4), /returned a Int32Array/],
    [undefined, /returned nothing \(undefined\)/],
    [{ shape: [2, 2], data: new Float64Array(4) }, /returned a tensor of shape \[2, 2\]/],
  ];
  for (const [result, re] of cases) {
    const name = op({ js: () => result });
    const cg = compile(traceOp(name));
    try {
      await assert.rejects(() => cg.run([new Float32Array(4)]), (e: Error) => {
        assert.equal(e.name, "CustomOpError");
        assert.match(e.message, new RegExp(`custom op '${name}': its js implementation`));
        assert.match(e.message, re);
        assert.match(e.message, /the op's result is f32\[4\] \(4 elements/);
        return true;
      });
    } finally {
      await cg.disposeAsync();
      unregisterOp(name);
    }
  }
  // the reference as the CPU fallback is checked the same way
  const name = op({
    reference: () => ({ shape: [3], dtype: "f32", data: new Float64Array(3) }),
    hostReadback: true,
  });
  const cg = compile(traceOp(name));
  try {
    await assert.rejects(() => cg.run([new Float32Array(4)]), /its reference implementation/);
  } finally {
    await cg.disposeAsync();
    unregisterOp(name);
  }
  // a correct js result, as a typed array or a { shape, data } tensor, still works
  const ok = op({ js: (a: unknown) => ({ shape: [4], data: (a as Float32Array[])[0] }) });
  const good = compile(traceOp(ok));
  try {
    const [y] = await good.run([new Float32Array([1, 2, 3, 4])]);
    assert.deepEqual(Array.from(y), [2, 3, 4, 5]);
  } finally {
    await good.disposeAsync();
    unregisterOp(ok);
  }
});

Deno.test("a wgsl rule must return { wgsl, workgroups }", () => {
  const name = op({ wgsl: () => ({ wgsl: "", workgroups: [1, -1, 1] }) as never });
  try {
    assert.throws(() => compile(traceOp(name)), {
      name: "CustomOpError",
      message:
        /its wgsl implementation returned .*expected \{ wgsl: string, workgroups: \[x, y, z\] \}/,
    });
  } finally {
    unregisterOp(name);
  }
});

Deno.test("registerCustomOp checks its spec", () => {
  for (const bad of [null, undefined, 42, "ns::op", []]) {
    assert.throws(() => registerCustomOp(bad as never), {
      name: "GraphError",
      message: /registerCustomOp: expected a spec \{name, args, shape, reference, \.\.\.\}/,
    });
  }
  assert.throws(
    () => op({ js: "not a function" as never }),
    { name: "GraphError", message: /js must be a function when given/ },
  );
});

Deno.test("a mutated or aliased argument must be a tensor", () => {
  const mut = op({ args: ["x", "out!"], shape: () => null, reference: () => null });
  const al = op({ args: ["x", "y"], aliasOf: 1 });
  try {
    assert.throws(
      () =>
        trace((x) => {
          ops.call(mut, [x, 3]);
          return x.add(1);
        }, [{ shape: [2] }]),
      {
        name: "GraphError",
        message: new RegExp(
          `\\(${mut}\\): argument 'out' is written in place and must be a tensor, got number 3`,
        ),
      },
    );
    assert.throws(() => trace((x) => ops.call(al, [x, 3])!.add(1), [{ shape: [2] }]), {
      name: "GraphError",
      message: /argument 'y' is the storage the result views and must be a tensor/,
    });
  } finally {
    unregisterOp(mut);
    unregisterOp(al);
  }
});
