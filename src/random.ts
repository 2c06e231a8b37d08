// Seeded randomness for inputs: tests, the demo page, benchmarks and users who want
// reproducible data. No platform API, so it runs in Deno and browsers alike.
import { type DType, numel, type TypedArray, typedArrayFor } from "./dtype.ts";

/** Deterministic PRNG (mulberry32): numbers in [0, 1). */
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

/** Random values for a tensor: floats uniform in [lo, hi), ints in [lo, hi) (u32 uses |u|),
 * bools 0/1. */
export function randomArray(
  shape: readonly number[],
  dtype: DType,
  r: () => number,
  lo = -1,
  hi = 1,
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
