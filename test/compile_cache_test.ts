// Warm compiles: the same graph, mode, knobs and op registry reuse the compiled program; each
// CompiledGraph still owns its buffers, so disposing one leaves the other working.
import assert from "node:assert/strict";
import { compile, interpret } from "../src/mod.ts";
import { counters } from "../src/inductor/counters.ts";
import { assertClose } from "./helpers.ts";

Deno.test("a second compile of the same graph is a cache hit; a knob change is not", async () => {
  const f = (x: import("../src/fx/tracer.ts").TensorProxy) => x.mul(3).softmax(-1);
  const inputs = [{ shape: [5, 7] }];
  const before = counters.compileCacheHits;
  const a = compile(f, { inputs });
  const b = compile(f, { inputs });
  assert.equal(counters.compileCacheHits, before + 1);
  assert.equal(b.program, a.program, "the program is shared");
  const c = compile(f, { inputs, config: { "inductor.fusion": false } });
  assert.equal(counters.compileCacheHits, before + 1, "different knobs compile anew");
  assert.notEqual(c.program, a.program);
  const x = new Float32Array(35).map((_, i) => Math.sin(i));
  const want = interpret(a.graph, [x])[0];
  assertClose((await a.run([x]))[0], want, { atol: 1e-6, rtol: 1e-5 }, "a");
  await a.disposeAsync();
  assertClose(
    (await b.run([x], { poison: true }))[0],
    want,
    { atol: 1e-6, rtol: 1e-5 },
    "b after a is disposed",
  );
  await b.disposeAsync();
  await c.disposeAsync();
});

Deno.test("inductor.debug prints the kernels, the program and the WGSL at compile", () => {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(" "));
  try {
    compile((x) => x.exp().sum(-1), {
      inputs: [{ shape: [3, 9] }],
      config: { "inductor.debug": true },
    });
  } finally {
    console.log = log;
  }
  const text = lines.join("\n");
  assert.match(text, /k0_\w+ \[reduction\]/);
  assert.match(text, /def partition_0/);
  assert.match(text, /@compute @workgroup_size/);
});
