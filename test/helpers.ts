// Shared test helpers: seeded randomness, NaN poisoning, tolerance checks against the reference.
import type { DType, TypedArray } from "../src/dtype.ts";
import { numel, typedArrayFor } from "../src/dtype.ts";

/** Deterministic PRNG (mulberry32). Tests pass a fresh seed per run and print it on failure. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed that differs per run unless TEST_SEED pins it. */
export function freshSeed(): number {
  const pinned = Deno.env.get("TEST_SEED");
  return pinned ? Number(pinned) : Math.floor(Math.random() * 2 ** 31);
}

/** Random values for a tensor: floats in [lo, hi), ints in [lo, hi), bools 0/1. */
export function randomArray(
  shape: number[],
  dtype: DType,
  r: () => number,
  lo = -2,
  hi = 2,
): TypedArray {
  const n = numel(shape);
  const a = typedArrayFor(dtype, n);
  for (let i = 0; i < n; i++) {
    const u = lo + (hi - lo) * r();
    a[i] = dtype === "bool"
      ? (r() < 0.5 ? 1 : 0)
      : dtype === "i32" || dtype === "u32"
      ? Math.floor(dtype === "u32" ? Math.abs(u) : u)
      : u;
  }
  return a;
}

export interface Tolerance {
  atol: number;
  rtol: number;
}

/** Throws with the first offending index, both values and the label when |a-e| > atol+rtol|e|.
 * NaN in `actual` where `expected` is finite (a poisoned element never written) always fails. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  label: string,
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length} != expected ${expected.length}`);
  }
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = Number(actual[i]);
    const e = Number(expected[i]);
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue;
    const err = Math.abs(a - e);
    if (!(err <= tol.atol + tol.rtol * Math.abs(e))) {
      throw new Error(
        `${label}: element ${i} is ${a}, expected ${e} (|err| ${err}, atol ${tol.atol}, rtol ${tol.rtol})`,
      );
    }
    worst = Math.max(worst, err);
  }
}
