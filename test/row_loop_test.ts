// Pointwise kernels that loop over rows on CPU adapters (src/codegen/wgsl/row_loop.ts): which
// lines are hoisted, when the loop is chosen, and the kernels' outputs against a float64
// reference on fresh random inputs with NaN, ±inf and -0 among them (-0 compared as a value).
import assert from "node:assert/strict";
import { compile, interpret, type TypedArray } from "../src/mod.ts";
import type { TensorProxy } from "../src/fx/tracer.ts";
import { rowLoopRows, splitRowInvariant } from "../src/codegen/wgsl/row_loop.ts";
import { freshSeed, randomArray, rng } from "./helpers.ts";

Deno.test("splitRowInvariant hoists row-free lets, keeps stores, writable loads and dependents", () => {
  const lines = [
    "let v0 = t0[x0 * 8u + x1];",
    "let v1 = t1[x1];",
    "let v2 = v1.x; // a comment",
    "let v3 = (v0.x * v2);",
    "let v4 = t3[x1];",
    "var acc = 0.0;",
    "let v5 = acc + v2;",
    "let v6 = bitcast<f32>(OPAQUE_ZERO | 0x3f800000u);",
    "t3[x0 * 8u + x1] = vec4<f32>(v3, v4, v5, v6);",
  ];
  const { hoisted, loop } = splitRowInvariant(lines, ["x0"], new Set(["t3"]));
  assert.deepEqual(hoisted, [lines[1], lines[2], lines[7]]);
  assert.deepEqual(loop, [lines[0], lines[3], lines[4], lines[5], lines[6], lines[8]]);
});

Deno.test("rowLoopRows: CPU adapters only, dim 0 split evenly, enough invocations left", () => {
  assert.equal(rowLoopRows("cpu", [4096, 1024], 1), 8);
  assert.equal(rowLoopRows("gpu", [4096, 1024], 1), 1);
  assert.equal(rowLoopRows(undefined, [4096, 1024], 1), 1);
  assert.equal(rowLoopRows("cpu", [4100, 1024], 1), 1, "rows not a multiple of 8");
  assert.equal(rowLoopRows("cpu", [64, 16], 1), 1, "too few invocations");
  assert.equal(rowLoopRows("cpu", [65536], 0), 1, "one dimension");
  assert.equal(rowLoopRows("cpu", [1024, 64], 0), 1, "vector dim outermost");
});

/** float64 gelu (exact erf by its Taylor series / continued fraction); -inf gives NaN, as
 * torch's 0.5 * x * (1 + erf(x / sqrt 2)) does (checked with torch 1.13). */
function gelu64(u: number): number {
  if (Number.isNaN(u)) return NaN;
  if (u === Infinity) return Infinity;
  if (u === -Infinity) return NaN;
  const x = u * Math.SQRT1_2, ax = Math.abs(x);
  let erf: number;
  if (ax > 6) erf = Math.sign(x);
  else if (ax < 2.5) {
    let sum = 0, term = ax;
    for (let n = 0; n < 200 && Math.abs(term) > 1e-18; n++) {
      sum += term / (2 * n + 1);
      term *= -ax * ax / (n + 1);
    }
    erf = Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    let f = ax, c = ax, d = 0;
    for (let n = 1; n < 200; n++) {
      d = 1 / (ax + (n / 2) * d);
      c = ax + (n / 2) / c;
      f *= c * d;
      if (Math.abs(c * d - 1) < 1e-16) break;
    }
    erf = Math.sign(x) * (1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f);
  }
  return 0.5 * u * (1 + erf);
}

/** Random values in [-4, 4) with NaN, ±inf and -0 at random positions. */
function withSpecials(n: number, r: () => number): Float32Array {
  const a = randomArray([n], "f32", r, -4, 4) as Float32Array;
  const specials = [NaN, Infinity, -Infinity, -0];
  for (let i = 0; i < n / 64; i++) a[Math.floor(r() * n)] = specials[i % specials.length];
  return a;
}

Deno.test("gelu(x * a + b) looped over rows matches float64 with NaN, ±inf, -0", async () => {
  const seed = freshSeed();
  const r = rng(seed);
  const [R, C] = [64, 4096]; // 65536 vec4s: the loop's 8 rows leave 8192 invocations
  const x = withSpecials(R * C, r), a = withSpecials(C, r), b = withSpecials(C, r);
  const cg = compile((x: TensorProxy, a: TensorProxy, b: TensorProxy) => x.mul(a).add(b).gelu(), {
    inputs: [{ shape: [R, C] }, { shape: [C] }, { shape: [C] }],
  });
  try {
    await cg.prepare();
    const cpu = /cpu adapter/.test(cg.explain());
    assert.equal(/for \(var xk = 0u; xk < 8u/.test(cg.explain()), cpu, "row loop on CPU adapters");
    const [got] = await cg.run([x, a, b], { poison: true }) as Float32Array[];
    for (let i = 0; i < R * C; i++) {
      const u = Math.fround(Math.fround(x[i] * a[i % C]) + b[i % C]);
      const want = gelu64(u);
      const ok = Number.isNaN(want)
        ? Number.isNaN(got[i])
        : !Number.isFinite(want)
        ? got[i] === want
        : Math.abs(got[i] - want) <= 1e-6 + 1e-5 * Math.abs(want);
      if (!ok) assert.fail(`seed ${seed}: element ${i}: u ${u}, got ${got[i]}, want ${want}`);
    }
  } finally {
    await cg.disposeAsync();
  }
});

Deno.test("in-place and per-row operands: nothing writable hoisted, results as the reference", async () => {
  const seed = freshSeed();
  const r = rng(seed);
  const [R, C] = [128, 2048];
  const x = withSpecials(R * C, r), row = withSpecials(R, r), col = withSpecials(C, r);
  const cg = compile((x: TensorProxy, row: TensorProxy, col: TensorProxy) => {
    x.copy_(x.mul(col)); // in place: x's binding is written
    return x.sub(row).add(col.exp());
  }, { inputs: [{ shape: [R, C] }, { shape: [R, 1] }, { shape: [C] }] });
  try {
    const got = await cg.run([x.slice(), row, col], { poison: true }) as TypedArray[];
    const want = interpret(cg.graph, [x, row, col]) as TypedArray[];
    got.forEach((g, o) => {
      for (let i = 0; i < g.length; i++) {
        const w = Number(want[o][i]), v = Number(g[i]);
        const ok = Number.isNaN(w)
          ? Number.isNaN(v)
          : !Number.isFinite(w)
          ? v === w
          : Math.abs(v - w) <= 1e-5 + 1e-5 * Math.abs(w);
        if (!ok) assert.fail(`seed ${seed}: output ${o}[${i}] = ${v}, reference ${w}`);
      }
    });
  } finally {
    await cg.disposeAsync();
  }
});
