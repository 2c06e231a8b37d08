// matmul (torch semantics: 1-D promotion, batch broadcasting), bmm and linear.
// Float dtypes only, both operands the same dtype (the GPU templates are f32/f16).
import { numel, shapeStr } from "../../dtype.ts";
import { ShapeError } from "../../errors.ts";
import type { RefTensor } from "../ref_tensor.ts";
import type { TensorMeta } from "../graph.ts";
import type { OpDef } from "../op_def.ts";
import { broadcastShapes, broadcastTo } from "./broadcast.ts";
import {
  newRef,
  optRefAt,
  optTensorAt,
  refAt,
  requireFloat,
  requireSameDType,
  tensorAt,
} from "./common.ts";

/** C[b] = A[b] @ B[b] for `batch` contiguous (M,K) and (K,N) blocks. */
function mm(a: Float64Array, b: Float64Array, batch: number, m: number, k: number, n: number) {
  const c = new Float64Array(batch * m * n);
  for (let z = 0; z < batch; z++) {
    const ao = z * m * k, bo = z * k * n, co = z * m * n;
    for (let i = 0; i < m; i++) {
      for (let p = 0; p < k; p++) {
        const av = a[ao + i * k + p];
        const brow = bo + p * n;
        const crow = co + i * n;
        for (let j = 0; j < n; j++) c[crow + j] += av * b[brow + j];
      }
    }
  }
  return c;
}

function innerMismatch(where: string, a: TensorMeta, b: TensorMeta, ka: number, kb: number) {
  return new ShapeError(
    `${where}: inner dimensions do not match: ${shapeStr(a.shape)} @ ${shapeStr(b.shape)} ` +
      `(${ka} vs ${kb})`,
  );
}

function checkOperands(a: TensorMeta, b: TensorMeta, where: string) {
  requireFloat(a, where, "a");
  requireSameDType(a, b, where, ["a", "b"]);
}

/** Operands as [...batch, M, K] and [...batch, K, N] after torch's 1-D promotion. */
function matmulPlan(a: TensorMeta, b: TensorMeta, where: string) {
  if (a.shape.length === 0 || b.shape.length === 0) {
    throw new ShapeError(
      `${where}: matmul needs operands with at least 1 dim, got ${shapeStr(a.shape)} @ ` +
        shapeStr(b.shape),
    );
  }
  const as = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
  const bs = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
  const [m, k] = as.slice(-2);
  const [k2, n] = bs.slice(-2);
  if (k !== k2) throw innerMismatch(where, a, b, k, k2);
  const batch = broadcastShapes(as.slice(0, -2), bs.slice(0, -2), where);
  const out = [...batch, ...(a.shape.length > 1 ? [m] : []), ...(b.shape.length > 1 ? [n] : [])];
  return { as, bs, batch, m, k, n, out };
}

const matmul: OpDef = {
  name: "matmul",
  kind: "matmul",
  signature: "matmul(a, b): torch.matmul (1-D promotion, batch broadcasting)",
  minArgs: 2,
  maxArgs: 2,
  kwargs: {},
  shape: (args, _kw, w) => matmulPlan(tensorAt(args, 0, "a", w), tensorAt(args, 1, "b", w), w).out,
  dtype(args, _kw, w) {
    const a = tensorAt(args, 0, "a", w);
    checkOperands(a, tensorAt(args, 1, "b", w), w);
    return a.dtype;
  },
  reference(args, _kw, out) {
    const a = refAt(args, 0), b = refAt(args, 1);
    const p = matmulPlan(a, b, "matmul");
    const ad = broadcastTo({ ...a, shape: p.as }, [...p.batch, p.m, p.k]);
    const bd = broadcastTo({ ...b, shape: p.bs }, [...p.batch, p.k, p.n]);
    return newRef(out!.shape.slice(), a.dtype, mm(ad, bd, numel(p.batch), p.m, p.k, p.n));
  },
};

const bmm: OpDef = {
  name: "bmm",
  kind: "matmul",
  signature: "bmm(a[B,M,K], b[B,K,N]) -> [B,M,N]",
  minArgs: 2,
  maxArgs: 2,
  kwargs: {},
  shape(args, _kw, w) {
    const a = tensorAt(args, 0, "a", w), b = tensorAt(args, 1, "b", w);
    if (a.shape.length !== 3 || b.shape.length !== 3) {
      throw new ShapeError(
        `${w}: bmm needs 3-d operands, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`,
      );
    }
    if (a.shape[0] !== b.shape[0]) {
      throw new ShapeError(
        `${w}: batch sizes differ: ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`,
      );
    }
    if (a.shape[2] !== b.shape[1]) throw innerMismatch(w, a, b, a.shape[2], b.shape[1]);
    return [a.shape[0], a.shape[1], b.shape[2]];
  },
  dtype: matmul.dtype,
  reference(args) {
    const a = refAt(args, 0), b = refAt(args, 1);
    const [z, m, k] = a.shape;
    const n = b.shape[2];
    return newRef([z, m, n], a.dtype, mm(a.data, b.data, z, m, k, n));
  },
};

const linear: OpDef = {
  name: "linear",
  kind: "matmul",
  signature: "linear(x[..., in], weight[out, in], bias[out]|null) -> x @ weight^T + bias",
  minArgs: 2,
  maxArgs: 3,
  kwargs: {},
  shape(args, _kw, w) {
    const x = tensorAt(args, 0, "x", w), wt = tensorAt(args, 1, "weight", w);
    const bias = optTensorAt(args, 2, "bias", w);
    if (x.shape.length === 0 || wt.shape.length !== 2) {
      throw new ShapeError(
        `${w}: linear needs x with at least 1 dim and a 2-d weight, got ${shapeStr(x.shape)} ` +
          `and ${shapeStr(wt.shape)}`,
      );
    }
    const kin = x.shape[x.shape.length - 1];
    if (kin !== wt.shape[1]) {
      throw new ShapeError(
        `${w}: inner dimensions do not match: x ${shapeStr(x.shape)} and weight ` +
          `${shapeStr(wt.shape)} (${kin} vs ${wt.shape[1]}; weight is [out, in])`,
      );
    }
    if (bias && (bias.shape.length !== 1 || bias.shape[0] !== wt.shape[0])) {
      throw new ShapeError(
        `${w}: bias has shape ${shapeStr(bias.shape)}, expected [${wt.shape[0]}]`,
      );
    }
    return [...x.shape.slice(0, -1), wt.shape[0]];
  },
  dtype(args, _kw, w) {
    const x = tensorAt(args, 0, "x", w);
    requireFloat(x, w, "x");
    requireSameDType(x, tensorAt(args, 1, "weight", w), w, ["x", "weight"]);
    const bias = optTensorAt(args, 2, "bias", w);
    if (bias) requireSameDType(x, bias, w, ["x", "bias"]);
    return x.dtype;
  },
  reference(args, _kw, out) {
    const x = refAt(args, 0), wt = refAt(args, 1), bias: RefTensor | null = optRefAt(args, 2);
    const [nout, kin] = wt.shape;
    const rows = numel(x.shape.slice(0, -1));
    const y = new Float64Array(rows * nout);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < nout; o++) {
        let acc = bias ? bias.data[o] : 0;
        for (let i = 0; i < kin; i++) acc += x.data[r * kin + i] * wt.data[o * kin + i];
        y[r * nout + o] = acc;
      }
    }
    return newRef(out!.shape.slice(), x.dtype, y);
  },
};

export const MATMUL_OPS: OpDef[] = [matmul, bmm, linear];
