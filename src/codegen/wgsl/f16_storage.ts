// f16 storage without `shader-f16`: an f16 buffer is bound as `array<u32>`, two halves per word
// (element 2i in the low 16 bits, 2i+1 in the high ones: the same bytes a host Float16Array
// has, little-endian), and values are computed in f32 registers as on the native path.
//
// Conversions are integer bit manipulation rather than pack2x16float/unpack2x16float, whose
// result WGSL leaves indeterminate for values outside f16's finite range (overflow must become
// ±inf, NaN must stay NaN) and which some drivers flush for subnormals. f32 -> f16 rounds to
// nearest even, like a native conversion and like Math.f16round in the reference.
//
// Writes: a word holds two elements, so two invocations writing the two halves of one word
// would race with plain stores. Kernels either own whole words (pointwise kernels compute two
// elements per invocation and store one word) or store a half with atomicAnd + atomicOr on an
// `array<atomic<u32>>` binding: each op touches only its own 16 bits, so concurrent writers of
// the two halves commute.
import { SHADERS } from "./shaders.generated.ts";

/** Module-scope conversion functions every emulated-f16 kernel declares once (shaders/f16_bits.wgsl). */
export const F16_BITS_HELPERS: string = SHADERS.f16_bits;

/** How a kernel writes an f16 binding: whole words, or halves with atomics. */
export type F16WriteMode = "words" | "atomic";

/** WGSL array type of an f16 binding on the emulated path. */
export function f16ArrayType(written: boolean, mode: F16WriteMode): string {
  return written && mode === "atomic" ? "array<atomic<u32>>" : "array<u32>";
}

/** Name of the load function of binding `ident`. */
export function f16LoadFn(ident: string): string {
  return `${ident}_ldh`;
}

/** Name of the half-store function of binding `ident` (atomic bindings only). */
export function f16StoreFn(ident: string): string {
  return `${ident}_sth`;
}

/** Load (and, for atomic bindings, half-store) functions of one f16 binding. */
export function f16BindingHelpers(ident: string, atomic: boolean): string {
  const word = atomic ? `atomicLoad(&${ident}[i >> 1u])` : `${ident}[i >> 1u]`;
  const lines = [
    `fn ${f16LoadFn(ident)}(i: u32) -> f32 {`,
    `  return f16_bits_to_f32((${word} >> ((i & 1u) * 16u)) & 0xffffu);`,
    `}`,
  ];
  if (atomic) {
    lines.push(
      `fn ${f16StoreFn(ident)}(i: u32, v: f32) {`,
      `  let sh = (i & 1u) * 16u;`,
      `  atomicAnd(&${ident}[i >> 1u], ~(0xffffu << sh));`,
      `  atomicOr(&${ident}[i >> 1u], f32_to_f16_bits(v) << sh);`,
      `}`,
    );
  }
  return lines.join("\n");
}

/** A u32 word holding two f32 register values as halves (lo = even element). */
export function f16PackWord(lo: string, hi: string): string {
  return `(f32_to_f16_bits(${lo}) | (f32_to_f16_bits(${hi}) << 16u))`;
}
