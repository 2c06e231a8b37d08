// Four-element vector loads and stores (vec4) for kernels that compute four neighbouring elements
// of their innermost dimension per loop step or invocation (pointwise kernels, reduction loops).
//
// The kernel renders its four elements j = 0..3 in one scope, with the innermost variable
// written as `4*q + j`. A load of element j at flat index `i` is read from a vec4 when `i - j` is
// a multiple of 4 for every value of the kernel's variables (every coefficient and the constant
// of the affine index divisible by 4): the vec4 at `(i - j) / 4` holds it as component j, and
// the other elements' loads at the same base share that one vec4 load. Any other load (a
// transposed or broadcast operand) stays scalar.
//
// A binding is declared `array<vec4<T>>` only when its length is a multiple of 4 elements (the
// runtime binds exactly the tensor's bytes, so a longer vector array would not fit), and only
// when some access uses a vector. Scalar loads of a vector binding index a component; a binding
// that is also written by scalar stores is never vectorized (two invocations writing components
// of one vec4 would be a data race in some backends' memory models). Kernels are rendered twice
// at most: once with every eligible binding as a candidate, then, if some candidates got no
// vector access or got scalar writes, again without them (see `settleVectorBindings`).
import { type DType, gpuBytes } from "../../dtype.ts";
import { iadd, iconst, idiv, type IndexExpr } from "../../inductor/index_expr.ts";

/** Elements per vector access. */
export const VEC = 4;

const COMPONENTS = ["x", "y", "z", "w"];

/** Component `j` of vector register `v`. */
export function component(v: string, j: number): string {
  return `${v}.${COMPONENTS[j]}`;
}

/** Storage dtypes a vector binding may have: 4-byte scalars (bool is stored as u32). */
export function vectorizableDType(d: DType): boolean {
  return d === "f32" || d === "i32" || d === "u32" || d === "bool";
}

/** Whether a binding of `numel` elements of `d` can be declared as an array of vec4 (a
 * multiple of 16 bytes, and not empty: an empty tensor is bound as 4 bytes). */
export function vectorBindingFits(d: DType, numel: number): boolean {
  return vectorizableDType(d) && numel > 0 && (numel * gpuBytes(d)) % (VEC * 4) === 0;
}

/** The vector index of element `j`'s load at `index` (its vec4 holds it as component j), or
 * null when `index - j` is not a multiple of 4 for every value of the variables. */
export function vectorBase(index: IndexExpr, j: number): IndexExpr | null {
  const base = iadd(index, iconst(-j));
  if (base.c % VEC !== 0) return null;
  for (const [, coef] of base.terms.values()) if (coef % VEC !== 0) return null;
  return idiv(base, VEC);
}

/** Per-kernel state of vector accesses while one rendering runs. */
export class VectorAccess {
  /** Binding identifiers (t0, t1, …) allowed as vec4 arrays, or "all" (every one that fits). */
  readonly allowed: ReadonlySet<string> | "all";
  /** Bindings this rendering declares as vec4 arrays (allowed, and their length fits). */
  readonly declared = new Set<string>();
  /** Declared bindings some access used as a vector. */
  readonly used = new Set<string>();
  /** Bindings read as vectors inside a vector section (a matmul's k steps). */
  readonly loopLoads = new Set<string>();
  /** Declared bindings written by a scalar store (never vectorized). */
  readonly scalarWrites = new Set<string>();
  /** Which component(s) of a vec4 the element being rendered may be (0..3; a matmul operand
   * may be contiguous along k or along n): a load is read from a vec4 with the first of these
   * for which it is aligned. Empty outside a vector section. */
  lanes: number[] = [];

  constructor(allowed: ReadonlySet<string> | "all") {
    this.allowed = allowed;
  }

  allows(id: string): boolean {
    return this.allowed === "all" || this.allowed.has(id);
  }

  /** The bindings to vectorize in a second rendering, or null when this one is final. */
  settled(): Set<string> | null {
    const keep = new Set([...this.used].filter((id) => !this.scalarWrites.has(id)));
    return keep.size === this.declared.size ? null : keep;
  }
}

/** Render a kernel with vector bindings chosen consistently: `render` runs with every binding
 * that fits allowed (or none when `enabled` is false); when some declared binding got no vector
 * access or got a scalar write, it runs once more with only the others. Returns the final
 * rendering. */
export function settleVectorBindings<T>(
  enabled: boolean,
  render: (vec: VectorAccess) => T,
): T {
  const first = new VectorAccess(enabled ? "all" : new Set());
  const out = render(first);
  const keep = first.settled();
  return keep ? render(new VectorAccess(keep)) : out;
}
