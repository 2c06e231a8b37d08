// The pieces that keep IEEE results from being folded (src/codegen/wgsl/ieee.ts): which bodies
// read a value that is the same at every loop step (value_expr.ts valueVars, hasLeafFreeOf) and
// the WGSL of the opaque copies. The GPU behaviour is in test/semantics_test.ts ("opaque copies
// stay distinct", "constant along k").
import assert from "node:assert/strict";
import { iadd, iconst, iind, imul, ivar } from "../src/inductor/index_expr.ts";
import { hasLeafFreeOf, valueVars, vbin, vconst, vload, vreg } from "../src/inductor/value_expr.ts";
import { OPAQUE_ZERO_INIT, opaqueCopy, opaqueF32, opaqueStep } from "../src/codegen/wgsl/ieee.ts";

const x0 = ivar("x0", 4), r0 = ivar("r0", 3);
const rowLoad = vload("a", imul(x0, 3), "f32"); // a[x0 * 3]: the same for every r0
const stepLoad = vload("b", iadd(imul(x0, 3), r0), "f32"); // b[x0 * 3 + r0]

Deno.test("valueVars: the index variables of loads, index values and indirect indices", () => {
  assert.deepEqual([...valueVars(rowLoad)].sort(), ["x0"]);
  assert.deepEqual([...valueVars(vbin("mul", rowLoad, stepLoad, "f32"))].sort(), ["r0", "x0"]);
  assert.deepEqual([...valueVars(vconst(2, "f32"))], []);
  // an indirect index contributes the variables its value reads
  const indirect = vload("c", iind("k", vload("idx", r0, "i32"), 10), "f32");
  assert.deepEqual([...valueVars(indirect)], ["r0"]);
  assert.deepEqual([...valueVars(vload("c", iconst(0), "f32"))], []);
});

Deno.test("hasLeafFreeOf: a broadcast load, a literal or a register is the same at every step", () => {
  const r = new Set(["r0"]);
  assert.equal(hasLeafFreeOf(vbin("mul", rowLoad, stepLoad, "f32"), r), true);
  assert.equal(hasLeafFreeOf(vbin("mul", stepLoad, vconst(2, "f32"), "f32"), r), true);
  assert.equal(hasLeafFreeOf(vbin("sub", stepLoad, vreg("acc0", "f32"), "f32"), r), true);
  assert.equal(hasLeafFreeOf(vbin("mul", stepLoad, stepLoad, "f32"), r), false);
  assert.equal(hasLeafFreeOf(stepLoad, new Set(["x0"])), false);
});

Deno.test("opaque copies: literals OR the zero in, copies and per-step copies add it", () => {
  assert.equal(opaqueF32(0.5), "bitcast<f32>(OPAQUE_ZERO | 0x3f000000u)");
  // an add, so the copy of an already OR-ed value is not the value itself (OR is idempotent)
  assert.equal(opaqueCopy("v3"), "bitcast<f32>(bitcast<u32>(v3) + OPAQUE_ZERO)");
  assert.equal(
    opaqueStep("a0", "k0 + 1u"),
    "bitcast<f32>(bitcast<u32>(a0) + (OPAQUE_ZERO & (k0 + 1u)))",
  );
  // the zero comes from a buffer's length, which no compiler sees before binding
  assert.match(OPAQUE_ZERO_INIT, /arrayLength\(&t0\) == 0u/);
});
