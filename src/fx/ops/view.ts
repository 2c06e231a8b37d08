// Views: each op is a plan from the input shape to (shape, strides, offset) over the input's
// contiguous data, so one shape rule and one `gather` serve them all. All alias arg 0.
import { contiguousStrides, numel, shapeStr } from "../../dtype.ts";
import { ShapeError } from "../../errors.ts";
import type { TensorMeta } from "../graph.ts";
import type { OpDef, OpKwargs } from "../op_def.ts";
import { normDim } from "./broadcast.ts";
import { kwInt, kwIntList, kwOptInt, newRef, refAt, REQUIRED, tensorAt } from "./common.ts";
import { gather } from "./strided.ts";

/** A strided window on the input, or `same` when the data order is unchanged (reshape). */
interface ViewPlan {
  shape: number[];
  strides?: number[];
  offset?: number;
}

type Planner = (x: TensorMeta, kw: OpKwargs, where: string) => ViewPlan;

function viewOp(name: string, signature: string, kwargs: OpKwargs, plan: Planner): OpDef {
  return {
    name,
    kind: "view",
    signature,
    minArgs: 1,
    maxArgs: 1,
    kwargs,
    aliasOf: 0,
    shape: (args, kw, where) => plan(tensorAt(args, 0, "x", where), kw, where).shape,
    dtype: (args, _kw, where) => tensorAt(args, 0, "x", where).dtype,
    reference(args, kw) {
      const x = refAt(args, 0);
      const p = plan(x, kw, name);
      // Same data order: share the array (views alias their input; the interpreter recomputes
      // views after a mutation, so sharing is never observable as staleness).
      const data = p.strides ? gather(x.data, p.shape, p.strides, p.offset ?? 0) : x.data;
      return newRef(p.shape, x.dtype, data);
    },
  };
}

const reshape: Planner = (x, kw, where) => {
  const shape = kwIntList(kw, "shape", where).slice();
  const n = numel(x.shape);
  const infer = shape.flatMap((s, i) => (s === -1 ? [i] : []));
  const fail = (why: string) =>
    new ShapeError(
      `${where}: cannot reshape ${shapeStr(x.shape)} (${n} elements) to ${shapeStr(shape)}: ${why}`,
    );
  if (infer.length > 1) throw fail("only one dim may be -1");
  if (shape.some((s) => s < -1)) throw fail("negative size");
  const known = numel(shape.filter((s) => s !== -1));
  if (infer.length) {
    if (known === 0 || n % known !== 0) throw fail("-1 cannot be inferred");
    shape[infer[0]] = n / known;
  } else if (known !== n) throw fail("element counts differ");
  return { shape };
};

function permutePlan(x: TensorMeta, perm: number[]): ViewPlan {
  const st = contiguousStrides(x.shape);
  return { shape: perm.map((p) => x.shape[p]), strides: perm.map((p) => st[p]) };
}

const permute: Planner = (x, kw, where) => {
  const dims = kwIntList(kw, "dims", where);
  const nd = x.shape.length;
  const perm = dims.map((d) => normDim(d, nd, where));
  if (perm.length !== nd || new Set(perm).size !== nd) {
    throw new ShapeError(
      `${where}: dims ${shapeStr(dims)} is not a permutation of the ${nd} dims of ` +
        shapeStr(x.shape),
    );
  }
  return permutePlan(x, perm);
};

const transpose: Planner = (x, kw, where) => {
  const nd = x.shape.length;
  const a = normDim(kwInt(kw, "dim0", where), nd, where, "dim0");
  const b = normDim(kwInt(kw, "dim1", where), nd, where, "dim1");
  const perm = x.shape.map((_, i) => (i === a ? b : i === b ? a : i));
  return permutePlan(x, perm);
};

const expand: Planner = (x, kw, where) => {
  const want = kwIntList(kw, "shape", where);
  const lead = want.length - x.shape.length;
  const st = contiguousStrides(x.shape);
  const fail = (i: number) =>
    new ShapeError(
      `${where}: cannot expand ${shapeStr(x.shape)} to ${shapeStr(want)} (dim ${i})`,
    );
  if (lead < 0) throw fail(0);
  const shape = want.map((s, i) => {
    if (i < lead) {
      if (s < 0) throw fail(i);
      return s;
    }
    const have = x.shape[i - lead];
    if (s === -1 || s === have) return have;
    if (have !== 1 || s < 0) throw fail(i);
    return s;
  });
  const strides = shape.map((s, i) => (i < lead || x.shape[i - lead] !== s ? 0 : st[i - lead]));
  return { shape, strides };
};

/** Python slice bounds: negative counts from the end, then clamped to [0, len]. */
function clampIndex(i: number, len: number): number {
  return Math.min(Math.max(i < 0 ? i + len : i, 0), len);
}

const slice: Planner = (x, kw, where) => {
  const d = normDim(kwInt(kw, "dim", where), x.shape.length, where);
  const len = x.shape[d];
  const start = clampIndex(kwOptInt(kw, "start", where) ?? 0, len);
  const end = clampIndex(kwOptInt(kw, "end", where) ?? len, len);
  const step = kwInt(kw, "step", where);
  if (step < 1) throw new ShapeError(`${where}: slice step must be >= 1, got ${step}`);
  const st = contiguousStrides(x.shape);
  const shape = x.shape.slice();
  shape[d] = Math.max(0, Math.ceil((end - start) / step));
  const strides = st.slice();
  strides[d] = st[d] * step;
  return { shape, strides, offset: shape[d] > 0 ? start * st[d] : 0 };
};

const squeeze: Planner = (x, kw, where) => {
  const dim = kwOptInt(kw, "dim", where);
  if (dim === null) return { shape: x.shape.filter((s) => s !== 1) };
  // torch: squeezing a dim whose size is not 1 leaves the shape unchanged.
  const d = normDim(dim, x.shape.length, where);
  return { shape: x.shape.filter((s, i) => i !== d || s !== 1) };
};

const unsqueeze: Planner = (x, kw, where) => {
  const d = normDim(kwInt(kw, "dim", where), x.shape.length + 1, where);
  const shape = x.shape.slice();
  shape.splice(d, 0, 1);
  return { shape };
};

export const VIEW_OPS: OpDef[] = [
  viewOp("reshape", "reshape(x, shape): one dim may be -1", { shape: REQUIRED }, reshape),
  viewOp("permute", "permute(x, dims)", { dims: REQUIRED }, permute),
  viewOp("transpose", "transpose(x, dim0, dim1)", { dim0: REQUIRED, dim1: REQUIRED }, transpose),
  viewOp("expand", "expand(x, shape): -1 keeps a dim", { shape: REQUIRED }, expand),
  viewOp(
    "slice",
    "slice(x, dim=0, start=0, end=null, step=1): python slice semantics, step >= 1",
    { dim: 0, start: 0, end: null, step: 1 },
    slice,
  ),
  viewOp("squeeze", "squeeze(x, dim=null)", { dim: null }, squeeze),
  viewOp("unsqueeze", "unsqueeze(x, dim)", { dim: REQUIRED }, unsqueeze),
];
