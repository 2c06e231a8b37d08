// Index simplification: a flat index split by one reshape and joined again by another folds back.
import assert from "node:assert/strict";
import { iadd, idiv, imod, imul, ivar } from "../src/inductor/index_expr.ts";

Deno.test("index: (x % d) + d * (x // d) folds to x, also scaled and with other terms", () => {
  const x = ivar("x", 160), y = ivar("y", 4);
  assert.equal(iadd(imod(x, 40), imul(idiv(x, 40), 40)).key, x.key);
  const scaled = iadd(imul(imod(x, 40), 3), imul(idiv(x, 40), 120), imul(y, 7));
  assert.equal(scaled.key, iadd(imul(x, 3), imul(y, 7)).key);
  // not the same split: left alone
  const other = iadd(imod(x, 40), imul(idiv(x, 40), 80));
  assert.notEqual(other.key, x.key);
  assert.equal(other.terms.size, 2);
});
