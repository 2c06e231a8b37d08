// aten::view_dtype(x, dtype=…): reinterprets x's bytes as another dtype without copying (upstream
// aten.view.dtype, lowered to a FallbackKernel that aliases its input). Patch C's scenario needs
// it: the alias keeps the viewed buffer alive into a later partition.
import { type DType, gpuBytes, shapeStr, typedArrayFor } from "../dtype.ts";
import { ShapeError } from "../errors.ts";
import { registerCustomOp } from "../fx/custom_ops.ts";
import type { TensorMeta } from "../fx/graph.ts";
import type { RefTensor } from "../reference/tensor.ts";

export const VIEW_DTYPE_OP = "aten::view_dtype";

function outShape(x: TensorMeta, to: DType): number[] {
  if (x.dtype === "bool" || to === "bool") {
    throw new ShapeError(`${VIEW_DTYPE_OP}: bool has no fixed GPU byte layout to reinterpret`);
  }
  const a = gpuBytes(x.dtype), b = gpuBytes(to);
  const s = [...x.shape];
  if (a === b) return s;
  const last = s[s.length - 1] ?? 1;
  if ((last * a) % b !== 0) {
    throw new ShapeError(
      `${VIEW_DTYPE_OP}: last dim of ${shapeStr(x.shape)} ${x.dtype} does not divide into ${to}`,
    );
  }
  s[s.length - 1] = (last * a) / b;
  return s;
}

registerCustomOp({
  name: VIEW_DTYPE_OP,
  args: ["x"],
  kwargs: { dtype: "i32" },
  shape: (args, kw) => outShape(args[0] as TensorMeta, kw.dtype as DType),
  dtype: (_args, kw) => kw.dtype as DType,
  reference: (args, kw) => {
    const x = args[0] as RefTensor;
    const to = kw.dtype as DType;
    const src = typedArrayFor(x.dtype, x.data.length);
    for (let i = 0; i < x.data.length; i++) src[i] = x.data[i];
    const shape = outShape(x, to);
    const n = shape.reduce((p, q) => p * q, 1);
    const view = typedArrayFor(to, n);
    new Uint8Array(view.buffer).set(new Uint8Array(src.buffer, 0, view.byteLength));
    return { shape, dtype: to, data: Float64Array.from(view as ArrayLike<number>, Number) };
  },
  aliasOf: 0,
});
