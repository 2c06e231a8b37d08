// Row-wise normalisations: softmax / log_softmax along one dim, layer_norm / rms_norm over the
// trailing `normalized_shape` dims. rms_norm's eps defaults to 1e-6 (torch's default is None,
// meaning finfo(dtype).eps; a fixed value keeps graphs portable between f16 and f32).
import { numel, shapeStr } from "../../dtype.ts";
import { ShapeError } from "../../errors.ts";
import type { RefTensor } from "../ref_tensor.ts";
import type { MetaArg, OpDef, OpKwargs } from "../op_def.ts";
import { normDim } from "./broadcast.ts";
import {
  kwInt,
  kwIntList,
  kwNumber,
  newRef,
  optRefAt,
  optTensorAt,
  refAt,
  REQUIRED,
  requireFloat,
  requireSameDType,
  sameShape,
  tensorAt,
} from "./common.ts";
import { aroundDim } from "./strided.ts";

function softmaxOp(name: string, log: boolean): OpDef {
  return {
    name,
    kind: "norm",
    signature: `${name}(x, dim=-1)`,
    minArgs: 1,
    maxArgs: 1,
    kwargs: { dim: -1 },
    shape(args, kw, where) {
      const x = tensorAt(args, 0, "x", where);
      normDim(kwInt(kw, "dim", where), x.shape.length, where);
      return x.shape.slice();
    },
    dtype(args, _kw, where) {
      const x = tensorAt(args, 0, "x", where);
      requireFloat(x, where);
      return x.dtype;
    },
    reference(args, kw) {
      const x = refAt(args, 0);
      const [outer, len, inner] = aroundDim(x.shape, normDim(kw.dim as number, x.shape.length, ""));
      const out = new Float64Array(x.data.length);
      const d = x.data;
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          const base = o * len * inner + i;
          let m = -Infinity;
          for (let j = 0; j < len; j++) m = Math.max(m, d[base + j * inner]);
          let s = 0;
          for (let j = 0; j < len; j++) s += Math.exp(d[base + j * inner] - m);
          const ls = Math.log(s);
          for (let j = 0; j < len; j++) {
            const z = d[base + j * inner] - m;
            out[base + j * inner] = log ? z - ls : Math.exp(z) / s;
          }
        }
      }
      return newRef(x.shape.slice(), x.dtype, out);
    },
  };
}

/** Checks shared by layer_norm and rms_norm; `params` are the affine args after x. */
function normRules(params: string[]): Pick<OpDef, "shape" | "dtype"> {
  const check = (args: MetaArg[], kw: OpKwargs, where: string) => {
    const x = tensorAt(args, 0, "x", where);
    const ns = kwIntList(kw, "normalized_shape", where);
    kwNumber(kw, "eps", where);
    if (ns.length === 0 || !sameShape(x.shape.slice(x.shape.length - ns.length), ns)) {
      throw new ShapeError(
        `${where}: normalized_shape ${shapeStr(ns)} must be the trailing dims of x ` +
          `${shapeStr(x.shape)}`,
      );
    }
    requireFloat(x, where);
    params.forEach((p, k) => {
      const t = optTensorAt(args, k + 1, p, where);
      if (!t) return;
      if (!sameShape(t.shape, ns)) {
        throw new ShapeError(
          `${where}: ${p} has shape ${shapeStr(t.shape)}, expected normalized_shape ` +
            shapeStr(ns),
        );
      }
      requireSameDType(x, t, where, ["x", p]);
    });
    return x;
  };
  return {
    shape: (args, kw, where) => check(args, kw, where).shape.slice(),
    dtype: (args, kw, where) => check(args, kw, where).dtype,
  };
}

/** Normalise each contiguous row of `n` elements: y = (x - mean?) * rstd * w + b. */
function normRows(
  x: RefTensor,
  n: number,
  eps: number,
  center: boolean,
  w: RefTensor | null,
  b: RefTensor | null,
): RefTensor {
  const d = x.data;
  const out = new Float64Array(d.length);
  for (let s = 0; s < d.length; s += n) {
    let mean = 0;
    if (center) {
      for (let i = 0; i < n; i++) mean += d[s + i];
      mean /= n;
    }
    let sq = 0;
    for (let i = 0; i < n; i++) sq += (d[s + i] - mean) ** 2;
    const rstd = 1 / Math.sqrt(sq / n + eps);
    for (let i = 0; i < n; i++) {
      out[s + i] = (d[s + i] - mean) * rstd * (w ? w.data[i] : 1) + (b ? b.data[i] : 0);
    }
  }
  return newRef(x.shape.slice(), x.dtype, out);
}

const layerNorm: OpDef = {
  name: "layer_norm",
  kind: "norm",
  signature: "layer_norm(x, weight|null, bias|null, normalized_shape, eps=1e-5)",
  minArgs: 1,
  maxArgs: 3,
  kwargs: { normalized_shape: REQUIRED, eps: 1e-5 },
  ...normRules(["weight", "bias"]),
  reference(args, kw) {
    const n = numel(kw.normalized_shape as number[]);
    return normRows(
      refAt(args, 0),
      n,
      kw.eps as number,
      true,
      optRefAt(args, 1),
      optRefAt(args, 2),
    );
  },
};

const rmsNorm: OpDef = {
  name: "rms_norm",
  kind: "norm",
  signature: "rms_norm(x, weight|null, normalized_shape, eps=1e-6)",
  minArgs: 1,
  maxArgs: 2,
  kwargs: { normalized_shape: REQUIRED, eps: 1e-6 },
  ...normRules(["weight"]),
  reference(args, kw) {
    const n = numel(kw.normalized_shape as number[]);
    return normRows(refAt(args, 0), n, kw.eps as number, false, optRefAt(args, 1), null);
  },
};

export const NORM_OPS: OpDef[] = [
  softmaxOp("softmax", false),
  softmaxOp("log_softmax", true),
  layerNorm,
  rmsNorm,
];
