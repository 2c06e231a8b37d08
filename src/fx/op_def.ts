// What every op declares: shape rule, dtype rule and float64 reference implementation.
import type { DType } from "../dtype.ts";
import type { RefTensor } from "./ref_tensor.ts";
import type { TensorMeta } from "./graph.ts";

export type OpKind =
  | "pointwise" // elementwise unary/binary/where/cast
  | "reduction" // sum, mean, max, min, argmax
  | "norm" // softmax, log_softmax, layer_norm, rms_norm
  | "matmul" // matmul, bmm, linear
  | "view" // reshape, permute, transpose, expand, slice, squeeze, unsqueeze
  | "gather" // cat, embedding
  | "creation" // full, empty, empty_like
  | "mutation" // copy_
  | "custom"; // registered with registerCustomOp

/** What shape and dtype rules see: tensor arguments replaced by their meta. */
export type MetaArg = TensorMeta | number | boolean | string | null | MetaArg[];
/** What reference implementations see: tensor arguments replaced by their values. */
export type RefArg = RefTensor | number | boolean | string | null | RefArg[];
export type OpKwargs = Record<string, unknown>;

export interface OpDef {
  name: string;
  kind: OpKind;
  /** One line for docs and error messages, e.g. "add(a, b): a + b with broadcasting". */
  signature: string;
  /** Smallest and largest positional argument count. */
  minArgs: number;
  maxArgs: number;
  /** Accepted kwargs and their defaults; any other kwarg is an error naming the op. */
  kwargs: Record<string, unknown>;
  /** Output shape, or null for ops that return nothing. Throws ShapeError naming `where`. */
  shape(args: MetaArg[], kw: OpKwargs, where: string): number[] | null;
  /** Output dtype (null when shape is null). Throws DTypeError naming `where`. */
  dtype(args: MetaArg[], kw: OpKwargs, where: string): DType | null;
  /** float64 reference; the interpreter casts the result to the node's dtype. Ops with
   * `mutates` write into the mutated argument's `data` in place. */
  reference(args: RefArg[], kw: OpKwargs, out: TensorMeta | null): RefTensor | null;
  /** Indices of positional args this op writes in place (copy_: [0], attention: [3]). */
  mutates?: number[];
  /** Index of the positional arg whose storage the result aliases (views). */
  aliasOf?: number;
}
