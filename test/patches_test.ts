// Patch registry: version gating, disable lists, reports, reversibility (upstream-inductor.md §4
// scenario 10), with stand-in patches; the real A–D have their own tests.
import assert from "node:assert/strict";
import { ConfigError, InductorError } from "../src/errors.ts";
import {
  appliedPatches,
  applyPatches,
  type Patch,
  PatchRegistry,
  patchRegistry,
  registerPatch,
  revertPatches,
  swapMember,
} from "../src/patches/index.ts";

/** Stand-in for a ported class whose methods the real patches replace. */
class Codegen {
  memoryPlanReuse(): string {
    return "stock";
  }
  shouldPartition(): string {
    return "stock";
  }
}
const STOCK_A = Codegen.prototype.memoryPlanReuse;
const STOCK_B = Codegen.prototype.shouldPartition;
// deno-lint-ignore no-explicit-any
const g = globalThis as any;

function methodPatch(id: string, range: string, name: "memoryPlanReuse" | "shouldPartition") {
  const swap = swapMember(Codegen.prototype, name, (orig) =>
    function (this: Codegen) {
      return "patched(" + orig.call(this) + ")";
    });
  return {
    id,
    target: `Codegen.${name}`,
    range,
    upstream: "pytorch#0",
    description: "test",
    apply: swap.apply,
    revert: swap.revert,
  } satisfies Patch;
}

/** D-like: installs a global helper (like builtins.get_raw_stream) for 2.9.0 and 2.9.1. */
function globalPatch(): Patch {
  const swap = swapMember(g, "__testRawStream", () => () => 0);
  return {
    id: "D",
    target: "globalThis.__testRawStream",
    range: ">=2.9.0 <2.9.2",
    upstream: "vllm#30905",
    description: "test",
    apply: swap.apply,
    revert: swap.revert,
  };
}

function fresh(): PatchRegistry {
  const r = new PatchRegistry();
  r.register(methodPatch("A", "2.9.0", "memoryPlanReuse"));
  r.register(methodPatch("B", "2.9.0", "shouldPartition"));
  r.register(globalPatch());
  return r;
}

function assertStock() {
  assert.equal(Codegen.prototype.memoryPlanReuse, STOCK_A);
  assert.equal(Codegen.prototype.shouldPartition, STOCK_B);
  assert.ok(!("__testRawStream" in g));
  assert.deepEqual(Object.keys(Codegen.prototype), []); // methods stay non-enumerable
}

const applied = (r: PatchRegistry) => r.reports().filter((p) => p.applied).map((p) => p.id);
const reason = (r: PatchRegistry, id: string) => r.reports().find((p) => p.id === id)!.reason;

Deno.test("2.9.0: every patch applies; revert restores the stock functions by identity", () => {
  const r = fresh();
  r.apply({ portedFrom: "2.9.0" });
  assert.deepEqual(applied(r), ["A", "B", "D"]);
  assert.equal(new Codegen().memoryPlanReuse(), "patched(stock)");
  assert.equal(typeof g.__testRawStream, "function");
  assert.equal(reason(r, "A"), "version 2.9.0 satisfies range 2.9.0");
  r.revert();
  assertStock();
  assert.deepEqual(applied(r), []);
  assert.match(reason(r, "A"), /^reverted/);
});

Deno.test("2.9.1: only the D-like range applies; skipped targets stay stock", () => {
  const r = fresh();
  r.apply({ portedFrom: "2.9.1" });
  assert.deepEqual(applied(r), ["D"]);
  assert.equal(reason(r, "A"), "version 2.9.1 outside range 2.9.0");
  assert.equal(Codegen.prototype.memoryPlanReuse, STOCK_A);
  r.revert();
  assertStock();
});

Deno.test("2.10.0: nothing applies", () => {
  const r = fresh();
  const reports = r.apply({ portedFrom: "2.10.0" });
  assert.deepEqual(reports.map((p) => p.applied), [false, false, false]);
  assert.equal(reason(r, "D"), "version 2.10.0 outside range >=2.9.0 <2.9.2");
  assertStock();
  r.revert();
  assertStock();
});

Deno.test("disable 'all' and 'A,B'-style lists", () => {
  const r = fresh();
  r.apply({ portedFrom: "2.9.0", disable: "all" });
  assert.deepEqual(applied(r), []);
  assert.equal(reason(r, "B"), "disabled by WEBGPU_INDUCTOR_DISABLE_PATCHES=all");
  assertStock();
  r.revert();
  r.apply({ portedFrom: "2.9.0", disable: " A, B " });
  assert.deepEqual(applied(r), ["D"]);
  assert.match(reason(r, "A"), /^disabled by WEBGPU_INDUCTOR_DISABLE_PATCHES/);
  assert.equal(Codegen.prototype.memoryPlanReuse, STOCK_A);
  r.revert();
  assertStock();
});

Deno.test("unknown ids in the disable list: ConfigError naming them and the known ids", () => {
  const r = fresh();
  assert.throws(
    () => r.apply({ portedFrom: "2.9.0", disable: "A,Z,Q" }),
    (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /WEBGPU_INDUCTOR_DISABLE_PATCHES/);
      assert.match(e.message, /unknown patch ids: Z, Q/);
      assert.match(e.message, /known ids: A, B, D, or 'all'/);
      return true;
    },
  );
  assertStock();
  r.apply({ portedFrom: "2.9.0" }); // a rejected call leaves the registry usable
  r.revert();
});

Deno.test("bad ported-from version is a ConfigError naming the key", () => {
  assert.throws(
    () => fresh().apply({ portedFrom: "2.10" }),
    /"2\.10".*patches\.portedFrom.*WEBGPU_INDUCTOR_PORTED_FROM/,
  );
});

Deno.test("register: duplicate id, bad range and reserved id are errors naming the patch", () => {
  const r = fresh();
  assert.throws(() => r.register(methodPatch("A", "2.9.0", "memoryPlanReuse")), /patch 'A'/);
  assert.throws(() => r.register(methodPatch("E", "not a range", "shouldPartition")), /'E'.*range/);
  assert.throws(() => r.register(methodPatch("all", "2.9.0", "shouldPartition")), /'all'/);
});

Deno.test("applying twice is an error; the patch is not stacked", () => {
  const r = fresh();
  r.apply({ portedFrom: "2.9.0" });
  assert.throws(() => r.apply({ portedFrom: "2.9.0" }), /already applied \(A, B, D\)/);
  assert.equal(new Codegen().memoryPlanReuse(), "patched(stock)");
  r.revert();
  assertStock();
  // The swap helper refuses a second apply by itself too.
  const s = swapMember(Codegen.prototype, "memoryPlanReuse", (o) => o);
  s.apply();
  assert.throws(() => s.apply(), /already swapped/);
  s.revert();
  s.revert(); // reverting an unapplied swap is a no-op
  assertStock();
});

Deno.test("a patch that throws mid-apply rolls everything back and names itself", () => {
  const r = fresh();
  const half = swapMember(Codegen.prototype, "shouldPartition", () => () => "half");
  r.unregister("B");
  r.register({
    id: "C",
    target: "Codegen.shouldPartition",
    range: "2.9.0",
    upstream: "pytorch#165815",
    description: "throws after doing half its work",
    apply() {
      half.apply();
      throw new Error("boom");
    },
    revert: half.revert,
  });
  assert.throws(
    () => r.apply({ portedFrom: "2.9.0" }),
    (e: Error) => {
      assert.ok(e instanceof InductorError);
      assert.match(e.message, /patch 'C' \(Codegen\.shouldPartition\) failed to apply: boom/);
      assert.match(e.message, /rolled back C, A/);
      return true;
    },
  );
  assertStock();
  assert.deepEqual(applied(r), []);
  assert.equal(reason(r, "C"), "apply failed: boom");
  assert.equal(reason(r, "A"), "rolled back: patch C failed to apply");
  r.unregister("C");
  r.apply({ portedFrom: "2.9.0" }); // not stuck in the applied state
  r.revert();
  assertStock();
});

Deno.test("revert runs in reverse order and reports a failing revert by id", () => {
  const log: string[] = [];
  const r = new PatchRegistry();
  for (const id of ["P", "Q", "R"]) {
    r.register({
      id,
      target: id,
      range: "*",
      upstream: "-",
      description: "-",
      apply: () => log.push(`+${id}`),
      revert: () => {
        log.push(`-${id}`);
        if (id === "Q") throw new Error("stuck");
      },
    });
  }
  r.apply({ portedFrom: "2.9.0" });
  assert.throws(() => r.revert(), /reverting patches failed: Q: stuck/);
  assert.deepEqual(log, ["+P", "+Q", "+R", "-R", "-Q", "-P"]);
  assert.deepEqual(applied(r), []);
});

Deno.test("global registry functions", () => {
  registerPatch(methodPatch("A", "2.9.0", "memoryPlanReuse"));
  try {
    assert.equal(appliedPatches()[0].reason, "not applied yet");
    const [rep] = applyPatches({ portedFrom: "2.9.0" });
    assert.deepEqual(rep, {
      id: "A",
      target: "Codegen.memoryPlanReuse",
      range: "2.9.0",
      upstream: "pytorch#0",
      applied: true,
      reason: "version 2.9.0 satisfies range 2.9.0",
    });
    assert.equal(appliedPatches()[0].applied, true);
    revertPatches();
    assert.equal(appliedPatches()[0].applied, false);
    assertStock();
  } finally {
    patchRegistry.unregister("A");
  }
});
