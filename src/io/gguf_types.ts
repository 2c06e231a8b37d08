// GGUF's fixed tables: metadata value type ids and ggml tensor types with their block geometry.
// The numbers are the file format's (ggml.h `enum ggml_type`, gguf.h `enum gguf_type`).

/** A metadata value as read: u64/i64 become `number` when safe (|v| <= 2^53-1), else `bigint`. */
export type GGUFValue = number | bigint | boolean | string | GGUFValue[];

/** Metadata value type names, in id order (id = index). */
export const GGUF_VALUE_TYPES = [
  "u8",
  "i8",
  "u16",
  "i16",
  "u32",
  "i32",
  "f32",
  "bool",
  "string",
  "array",
  "u64",
  "i64",
  "f64",
] as const;
export type GGUFValueType = (typeof GGUF_VALUE_TYPES)[number];

/** Byte size of each fixed-size scalar value type. */
export const GGUF_SCALAR_SIZE: Record<Exclude<GGUFValueType, "string" | "array">, number> = {
  u8: 1,
  i8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  bool: 1,
  u64: 8,
  i64: 8,
  f64: 8,
};

/** One ggml tensor type: `blockSize` elements are stored in `typeSize` bytes. */
export interface GGMLTypeInfo {
  readonly id: number;
  readonly name: string;
  readonly blockSize: number;
  readonly typeSize: number;
}

// ids 4 and 5 (Q4_2, Q4_3) and 31..33, 36..38 were removed from ggml; they stay unknown here.
const TYPE_ROWS: ReadonlyArray<readonly [number, string, number, number]> = [
  [0, "F32", 1, 4],
  [1, "F16", 1, 2],
  [2, "Q4_0", 32, 18],
  [3, "Q4_1", 32, 20],
  [6, "Q5_0", 32, 22],
  [7, "Q5_1", 32, 24],
  [8, "Q8_0", 32, 34],
  [9, "Q8_1", 32, 36],
  [10, "Q2_K", 256, 84],
  [11, "Q3_K", 256, 110],
  [12, "Q4_K", 256, 144],
  [13, "Q5_K", 256, 176],
  [14, "Q6_K", 256, 210],
  [15, "Q8_K", 256, 292],
  [16, "IQ2_XXS", 256, 66],
  [17, "IQ2_XS", 256, 74],
  [18, "IQ3_XXS", 256, 98],
  [19, "IQ1_S", 256, 50],
  [20, "IQ4_NL", 32, 18],
  [21, "IQ3_S", 256, 110],
  [22, "IQ2_S", 256, 82],
  [23, "IQ4_XS", 256, 136],
  [24, "I8", 1, 1],
  [25, "I16", 1, 2],
  [26, "I32", 1, 4],
  [27, "I64", 1, 8],
  [28, "F64", 1, 8],
  [29, "IQ1_M", 256, 56],
  [30, "BF16", 1, 2],
  [34, "TQ1_0", 256, 54],
  [35, "TQ2_0", 256, 66],
  [39, "MXFP4", 32, 17],
];

/** Known ggml types by id. Types not listed cannot be sized, so a file using one is rejected. */
export const GGML_TYPES: ReadonlyMap<number, GGMLTypeInfo> = new Map(
  TYPE_ROWS.map(([id, name, blockSize, typeSize]) => [id, { id, name, blockSize, typeSize }]),
);

/** ggml type names that `GGUFTensor.toFloat32()` can convert (others give raw bytes only). */
export const DEQUANTIZABLE_TYPES: ReadonlySet<string> = new Set([
  "F32",
  "F16",
  "BF16",
  "F64",
  "I8",
  "I16",
  "I32",
  "Q8_0",
  "Q4_0",
  "Q4_1",
]);

export function ggmlTypeByName(name: string): GGMLTypeInfo | undefined {
  for (const t of GGML_TYPES.values()) if (t.name === name) return t;
  return undefined;
}
