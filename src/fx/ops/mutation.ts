// In-place ops. copy_ writes src (broadcast to dst's shape, cast to dst's dtype) into dst and
// returns dst; the interpreter makes the write visible to every later user of dst. Floats convert
// to integers by dtype.ts convertScalar's rule (saturating, NaN -> 0), like cast.
import { convertFrom, shapeStr } from "../../dtype.ts";
import { ShapeError } from "../../errors.ts";
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

export const MUTATION_OPS: OpDef[] = [copy];
