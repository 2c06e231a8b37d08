// In-place ops. copy_ writes src (broadcast to dst's shape, cast to dst's dtype) into dst and
// returns dst; index_copy_ writes src's slices at runtime indices along a dim (torch's
// Tensor.index_copy_). The interpreter makes the write visible to every later user of dst. Floats
// convert to integers by dtype.ts convertScalar's rule (saturating, NaN -> 0), like cast.
import { castScalar, convertFrom, shapeStr } from "../../dtype.ts";
import { DTypeError, GraphError, InputError, ShapeError } from "../../errors.ts";
import { normDim } from "./broadcast.ts";
import { aroundDim } from "./strided.ts";
import type { OpDef } from "../op_def.ts";
import { broadcastShapes, broadcastTo } from "./broadcast.ts";
import { refAt, sameShape, tensorAt } from "./common.ts";

const copy: OpDef = {
  name: "copy_",
  kind: "mutation",
  signature: "copy_(dst, src): dst[...] = src (broadcast, cast); returns dst",
  minArgs: 2,
  maxArgs: 2,
  kwargs: {},
  mutates: [0],
  aliasOf: 0,
  shape(args, _kw, w) {
    const dst = tensorAt(args, 0, "dst", w), src = tensorAt(args, 1, "src", w);
    const b = broadcastShapes(dst.shape, src.shape, w);
    if (!sameShape(b, dst.shape)) {
      throw new ShapeError(
        `${w}: src ${shapeStr(src.shape)} does not broadcast to dst ${shapeStr(dst.shape)}`,
      );
    }
    return dst.shape.slice();
  },
  dtype: (args, _kw, w) => tensorAt(args, 0, "dst", w).dtype,
  reference(args) {
    const dst = refAt(args, 0), src = refAt(args, 1);
    const v = broadcastTo(src, dst.shape);
    for (let i = 0; i < dst.data.length; i++) dst.data[i] = convertFrom(v[i], src.dtype, dst.dtype);
    return dst;
  },
};

const indexCopy: OpDef = {
  name: "index_copy_",
  kind: "mutation",
  signature:
    "index_copy_(dst, dim, index: i32|u32 [n], src): dst[.., index[i], ..] = src[.., i, ..]; " +
    "returns dst",
  minArgs: 4,
  maxArgs: 4,
  kwargs: {},
  mutates: [0],
  aliasOf: 0,
  shape(args, _kw, w) {
    const dst = tensorAt(args, 0, "dst", w);
    const dimArg = args[1];
    if (typeof dimArg !== "number" || !Number.isInteger(dimArg)) {
      throw new GraphError(`${w}: dim must be an integer, got ${JSON.stringify(dimArg)}`);
    }
    const d = normDim(dimArg, dst.shape.length, w);
    const index = tensorAt(args, 2, "index", w), src = tensorAt(args, 3, "src", w);
    if (index.shape.length !== 1) {
      throw new ShapeError(`${w}: index must be 1-d, got ${shapeStr(index.shape)}`);
    }
    const want = dst.shape.map((s, i) => (i === d ? index.shape[0] : s));
    if (!sameShape(src.shape, want)) {
      throw new ShapeError(
        `${w}: src must have shape ${shapeStr(want)} (dst ${shapeStr(dst.shape)} with dim ${d} ` +
          `of the index's length ${index.shape[0]}), got ${shapeStr(src.shape)}`,
      );
    }
    return dst.shape.slice();
  },
  dtype(args, _kw, w) {
    const dst = tensorAt(args, 0, "dst", w), index = tensorAt(args, 2, "index", w);
    const src = tensorAt(args, 3, "src", w);
    if (index.dtype !== "i32" && index.dtype !== "u32") {
      throw new DTypeError(`${w}: index must be i32 or u32, got ${index.dtype}`);
    }
    if (src.dtype !== dst.dtype) {
      throw new DTypeError(`${w}: src is ${src.dtype} but dst is ${dst.dtype}; they must match`);
    }
    return dst.dtype;
  },
  reference(args) {
    const dst = refAt(args, 0), index = refAt(args, 2), src = refAt(args, 3);
    const d = normDim(args[1] as number, dst.shape.length, "index_copy_");
    const [outer, size, inner] = aroundDim(dst.shape, d);
    const n = index.data.length;
    for (let i = 0; i < n; i++) {
      const r = index.data[i];
      if (!(r >= 0 && r < size)) {
        throw new InputError(
          `index_copy_: index ${r} (element ${i} of index) is out of range for dim ${d} of size ` +
            `${size}`,
        );
      }
      for (let o = 0; o < outer; o++) {
        for (let k = 0; k < inner; k++) {
          dst.data[(o * size + r) * inner + k] = castScalar(
            src.data[(o * n + i) * inner + k],
            dst.dtype,
          );
        }
      }
    }
    return dst;
  },
};

export const MUTATION_OPS: OpDef[] = [copy, indexCopy];
