// Conversion of GGUF tensor bytes to float32 (little-endian file data). Block layouts follow
// ggml-common.h: Q8_0 = f16 scale + 32 int8; Q4_0 = f16 scale + 16 bytes of nibbles (low nibbles
// are elements 0..15, high nibbles 16..31, value = (q - 8) * d); Q4_1 adds an f16 minimum
// (value = q * d + m). Mirrors ggml's dequantize_row_q8_0 / _q4_0 / _q4_1.
import { InputError } from "../errors.ts";
import type { GGMLTypeInfo } from "./gguf_types.ts";

let f16Table: Float32Array | null = null;

/** Decodes one IEEE half (bits in the low 16 bits) to a JS number, exactly. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** All 65536 halves decoded once (256 KiB) so big F16/Q8_0 tensors convert with a table lookup. */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let i = 0; i < 65536; i++) t[i] = halfToFloat(i);
  return (f16Table = t);
}

/** Converts `numel` elements of ggml type `type` stored in `src` to a fresh Float32Array. */
export function dequantize(
  info: GGMLTypeInfo,
  src: Uint8Array,
  numel: number,
  tensorName: string,
): Float32Array {
  const type = info.name;
  const out = new Float32Array(numel);
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  switch (type) {
    case "F32":
      for (let i = 0; i < numel; i++) out[i] = dv.getFloat32(i * 4, true);
      return out;
    case "F64":
      for (let i = 0; i < numel; i++) out[i] = dv.getFloat64(i * 8, true);
      return out;
    case "F16": {
      const t = halfTable();
      for (let i = 0; i < numel; i++) out[i] = t[dv.getUint16(i * 2, true)];
      return out;
    }
    case "BF16": {
      // bf16 is the top half of an f32
      const u32 = new Uint32Array(out.buffer);
      for (let i = 0; i < numel; i++) u32[i] = dv.getUint16(i * 2, true) << 16;
      return out;
    }
    case "I8":
      for (let i = 0; i < numel; i++) out[i] = dv.getInt8(i);
      return out;
    case "I16":
      for (let i = 0; i < numel; i++) out[i] = dv.getInt16(i * 2, true);
      return out;
    case "I32":
      for (let i = 0; i < numel; i++) out[i] = dv.getInt32(i * 4, true);
      return out;
    case "Q8_0": {
      const t = halfTable();
      for (let b = 0, o = 0; o < numel; b += 34) {
        const d = t[dv.getUint16(b, true)];
        for (let j = 0; j < 32; j++) out[o++] = d * dv.getInt8(b + 2 + j);
      }
      return out;
    }
    case "Q4_0": {
      const t = halfTable();
      for (let b = 0, o = 0; o < numel; b += 18, o += 32) {
        const d = t[dv.getUint16(b, true)];
        for (let j = 0; j < 16; j++) {
          const q = src[b + 2 + j];
          out[o + j] = ((q & 0x0f) - 8) * d;
          out[o + j + 16] = ((q >> 4) - 8) * d;
        }
      }
      return out;
    }
    case "Q4_1": {
      const t = halfTable();
      for (let b = 0, o = 0; o < numel; b += 20, o += 32) {
        const d = t[dv.getUint16(b, true)];
        const m = t[dv.getUint16(b + 2, true)];
        for (let j = 0; j < 16; j++) {
          const q = src[b + 4 + j];
          out[o + j] = (q & 0x0f) * d + m;
          out[o + j + 16] = (q >> 4) * d + m;
        }
      }
      return out;
    }
    default:
      throw new InputError(
        `GGUF tensor '${tensorName}': converting ggml type ${type} (id ${info.id}) to float32 ` +
          `is not supported yet ` +
          `(supported: F32, F16, BF16, F64, I8, I16, I32, Q8_0, Q4_0, Q4_1); raw bytes are ` +
          `available through tensor.bytes()`,
      );
  }
}
