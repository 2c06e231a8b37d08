// Compile time of long pointwise chains (bench row compile-chain-4000): expression keys are
// interned so they stay short however deep a body is, lowered values memoise their loads, and
// bodies past MAX_EXPR_DEPTH are realized so the recursive codegen walks never exhaust the stack.
// (Nothing here times anything: a chain of 8000 ops used to take hours, then overflowed the
// stack; now it compiles and runs.)
import assert from "node:assert/strict";
import { compile, interpret } from "../src/mod.ts";
import { iind } from "../src/inductor/index_expr.ts";
import {
  buffersRead,
  exprDepth,
  MAX_EXPR_DEPTH,
  vbin,
  vcast,
  vconst,
  type VExpr,
  vload,
  vun,
} from "../src/inductor/value_expr.ts";
import { vars } from "../src/inductor/lowering.ts";
import { assertClose } from "./helpers.ts";

function chain(n: number, leaf: VExpr): VExpr {
  let e = leaf;
  for (let i = 0; i < n; i++) {
    e = i % 2 ? vbin("mul", e, vconst(0.5, "f32"), "f32") : vun("tanh", e);
  }
  return e;
}

Deno.test("expression keys stay short and equal for equal expressions, however deep", () => {
  const x = vars("x", [4, 8]);
  const leaf = () => vload("arg0", x[0], "f32");
  const a = chain(20_000, leaf()), b = chain(20_000, leaf());
  assert.ok(a.key.length < 16, `key ${a.key.slice(0, 40)}… has ${a.key.length} characters`);
  assert.equal(a.key, b.key, "structurally equal bodies share a key (CSE relies on it)");
  assert.notEqual(chain(20_001, leaf()).key, a.key);
  assert.notEqual(vconst(-0, "f32").key, vconst(0, "f32").key);
  assert.notEqual(vcast(leaf(), "i32").key, vcast(leaf(), "u32").key);
  assert.equal(exprDepth(a), 20_001);
  assert.deepEqual([...buffersRead(a)], ["arg0"]);
  // loads inside an indirect index count as reads
  const row = vcast(vload("ids", x[0], "i32"), "u32");
  const g = vbin("add", vload("w", iind(row.key, row, 4), "f32"), vconst(1, "f32"), "f32");
  assert.deepEqual([...buffersRead(g)].sort(), ["ids", "w"]);
  assert.equal(exprDepth(g), 4); // add, load w, cast, load ids
});

Deno.test("an 8000-op pointwise chain compiles into kernels under MAX_EXPR_DEPTH and matches the reference", async () => {
  const n = 8000;
  const cg = compile((x) => {
    let h = x;
    for (let i = 0; i < n; i++) h = i % 2 ? h.mul(0.5) : h.add(0.5);
    return h;
  }, { inputs: [{ shape: [256] }] });
  try {
    const bodies = cg.scheduler.nodes.flatMap((k) => k.members)
      .map((m) => (m.def.kind === "pointwise" ? exprDepth(m.def.body) : 0));
    assert.ok(Math.max(...bodies) <= MAX_EXPR_DEPTH, `deepest body ${Math.max(...bodies)}`);
    assert.ok(cg.stats.kernels >= n / MAX_EXPR_DEPTH && cg.stats.kernels <= 2 * n / 500);
    assert.match(cg.explain(), /the fused kernel would nest up to \d+ ops \(more than 1024\)/);
    const x = new Float32Array(256).map((_, i) => i / 16 - 8);
    const [y] = await cg.run([x], { poison: true });
    const [want] = interpret(cg.graph, [x]);
    assertClose(y, want, { atol: 1e-6, rtol: 1e-6 }, "chain");
  } finally {
    await cg.disposeAsync();
  }
});
