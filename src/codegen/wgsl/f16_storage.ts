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

/** Module-scope conversion functions every emulated-f16 kernel declares once. */
export const F16_BITS_HELPERS = `fn f16_bits_to_f32(h: u32) -> f32 {
  let s = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0x1fu) { return bitcast<f32>(s | 0x7f800000u | (m << 13u)); }
  if (e == 0u) {
    let v = f32(m) * 5.9604644775390625e-8;
    return select(v, -v, s != 0u);
  }
  return bitcast<f32>(s | ((e + 112u) << 23u) | (m << 13u));
}
fn f32_to_f16_bits(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  let s = (x >> 16u) & 0x8000u;
  let a = x & 0x7fffffffu;
  if (a > 0x7f800000u) { return s | 0x7e00u | ((a >> 13u) & 0x3ffu); }
  if (a >= 0x477ff000u) { return s | 0x7c00u; }
  if (a >= 0x38800000u) {
    return s | ((a + 0xfffu + ((a >> 13u) & 1u) - 0x38000000u) >> 13u);
  }
  if (a < 0x33000000u) { return s; }
  let e = a >> 23u;
  let mant = (a & 0x7fffffu) | 0x800000u;
  let shift = 126u - e;
  let q = mant >> shift;
  let rem = mant & ((1u << shift) - 1u);
  let half = 1u << (shift - 1u);
  let up = rem > half || (rem == half && (q & 1u) == 1u);
  return s | (q + select(0u, 1u, up));
}`;

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
