// Valid inputs that used to be rejected or to fail late: a read through an aliasing custom op
// (aten::view_dtype) fused with the write of its storage, matmul and bmm grids past 65535
// workgroups per dimension, and tensors past the device's storage binding size (a clear error
// naming the kernel, tensor and sizes before anything runs).
import assert from "node:assert/strict";
import { compile, getDevice, interpret, ops, VIEW_DTYPE_OP } from "../src/mod.ts";
import { assertClose, randomArray, rng } from "./helpers.ts";
import { foldGrid3, MAX_GRID_DIM } from "../src/codegen/wgsl/kernel_spec.ts";

for (const mode of ["default", "eager"] as const) {
  Deno.test(`add -> aten::view_dtype -> add runs in ${mode} mode`, async () => {
    // a view that changes the element size needs f16 (wgpu's GL adapter has no shader-f16)
    const f16 = (await getDevice()).hasF16;
    const cg = compile((x) => {
      const y = ops.call(VIEW_DTYPE_OP, [x.add(1)], { dtype: "i32" })!;
      if (!f16) return [y.add(1)];
      const z = ops.call(VIEW_DTYPE_OP, [y.add(3)], { dtype: "f16" })!;
      return [y.add(1), z.add(0.5)];
    }, { inputs: [{ shape: [6] }], mode });
    try {
      const x = new Float32Array([1, 2, 3, -4, 0.5, 1e-3]);
      const got = await cg.run([x], { poison: true });
      const want = interpret(cg.graph, [x]);
      assert.deepEqual(Array.from(got[0]), Array.from(want[0]));
      if (f16) assertClose(got[1], want[1], { atol: 0, rtol: 1e-3 }, "f16 view");
      // the reader of the alias is its own kernel, after the view op
      const explain = cg.explain();
      assert.match(explain, /buf\d+ = aten::view_dtype\(buf\d+\)\n(.*\n)*.*k\d+_add_1\(buf/);
    } finally {
      await cg.disposeAsync();
    }
  });
}

Deno.test("foldGrid3 covers any count under the per-dimension limit", () => {
  for (const n of [1, 65535, 65536, 131072, 4_194_303, 65535 * 65535 + 7, 2 ** 32 - 1]) {
    const [x, y, z] = foldGrid3(n);
    assert.ok(x <= MAX_GRID_DIM && y <= MAX_GRID_DIM && z <= MAX_GRID_DIM, `${n}: ${x} ${y} ${z}`);
    assert.ok(x * y * z >= n && x * y * z - n < x * y, `${n}: ${x} ${y} ${z}`);
  }
});

Deno.test("matmul with more than 65535 row tiles: [4194304, 2] @ [2, 2]", async () => {
  const M = 4 * 1024 * 1024;
  const cg = compile((a, b) => a.matmul(b), { inputs: [{ shape: [M, 2] }, { shape: [2, 2] }] });
  try {
    const r = rng(11);
    const a = randomArray([M, 2], "f32", r) as Float32Array;
    const b = randomArray([2, 2], "f32", r) as Float32Array;
    const [y] = await cg.run([a, b]);
    // every row (the reference would be slow at this size; the product is two FMAs a row)
    let worst = 0;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < 2; j++) {
        const want = a[2 * i] * b[j] + a[2 * i + 1] * b[2 + j];
        worst = Math.max(worst, Math.abs(y[2 * i + j] - want));
      }
    }
    assert.ok(worst < 1e-5, `max error ${worst}`);
    const [grid] = [
      ...cg.program.main.lines,
      ...[...cg.program.partitions.values()].flatMap((w) => w.lines),
    ]
      .filter((l) => l.op === "kernel")
      .map((l) => (l as { spec: { workgroups: number[] } }).spec.workgroups);
    assert.ok(grid.every((g) => g <= MAX_GRID_DIM), `grid ${grid}`);
  } finally {
    await cg.disposeAsync();
  }
});

Deno.test("bmm with a batch of 70000", async () => {
  const B = 70000;
  const cg = compile((a, b) => a.bmm(b).relu(), {
    inputs: [{ shape: [B, 2, 3] }, { shape: [B, 3, 2] }],
  });
  try {
    const r = rng(12);
    const a = randomArray([B, 2, 3], "f32", r);
    const b = randomArray([B, 3, 2], "f32", r);
    const [y] = await cg.run([a, b], { poison: true });
    const [want] = interpret(cg.graph, [a, b]);
    assertClose(y, want, { atol: 1e-5, rtol: 1e-4 }, "bmm 70000");
  } finally {
    await cg.disposeAsync();
  }
});

Deno.test("a tensor past maxStorageBufferBindingSize is a DeviceError naming kernel, tensor and sizes", async () => {
  const h = await getDevice();
  const limit = h.limits.maxStorageBufferBindingSize;
  const n = Math.floor(limit / 4) + 1024; // just over the limit in f32
  const cg = compile((x) => x.mul(2).add(1), { inputs: [{ shape: [n] }] });
  try {
    await assert.rejects(() => cg.prepare(), (e: Error) => {
      assert.equal(e.name, "DeviceError");
      assert.match(
        e.message,
        new RegExp(`kernel 'k0_\\w+' binds '\\w+' \\(${n} f32 elements, ${4 * n} bytes\\)`),
      );
      assert.match(e.message, new RegExp(`maxStorageBufferBindingSize of ${limit} bytes`));
      assert.match(e.message, new RegExp(`at most ${Math.floor(limit / 4)} elements`));
      return true;
    });
  } finally {
    await cg.disposeAsync();
  }
});
