// cat along a dim and embedding lookups.
import { numel, shapeStr } from "../../dtype.ts";
import { DTypeError, InputError, ShapeError } from "../../errors.ts";
import type { RefTensor } from "../ref_tensor.ts";
import type { OpDef } from "../op_def.ts";
import { normDim } from "./broadcast.ts";
import { kwInt, newRef, refAt, tensorAt } from "./common.ts";
import { aroundDim } from "./strided.ts";

const cat: OpDef = {
  name: "cat",
  kind: "gather",
  signature: "cat(t0, t1, ..., dim=0): same dtype, shapes equal except along dim",
  minArgs: 1,
  maxArgs: Infinity,
  kwargs: { dim: 0 },
  shape(args, kw, w) {
    const ts = args.map((_, i) => tensorAt(args, i, `t${i}`, w));
    const first = ts[0];
    const d = normDim(kwInt(kw, "dim", w), first.shape.length, w);
    const shape = first.shape.slice();
    ts.slice(1).forEach((t, k) => {
      const ok = t.shape.length === first.shape.length &&
        t.shape.every((s, i) => i === d || s === first.shape[i]);
      if (!ok) {
        throw new ShapeError(
          `${w}: t${k + 1} has shape ${shapeStr(t.shape)}, which does not match t0 ` +
            `${shapeStr(first.shape)} outside dim ${d}`,
        );
      }
      shape[d] += t.shape[d];
    });
    return shape;
  },
  dtype(args, _kw, w) {
    const ts = args.map((_, i) => tensorAt(args, i, `t${i}`, w));
    ts.forEach((t, i) => {
      if (t.dtype !== ts[0].dtype) {
        throw new DTypeError(`${w}: t${i} is ${t.dtype} but t0 is ${ts[0].dtype}; they must match`);
      }
    });
    return ts[0].dtype;
  },
  reference(args, kw, out) {
    const ts = args as RefTensor[];
    const shape = out!.shape;
    const d = normDim(kw.dim as number, shape.length, "cat");
    const [outer, total, inner] = aroundDim(shape, d);
    const res = new Float64Array(numel(shape));
    let at = 0;
    for (const t of ts) {
      const block = t.shape[d] * inner;
      for (let o = 0; o < outer; o++) {
        res.set(t.data.subarray(o * block, (o + 1) * block), o * total * inner + at);
      }
      at += block;
    }
    return newRef(shape.slice(), ts[0].dtype, res);
  },
};

const embedding: OpDef = {
  name: "embedding",
  kind: "gather",
  signature: "embedding(weight[V, D], indices: i32|u32, any shape) -> indices.shape + [D]",
  minArgs: 2,
  maxArgs: 2,
  kwargs: {},
  shape(args, _kw, w) {
    const wt = tensorAt(args, 0, "weight", w), idx = tensorAt(args, 1, "indices", w);
    if (wt.shape.length !== 2) {
      throw new ShapeError(`${w}: weight must be 2-d [V, D], got ${shapeStr(wt.shape)}`);
    }
    return [...idx.shape, wt.shape[1]];
  },
  dtype(args, _kw, w) {
    const idx = tensorAt(args, 1, "indices", w);
    if (idx.dtype !== "i32" && idx.dtype !== "u32") {
      throw new DTypeError(`${w}: indices must be i32 or u32, got ${idx.dtype}`);
    }
    return tensorAt(args, 0, "weight", w).dtype;
  },
  reference(args, _kw, out) {
    const wt = refAt(args, 0), idx = refAt(args, 1);
    const [v, dd] = wt.shape;
    const res = new Float64Array(idx.data.length * dd);
    for (let i = 0; i < idx.data.length; i++) {
      const r = idx.data[i];
      if (!(r >= 0 && r < v)) {
        throw new InputError(
          `embedding index ${r} (element ${i} of indices) is out of range for ${v} rows`,
        );
      }
      res.set(wt.data.subarray(r * dd, (r + 1) * dd), i * dd);
    }
    return newRef(out!.shape.slice(), wt.dtype, res);
  },
};

export const GATHER_OPS: OpDef[] = [cat, embedding];
