// The reference interpreter's tensor: float64 values in row-major order, with the dtype the
// value will be cast to when stored.
import type { DType } from "../dtype.ts";

export interface RefTensor {
  shape: number[];
  dtype: DType;
  data: Float64Array;
}
