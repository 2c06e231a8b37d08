// The reference interpreter's tensor: float64 values in row-major order, with the dtype the
// value will be cast to when stored. Defined beside the op definitions (each op's `ref` computes
// on it) so that fx does not import the interpreter's folder; src/reference re-exports it.
import type { DType } from "../dtype.ts";

export interface RefTensor {
  shape: number[];
  dtype: DType;
  data: Float64Array;
}
