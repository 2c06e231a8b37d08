// GGUF reader (versions 2 and 3, little-endian), after the layout ggml's gguf.cpp `gguf_init_from_file_impl`
// reads: magic "GGUF", u32 version, u64 tensor count, u64 metadata count, metadata key/values,
// tensor infos (name, n_dims, dims fastest-first, ggml type, u64 offset), padding to
// `general.alignment` (default 32), then the tensor data section. Every failure is an InputError
// that names the field, key or tensor and the byte offsets involved.
import { InputError } from "../errors.ts";
import { dequantize } from "./gguf_dequant.ts";
import {
  GGML_TYPES,
  GGUF_SCALAR_SIZE,
  GGUF_VALUE_TYPES,
  type GGUFValue,
  type GGUFValueType,
} from "./gguf_types.ts";

export type { GGUFValue, GGUFValueType } from "./gguf_types.ts";

/** One tensor of a GGUF file. Its data stays in the file's bytes until asked for. */
export interface GGUFTensor {
  readonly name: string;
  /** Shape in PyTorch order (slowest-first), i.e. GGUF's `dims` reversed. */
  readonly shape: number[];
  /** Dimensions as stored in the file: fastest-varying first (ggml `ne`). */
  readonly dims: number[];
  /** ggml type name: "F32", "F16", "BF16", "Q8_0", "Q4_K", ... */
  readonly type: string;
  readonly typeId: number;
  readonly numel: number;
  /** Absolute byte offset of the data in the file. */
  readonly byteOffset: number;
  readonly byteLength: number;
  /** The raw stored bytes (a view into the input, no copy). */
  bytes(): Uint8Array;
  /** A fresh Float32Array in `shape` order (quantized types dequantized). */
  toFloat32(): Float32Array;
}

/** A parsed GGUF file. */
export interface GGUFFile {
  readonly version: number;
  readonly metadata: Record<string, GGUFValue>;
  /** Each key's value type; arrays read as "array<elem>" (nested: "array<array<u8>>"). */
  readonly metadataTypes: Record<string, string>;
  readonly tensors: GGUFTensor[];
  readonly alignment: number;
  /** Absolute byte offset of the tensor data section. */
  readonly dataOffset: number;
  /** The tensor called `name`; throws InputError listing a few names when there is none. */
  tensor(name: string): GGUFTensor;
}

const MAGIC = [0x47, 0x47, 0x55, 0x46]; // "GGUF"
const MAX_DIMS = 4; // GGML_MAX_DIMS

class Cursor {
  pos = 0;
  readonly dv: DataView;
  // ignoreBOM: a string that starts with U+FEFF keeps it
  readonly utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  constructor(readonly bytes: Uint8Array) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.bytes.length) {
      throw new InputError(
        `GGUF file is truncated: reading ${what} needs ${n} byte(s) at offset ${this.pos}, ` +
          `but the file has ${this.bytes.length} bytes`,
      );
    }
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  /** A u64 that must fit a JS number (counts, lengths, dims, offsets). */
  size(what: string): number {
    this.need(8, what);
    const v = this.dv.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new InputError(
        `GGUF ${what} is ${v}, too large (limit 2^53-1) at offset ${this.pos - 8}`,
      );
    }
    return Number(v);
  }
  string(what: string): string {
    const at = this.pos;
    const len = this.size(`${what} (string length)`);
    if (len > this.bytes.length - this.pos) {
      throw new InputError(
        `GGUF ${what}: string length ${len} at offset ${at} runs past the end of the file ` +
          `(${this.bytes.length - this.pos} bytes left); the file is truncated or corrupt`,
      );
    }
    const view = this.bytes.subarray(this.pos, this.pos + len);
    this.pos += len;
    try {
      return this.utf8.decode(view);
    } catch {
      throw new InputError(`GGUF ${what}: string at offset ${at} is not valid UTF-8`);
    }
  }
}

function readScalar(c: Cursor, type: GGUFValueType, what: string): GGUFValue {
  if (type === "string") return c.string(what);
  const n = GGUF_SCALAR_SIZE[type as keyof typeof GGUF_SCALAR_SIZE];
  c.need(n, what);
  const p = c.pos;
  c.pos += n;
  const dv = c.dv;
  switch (type) {
    case "u8":
      return dv.getUint8(p);
    case "i8":
      return dv.getInt8(p);
    case "u16":
      return dv.getUint16(p, true);
    case "i16":
      return dv.getInt16(p, true);
    case "u32":
      return dv.getUint32(p, true);
    case "i32":
      return dv.getInt32(p, true);
    case "f32":
      return dv.getFloat32(p, true);
    case "f64":
      return dv.getFloat64(p, true);
    case "bool": {
      const b = dv.getUint8(p);
      if (b > 1) throw new InputError(`GGUF ${what}: bool at offset ${p} holds ${b}, not 0 or 1`);
      return b === 1;
    }
    case "u64":
    case "i64": {
      const v = type === "u64" ? dv.getBigUint64(p, true) : dv.getBigInt64(p, true);
      const safe = v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER);
      return safe ? Number(v) : v;
    }
  }
  throw new InputError(`GGUF ${what}: value type ${type} is not a scalar`);
}

function valueType(c: Cursor, what: string): GGUFValueType {
  const at = c.pos;
  const id = c.u32(`${what} (value type)`);
  const t = GGUF_VALUE_TYPES[id];
  if (t === undefined) {
    throw new InputError(
      `GGUF ${what}: unknown metadata value type id ${id} at offset ${at} ` +
        `(known: 0..${GGUF_VALUE_TYPES.length - 1} = ${GGUF_VALUE_TYPES.join(", ")})`,
    );
  }
  return t;
}

/** Reads one value of `type`; returns it and its type description. */
function readValue(c: Cursor, type: GGUFValueType, what: string): [GGUFValue, string] {
  if (type !== "array") return [readScalar(c, type, what), type];
  const elem = valueType(c, `${what} (array element type)`);
  const at = c.pos;
  const n = c.size(`${what} (array length)`);
  // every element takes at least one byte, so a longer count cannot fit in what is left
  if (n > c.bytes.length - c.pos) {
    throw new InputError(
      `GGUF ${what}: array length ${n} at offset ${at} exceeds the ${c.bytes.length - c.pos} ` +
        `bytes left in the file; the file is truncated or corrupt`,
    );
  }
  if (elem === "string") return [readStringArray(c, n, what), "array<string>"];
  const out: GGUFValue[] = new Array(n);
  if (elem !== "array") {
    c.need(n * GGUF_SCALAR_SIZE[elem], `${what} (${n} ${elem} values)`);
    for (let i = 0; i < n; i++) out[i] = readScalar(c, elem, what);
    return [out, `array<${elem}>`];
  }
  let elemDesc: string = elem;
  for (let i = 0; i < n; i++) {
    const [v, d] = readValue(c, elem, `${what}[${i}]`);
    out[i] = v;
    elemDesc = d;
  }
  return [out, `array<${elemDesc}>`];
}

/**
 * Reads `n` strings with one UTF-8 decoder call: vocabularies hold 10^5 short strings and each
 * decoder call has a fixed cost. The bytes are packed, decoded at once, and cut at each
 * string's UTF-16 length (counted from its bytes). Invalid UTF-8 falls back to per-string
 * decoding, which names the bad element.
 */
function readStringArray(c: Cursor, n: number, what: string): string[] {
  const starts = new Float64Array(n);
  const lens = new Float64Array(n);
  const { bytes, dv } = c;
  let total = 0;
  for (let i = 0; i < n; i++) {
    // inline u64 length read: no per-element BigInt or message strings on this hot path
    if (c.pos + 8 > bytes.length) c.need(8, `${what}[${i}] (string length)`);
    const len = dv.getUint32(c.pos, true) + dv.getUint32(c.pos + 4, true) * 2 ** 32;
    if (len > bytes.length - c.pos - 8) {
      throw new InputError(
        `GGUF ${what}[${i}]: string length ${len} at offset ${c.pos} runs past the end of the ` +
          `file (${bytes.length - c.pos - 8} bytes left); the file is truncated or corrupt`,
      );
    }
    starts[i] = c.pos + 8;
    lens[i] = len;
    c.pos += 8 + len;
    total += len;
  }
  const packed = new Uint8Array(total);
  for (let i = 0, p = 0; i < n; i++) {
    const from = starts[i];
    const len = lens[i];
    if (len > 32) packed.set(bytes.subarray(from, from + len), p);
    else for (let k = 0; k < len; k++) packed[p + k] = bytes[from + k];
    p += len;
  }
  let text: string;
  try {
    text = c.utf8.decode(packed);
  } catch {
    const end = c.pos;
    const out = Array.from({ length: n }, (_, i) => {
      c.pos = starts[i] - 8;
      return c.string(`${what}[${i}]`);
    });
    c.pos = end;
    return out;
  }
  const out: string[] = new Array(n);
  for (let i = 0, byte = 0, unit = 0; i < n; i++) {
    let units = 0;
    for (const stop = byte + lens[i]; byte < stop; byte++) {
      const b = packed[byte];
      if ((b & 0xc0) !== 0x80) units += b >= 0xf0 ? 2 : 1; // a 4-byte sequence is a surrogate pair
    }
    out[i] = text.slice(unit, unit + units);
    unit += units;
  }
  return out;
}

/**
 * Parses a GGUF v2/v3 file held in memory. Metadata values are decoded eagerly; tensor data is
 * read lazily through each tensor's `bytes()` / `toFloat32()`. u64/i64 metadata values come back
 * as `number` when they fit exactly (|v| <= 2^53-1) and as `bigint` otherwise.
 */
export function readGGUF(bytes: Uint8Array): GGUFFile {
  if (!(bytes instanceof Uint8Array)) {
    throw new InputError(`readGGUF expects a Uint8Array, got ${typeof bytes}`);
  }
  const c = new Cursor(bytes);
  c.need(4, "the magic number");
  const magic = Array.from(bytes.subarray(0, 4));
  if (magic.some((b, i) => b !== MAGIC[i])) {
    const hex = magic.map((b) => b.toString(16).padStart(2, "0")).join(" ");
    const text = magic.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    throw new InputError(
      `not a GGUF file: magic bytes are ${hex} ("${text}"), expected 47 47 55 46 ("GGUF")`,
    );
  }
  c.pos = 4;
  const version = c.u32("the version");
  if (version !== 2 && version !== 3) {
    const swapped = ((version & 0xff) << 24 | (version & 0xff00) << 8 |
      (version >>> 8) & 0xff00 | version >>> 24) >>> 0;
    const hint = swapped === 2 || swapped === 3
      ? ` (this looks like a big-endian GGUF v${swapped}; only little-endian files are supported)`
      : version === 1
      ? " (GGUF v1 used 32-bit counts and is obsolete; re-convert the model)"
      : "";
    throw new InputError(`unsupported GGUF version ${version}; supported: 2, 3${hint}`);
  }
  const nTensors = c.size("the tensor count");
  const nKV = c.size("the metadata key/value count");

  const metadata: Record<string, GGUFValue> = {};
  const metadataTypes: Record<string, string> = {};
  for (let i = 0; i < nKV; i++) {
    const key = c.string(`metadata key #${i}`);
    if (Object.hasOwn(metadata, key)) {
      throw new InputError(`GGUF metadata key '${key}' appears twice (key #${i})`);
    }
    const t = valueType(c, `metadata '${key}'`);
    const [v, desc] = readValue(c, t, `metadata '${key}'`);
    // defineProperty: a key such as "__proto__" must stay an ordinary entry
    Object.defineProperty(metadata, key, {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    Object.defineProperty(metadataTypes, key, {
      value: desc,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }

  let alignment = 32;
  if (Object.hasOwn(metadata, "general.alignment")) {
    const a = metadata["general.alignment"];
    if (metadataTypes["general.alignment"] !== "u32" || typeof a !== "number") {
      throw new InputError(
        `GGUF 'general.alignment' must be a u32, got ${metadataTypes["general.alignment"]}`,
      );
    }
    if (a === 0 || (a & (a - 1)) !== 0) {
      throw new InputError(`GGUF 'general.alignment' is ${a}, not a power of two`);
    }
    alignment = a;
  }

  interface Info {
    name: string;
    dims: number[];
    typeId: number;
    offset: number;
  }
  const infos: Info[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = c.string(`tensor #${i} name`);
    if (seen.has(name)) throw new InputError(`GGUF tensor name '${name}' appears twice`);
    seen.add(name);
    const nDims = c.u32(`tensor '${name}' dimension count`);
    if (nDims > MAX_DIMS) {
      throw new InputError(`GGUF tensor '${name}' has ${nDims} dimensions; ggml allows at most 4`);
    }
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(c.size(`tensor '${name}' dimension ${d}`));
    const typeId = c.u32(`tensor '${name}' ggml type`);
    const offset = c.size(`tensor '${name}' data offset`);
    infos.push({ name, dims, typeId, offset });
  }
  const dataOffset = nTensors > 0 ? Math.ceil(c.pos / alignment) * alignment : c.pos;

  const tensors: GGUFTensor[] = infos.map(({ name, dims, typeId, offset }) => {
    const info = GGML_TYPES.get(typeId);
    if (!info) {
      throw new InputError(
        `GGUF tensor '${name}' has unknown ggml type id ${typeId}; this reader knows ` +
          [...GGML_TYPES.values()].map((t) => `${t.id}=${t.name}`).join(", "),
      );
    }
    const numel = dims.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(numel)) {
      throw new InputError(`GGUF tensor '${name}' dims [${dims}] have too many elements`);
    }
    if (dims.length > 0 && dims[0] % info.blockSize !== 0) {
      throw new InputError(
        `GGUF tensor '${name}' of type ${info.name}: first (fastest) dimension ${dims[0]} is ` +
          `not a multiple of the block size ${info.blockSize}`,
      );
    }
    if (offset % alignment !== 0) {
      throw new InputError(
        `GGUF tensor '${name}' data offset ${offset} is not a multiple of the alignment ${alignment}`,
      );
    }
    const byteLength = (numel / info.blockSize) * info.typeSize;
    const byteOffset = dataOffset + offset;
    if (byteOffset + byteLength > bytes.length) {
      throw new InputError(
        `GGUF tensor '${name}' (${info.name}, dims [${dims}]) needs bytes ${byteOffset}..` +
          `${
            byteOffset + byteLength
          } (data offset ${offset} + ${byteLength} bytes), but the file ` +
          `has ${bytes.length} bytes; the file is truncated or the offset is wrong`,
      );
    }
    const raw = () => bytes.subarray(byteOffset, byteOffset + byteLength);
    return {
      name,
      shape: [...dims].reverse(),
      dims,
      type: info.name,
      typeId,
      numel,
      byteOffset,
      byteLength,
      bytes: raw,
      toFloat32: () => dequantize(info, raw(), numel, name),
    };
  });

  const byName = new Map(tensors.map((t) => [t.name, t]));
  return {
    version,
    metadata,
    metadataTypes,
    tensors,
    alignment,
    dataOffset,
    tensor(name: string): GGUFTensor {
      const t = byName.get(name);
      if (t) return t;
      const some = tensors.slice(0, 8).map((x) => x.name).join(", ");
      throw new InputError(
        `GGUF file has no tensor '${name}' (${tensors.length} tensors: ${some}` +
          `${tensors.length > 8 ? ", ..." : ""})`,
      );
    },
  };
}
