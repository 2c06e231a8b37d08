// The page self-test's graphs: small ones (SwiftShader is slow), one or a few per op family,
// each compiled in eager and default mode and compared with the float64 reference interpreter.
import type { InputSpec, TensorProxy } from "../src/mod.ts";
import { ops } from "../src/mod.ts";

export interface SelfTestCase {
  name: string;
  inputs: InputSpec[];
  fn: (...xs: TensorProxy[]) => TensorProxy | TensorProxy[];
  /** Exclusive upper bound of integer inputs (embedding indices). */
  intHigh?: number;
  atol?: number;
  rtol?: number;
}

const f = (...shape: number[]): InputSpec => ({ shape, dtype: "f32" });
const h = (...shape: number[]): InputSpec => ({ shape, dtype: "f16" });

export const CASES: SelfTestCase[] = [
  {
    name: "elementwise",
    inputs: [f(3, 5), f(3, 5)],
    fn: (
      a,
      b,
    ) => [a.add(b).mul(a).sub(b.exp()), a.tanh().add(b.sigmoid()).relu(), a.maximum(b).div(2)],
  },
  {
    name: "broadcasting",
    inputs: [f(4, 1), f(1, 6), f(6)],
    fn: (a, b, c) => a.add(b).mul(c).sub(1.5),
  },
  {
    name: "reductions",
    inputs: [f(3, 4, 5)],
    fn: (x) => [x.sum(-1), x.mean(1, true), x.max(0), x.sum([0, 2])],
  },
  { name: "softmax", inputs: [f(6, 33)], fn: (x) => x.mul(3).softmax(-1) },
  {
    name: "layer_norm",
    inputs: [f(5, 24), f(24), f(24)],
    fn: (x, w, b) => [x.layerNorm([24], w, b), x.rmsNorm([24], w)],
  },
  {
    name: "matmul",
    inputs: [f(5, 7), f(7, 3), f(2, 4, 6), f(2, 6, 5), f(3)],
    fn: (a, b, c, d, bias) => [a.matmul(b).add(bias).relu(), c.matmul(d)],
  },
  {
    name: "views",
    inputs: [f(4, 6), f(2, 3, 4)],
    fn: (a, b) => [
      a.transpose(0, 1).add(1),
      a.reshape(2, 12).mul(2),
      b.permute(2, 0, 1).reshape(4, 6).add(a),
      a.slice(1, 1, 5).exp(),
      a.slice(0, 0, 1).expand(3, 6).sub(0.5),
    ],
  },
  {
    name: "cat",
    inputs: [f(2, 3), f(2, 5), f(4, 3)],
    fn: (a, b, c) => [ops.cat([a, b], 1).mul(2), ops.cat([a.add(1), c], 0)],
  },
  {
    // rows past 32 elements reduce with a workgroup per row (subgroup operations where the
    // adapter has them); a few NaNs must propagate through max/min/sum as in torch
    name: "nan_reductions",
    inputs: [f(6, 40)],
    fn: (x) => {
      const y = ops.where(x.gt(0.98), x.neg().sqrt(), x.mul(3));
      return [y.max(-1), y.min(-1), y.sum(-1), x.argmax(-1), x.softmax(-1)];
    },
  },
  {
    // f16 storage: native with shader-f16, two halves per u32 without it (SwiftShader)
    name: "f16",
    inputs: [h(3, 37), h(37), h(37, 5)],
    fn: (x, w, m) => [x.mul(w).softmax(-1), x.sum(-1), x.add(w).relu(), x.matmul(m)],
    atol: 5e-3,
    rtol: 5e-3,
  },
  {
    name: "embedding",
    inputs: [f(10, 4), { shape: [2, 3], dtype: "i32" }],
    intHigh: 10,
    fn: (w, idx) => ops.embedding(w, idx).mul(2),
  },
];
