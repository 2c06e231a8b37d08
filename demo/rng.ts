// Seeded randomness for the demo and the page self-test (no Deno APIs: runs in the browser).
import type { DType, InputSpec, TypedArray } from "../src/mod.ts";

/** Deterministic PRNG (mulberry32), the same generator as test/helpers.ts. */
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

export function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A zeroed typed array of `dtype` (bool as Uint8Array). */
export function zeros(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case "f32":
      return new Float32Array(n);
    case "f16":
      return new Float16Array(n);
    case "i32":
      return new Int32Array(n);
    case "u32":
      return new Uint32Array(n);
    case "bool":
      return new Uint8Array(n);
  }
}

/** Random values for one input: floats uniform in [lo, hi), ints in [lo, hi), bools 0/1. */
export function randomArray(
  shape: readonly number[],
  dtype: DType,
  r: () => number,
  lo = -1,
  hi = 1,
): TypedArray {
  const n = numelOf(shape);
  const a = zeros(dtype, n);
  for (let i = 0; i < n; i++) {
    const u = lo + (hi - lo) * r();
    a[i] = dtype === "bool"
      ? (r() < 0.5 ? 1 : 0)
      : dtype === "i32" || dtype === "u32"
      ? Math.floor(u)
      : u;
  }
  return a;
}

/** Random data for every input spec (float range [-1, 1); integer inputs need `intHigh`). */
export function randomInputs(specs: InputSpec[], seed: number, intHigh = 2): TypedArray[] {
  const r = rng(seed);
  return specs.map((s) => {
    const dt = s.dtype ?? "f32";
    return dt === "f32" || dt === "f16"
      ? randomArray(s.shape, dt, r)
      : randomArray(s.shape, dt, r, 0, intHigh);
  });
}
