// GGUF writer (v3, little-endian): the inverse of readGGUF, laid out like ggml's gguf_write_to_buf
// (header, metadata, tensor infos, padding to the alignment, tensor data each padded to it).
// Used to build test files and to save small models; values and tensors are held in memory.
import { InputError } from "../errors.ts";
import {
  ggmlTypeByName,
  GGUF_SCALAR_SIZE,
  GGUF_VALUE_TYPES,
  type GGUFValue,
} from "./gguf_types.ts";

/** A tensor to write. `shape` is PyTorch order (written reversed, as GGUF dims). */
export interface GGUFTensorInput {
  name: string;
  shape: number[];
  /** ggml type name; F32, F16, BF16 and Q8_0 are encoded from a Float32Array, any type from raw bytes. */
  type: string;
  data: Float32Array | Uint8Array;
}

export interface GGUFWriteOptions {
  /** Value types by key ("u32", "f32", "array<string>", ...); inferred when absent (see below). */
  types?: Record<string, string>;
  alignment?: number;
  version?: 2 | 3;
}

/** Rounds a number to the nearest IEEE half (ties to even) and returns its 16 bits. */
export function floatToHalf(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++; // may carry into the exponent: correct
  e = h >>> 10;
  return sign | (e >= 31 ? 0x7c00 : h);
}

function floatToBF16(x: number): number {
  const u = new Uint32Array(new Float32Array([x]).buffer)[0];
  if ((u & 0x7fffffff) > 0x7f800000) return (u >>> 16) | 0x40; // keep NaN a NaN
  return (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
}

function encodeTensor(t: GGUFTensorInput, numel: number): Uint8Array {
  const info = ggmlTypeByName(t.type);
  if (!info) throw new InputError(`writeGGUF: tensor '${t.name}' has unknown ggml type ${t.type}`);
  const nbytes = (numel / info.blockSize) * info.typeSize;
  if (t.data instanceof Uint8Array) {
    if (t.data.length !== nbytes) {
      throw new InputError(
        `writeGGUF: tensor '${t.name}' (${t.type}, shape [${t.shape}]) needs ${nbytes} raw ` +
          `bytes, got ${t.data.length}`,
      );
    }
    return t.data;
  }
  const x = t.data;
  if (x.length !== numel) {
    throw new InputError(
      `writeGGUF: tensor '${t.name}' shape [${t.shape}] has ${numel} elements, data has ${x.length}`,
    );
  }
  const out = new Uint8Array(nbytes);
  const dv = new DataView(out.buffer);
  switch (t.type) {
    case "F32":
      x.forEach((v, i) => dv.setFloat32(i * 4, v, true));
      return out;
    case "F16":
      x.forEach((v, i) => dv.setUint16(i * 2, floatToHalf(v), true));
      return out;
    case "BF16":
      x.forEach((v, i) => dv.setUint16(i * 2, floatToBF16(v), true));
      return out;
    case "Q8_0":
      // ggml quantize_row_q8_0_ref: d = max|x| / 127, q = round(x / d), d stored as f16
      for (let b = 0; b < numel / 32; b++) {
        let amax = 0;
        for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
        const d = amax / 127;
        const id = d ? 1 / d : 0;
        dv.setUint16(b * 34, floatToHalf(d), true);
        for (let j = 0; j < 32; j++) {
          const v = x[b * 32 + j] * id;
          dv.setInt8(b * 34 + 2 + j, Math.sign(v) * Math.floor(Math.abs(v) + 0.5));
        }
      }
      return out;
  }
  throw new InputError(
    `writeGGUF: tensor '${t.name}': encoding ${t.type} from floats is not supported ` +
      `(F32, F16, BF16, Q8_0); pass the raw bytes as a Uint8Array instead`,
  );
}

function inferType(key: string, v: GGUFValue): string {
  if (typeof v === "boolean") return "bool";
  if (typeof v === "string") return "string";
  if (typeof v === "bigint") return v < 0n ? "i64" : "u64";
  if (typeof v === "number") {
    if (!Number.isInteger(v)) return "f32";
    if (v >= 0 && v <= 0xffffffff) return "u32";
    if (v >= -0x80000000 && v < 0) return "i32";
    return "i64";
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return "array<u8>";
    const all = new Set(v.map((e) => inferType(key, e)));
    if (all.size === 1) {
      const [only] = all;
      return `array<${only === "u32" && v.some((e) => (e as number) > 0x7fffffff) ? "i64" : only}>`;
    }
    const ints = ["u32", "i32", "i64"];
    if ([...all].every((d) => ints.includes(d))) {
      return all.has("i64") ? "array<i64>" : "array<i32>";
    }
    if ([...all].every((d) => ints.includes(d) || d === "f32")) return "array<f32>";
    throw new InputError(`writeGGUF: metadata '${key}' mixes element types ${[...all]}`);
  }
  throw new InputError(`writeGGUF: metadata '${key}' has an unsupported value (${typeof v})`);
}

class Sink {
  chunks: Uint8Array[] = [];
  length = 0;
  readonly enc = new TextEncoder();
  push(b: Uint8Array): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  scalar(type: string, setter: (dv: DataView) => void): void {
    const b = new Uint8Array(GGUF_SCALAR_SIZE[type as keyof typeof GGUF_SCALAR_SIZE]);
    setter(new DataView(b.buffer));
    this.push(b);
  }
  u32(v: number): void {
    this.scalar("u32", (dv) => dv.setUint32(0, v, true));
  }
  u64(v: number | bigint): void {
    this.scalar("u64", (dv) => dv.setBigUint64(0, BigInt(v), true));
  }
  string(s: string): void {
    const b = this.enc.encode(s);
    this.u64(b.length);
    this.push(b);
  }
  pad(alignment: number): void {
    const n = (alignment - (this.length % alignment)) % alignment;
    if (n) this.push(new Uint8Array(n));
  }
}

function writeValue(s: Sink, key: string, type: string, v: GGUFValue): void {
  const m = /^array<(.+)>$/.exec(type);
  if (m) {
    if (!Array.isArray(v)) throw new InputError(`writeGGUF: metadata '${key}' is not an array`);
    const elem = m[1].startsWith("array<") ? "array" : m[1];
    const id = GGUF_VALUE_TYPES.indexOf(elem as never);
    if (id < 0) throw new InputError(`writeGGUF: metadata '${key}': unknown element type ${m[1]}`);
    s.u32(id);
    s.u64(v.length);
    // a nested array element carries its own element type and length (gguf-py's layout)
    v.forEach((e, i) => writeValue(s, `${key}[${i}]`, m[1], e));
    return;
  }
  const bad = () =>
    new InputError(`writeGGUF: metadata '${key}' value ${String(v)} is not a ${type}`);
  if (type === "string") {
    if (typeof v !== "string") throw bad();
    return s.string(v);
  }
  if (type === "bool") {
    if (typeof v !== "boolean") throw bad();
    return s.push(new Uint8Array([v ? 1 : 0]));
  }
  if (typeof v !== "number" && typeof v !== "bigint") throw bad();
  const n = Number(v);
  if (!(type in GGUF_SCALAR_SIZE)) {
    throw new InputError(`writeGGUF: metadata '${key}' has unknown value type ${type}`);
  }
  s.scalar(type, (dv) => {
    switch (type) {
      case "u8":
        return dv.setUint8(0, n);
      case "i8":
        return dv.setInt8(0, n);
      case "u16":
        return dv.setUint16(0, n, true);
      case "i16":
        return dv.setInt16(0, n, true);
      case "u32":
        return dv.setUint32(0, n, true);
      case "i32":
        return dv.setInt32(0, n, true);
      case "f32":
        return dv.setFloat32(0, n, true);
      case "f64":
        return dv.setFloat64(0, n, true);
      case "u64":
        return dv.setBigUint64(0, BigInt(v), true);
      case "i64":
        return dv.setBigInt64(0, BigInt(v), true);
    }
    throw new InputError(`writeGGUF: metadata '${key}' has unknown value type ${type}`);
  });
}

/**
 * Serializes metadata and tensors to GGUF bytes. Metadata types are taken from `options.types`
 * or inferred: boolean → bool, string → string, integer number → u32 (i32 if negative, i64 if
 * large), other number → f32, bigint → u64/i64, arrays by their elements. Tensor shapes are in
 * PyTorch order.
 */
export function writeGGUF(
  metadata: Record<string, GGUFValue>,
  tensors: GGUFTensorInput[] = [],
  options: GGUFWriteOptions = {},
): Uint8Array {
  const alignment = options.alignment ?? (metadata["general.alignment"] as number) ?? 32;
  const s = new Sink();
  s.push(new Uint8Array([0x47, 0x47, 0x55, 0x46]));
  s.u32(options.version ?? 3);
  s.u64(tensors.length);
  const keys = Object.keys(metadata);
  s.u64(keys.length);
  for (const key of keys) {
    const type = options.types?.[key] ??
      (key === "general.alignment" ? "u32" : inferType(key, metadata[key]));
    const typeId = GGUF_VALUE_TYPES.indexOf((type.startsWith("array<") ? "array" : type) as never);
    if (typeId < 0) {
      throw new InputError(`writeGGUF: metadata '${key}' has unknown value type ${type}`);
    }
    s.string(key);
    s.u32(typeId);
    writeValue(s, key, type, metadata[key]);
  }
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const t of tensors) {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    const blob = encodeTensor(t, numel);
    s.string(t.name);
    s.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) s.u64(d);
    s.u32(ggmlTypeByName(t.type)!.id);
    s.u64(offset);
    blobs.push(blob);
    offset += Math.ceil(blob.length / alignment) * alignment;
  }
  if (tensors.length) s.pad(alignment);
  for (const b of blobs) {
    s.push(b);
    s.pad(alignment);
  }
  const out = new Uint8Array(s.length);
  let p = 0;
  for (const c of s.chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}
