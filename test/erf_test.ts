// gelu's erf (render.ts ERF_HELPER, Abramowitz–Stegun 7.1.26 in fma form) against the float64
// reference: a dense sweep of [-8, 8], tiny and huge magnitudes, ±0, ±inf and NaN, in a vec4
// kernel and a scalar one.
import { compile, interpret, type TypedArray } from "../src/mod.ts";
import type { TensorProxy } from "../src/fx/tracer.ts";
import { assertClose } from "./helpers.ts";

const SPECIAL = [0, -0, 1e-30, -1e-30, 1e-8, -1e-8, 1e30, -1e30, Infinity, -Infinity, NaN, 3.5];

for (const vectorize of [true, false]) {
  Deno.test(`gelu (exact erf) over its range, ${vectorize ? "vec4" : "scalar"} kernel`, async () => {
    const n = 4096;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = -8 + (16 * i) / (n - 1);
    x.set(SPECIAL, 0);
    const cg = compile((a: TensorProxy) => a.gelu(), {
      inputs: [{ shape: [16, 256] }],
      config: { "inductor.vectorize": vectorize },
    });
    try {
      const [got] = await cg.run([x]);
      const [want] = interpret(cg.graph, [x]) as TypedArray[];
      // erf's |error| < 1.5e-7 (A&S), scaled by |x| / 2, plus f32 rounding of the product
      assertClose(got, want, { atol: 1e-6, rtol: 1e-5 }, "gelu");
    } finally {
      await cg.disposeAsync();
    }
  });
}
