// Seeded randomness for the demo and the page self-test (no Deno APIs: runs in the browser).
import { type InputSpec, randomArray, rng, type TypedArray } from "../src/mod.ts";

export { randomArray, rng };

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
