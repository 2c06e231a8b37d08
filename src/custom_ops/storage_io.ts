// How a custom op's kernel reads one tensor binding in the storage form it is compiled for:
// native arrays, or f16 as two halves per u32 word (`target.f16 === "emulated"`, element 2i in
// the low 16 bits), decoded with f16_bits_to_f32 from the target's helpers.
import type { DType } from "../dtype.ts";

export interface StorageIO {
  /** f16 held as packed u32 words. */
  packed: boolean;
  /** The WGSL element type of the binding's array. */
  type: string;
  /** WGSL of element `i` as an f32. */
  load: (i: string) => string;
}

export function storageIO(name: string, d: DType, emulated: boolean): StorageIO {
  const packed = d === "f16" && emulated;
  return {
    packed,
    type: packed ? "u32" : d,
    load: (i: string) =>
      packed
        ? `f16_bits_to_f32((${name}[(${i}) >> 1u] >> (((${i}) & 1u) * 16u)) & 0xffffu)`
        : `f32(${name}[${i}])`,
  };
}
