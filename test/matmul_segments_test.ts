// matmulSegments (src/codegen/wgsl/matmul_segments.ts): the layout of a matmul kernel's members
// (paired for SwiGLU, side by side for matmuls of different n) and the errors for groups a matmul
// kernel cannot render, on kernel groups taken from compiled graphs.
import assert from "node:assert/strict";
import { compile } from "../src/mod.ts";
import type { TensorProxy } from "../src/fx/tracer.ts";
import type { GroupInput } from "../src/codegen/wgsl/kernel_context.ts";
import { matmulSegments } from "../src/codegen/wgsl/matmul_segments.ts";
import { CompileError } from "../src/errors.ts";

type Fn = (...xs: TensorProxy[]) => TensorProxy | TensorProxy[];

/** The groups of a compiled graph's kernels of node kind `kind`. */
function groups(fn: Fn, shapes: number[][], kind: string): GroupInput[] {
  const cg = compile(fn, { inputs: shapes.map((shape) => ({ shape })) });
  return [cg.program.main, ...cg.program.partitions.values()].flatMap((w) =>
    w.lines.flatMap((l) =>
      l.op === "kernel" && l.node.kind === kind
        ? [w.sched.groupInput(l.spec.name, l.node.members)]
        : []
    )
  );
}

Deno.test("matmulSegments: SwiGLU pairs its matmuls, other n lay side by side", () => {
  const [swiglu] = groups(
    (x, w1, w3) => x.matmul(w1).silu().mul(x.matmul(w3)),
    [[8, 16], [16, 24], [16, 24]],
    "matmul",
  );
  const p = matmulSegments(swiglu);
  assert.equal(p.paired, true);
  assert.equal(p.nTotal, 24);
  assert.deepEqual(p.segments.map((s) => [s.offset, s.acc]), [[0, "acc0_"], [0, "acc1_"]]);
  assert.equal(p.epilogueOf.size > 0, true, "the silu/mul epilogue attaches");

  const [sbs] = groups(
    (x, a, b) => [x.matmul(a), x.matmul(b).relu()],
    [[8, 16], [16, 24], [16, 40]],
    "matmul",
  );
  const s = matmulSegments(sbs);
  assert.equal(s.paired, false);
  assert.equal(s.nTotal, 64);
  assert.deepEqual(s.segments.map((x) => x.offset), [0, 24]);
  const relu = [...s.epilogueOf.values()];
  assert.ok(relu.length > 0 && relu.every((seg) => seg === s.segments[1]), "relu reads b's matmul");
});

Deno.test("matmulSegments: a non-pointwise member or an unshared A operand is a CompileError", () => {
  const [mm] = groups((x, w) => x.matmul(w), [[8, 16], [16, 24]], "matmul");
  const [red] = groups((x) => x.sum(1), [[8, 16]], "reduction");
  const sumBuf = red.members.find((m) => m.def.kind === "reduction")!;
  assert.throws(
    () => matmulSegments({ ...mm, members: [...mm.members, sumBuf] }),
    (e: unknown) =>
      e instanceof CompileError && /cannot be a matmul epilogue/.test(e.message) &&
      e.message.includes(sumBuf.name),
  );
  const [other] = groups((x, w) => x.matmul(w), [[8, 12], [12, 24]], "matmul");
  const mm2 = other.members.find((m) => m.def.kind === "matmul")!;
  assert.throws(
    () => matmulSegments({ ...mm, members: [...mm.members, { ...mm2, name: "other_mm" }] }),
    (e: unknown) =>
      e instanceof CompileError && /do not share an A operand/.test(e.message) &&
      e.message.includes("other_mm"),
  );
});
