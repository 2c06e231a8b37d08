// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N, N
// bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}, then
// the data, every tensor's bytes at its offsets, in order, without gaps or overlaps. Reading
// validates all of that and names the tensor and file at fault. Element types become ours:
// BF16 and F64 are read as f32, I64 as i32 (range-checked), I16/I8/U8 as i32, BOOL as bool.
import { type DType, numel, shapeStr, type TypedArray } from "../dtype.ts";
import { DTypeError, InputError, ShapeError } from "../errors.ts";

/** A tensor in host memory. */
export interface HostTensor {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

/** Bytes per element of every file dtype we read, and the dtype it becomes. */
export const SAFETENSORS_DTYPES = {
  F32: { bytes: 4, dtype: "f32" },
  F16: { bytes: 2, dtype: "f16" },
  BF16: { bytes: 2, dtype: "f32" },
  F64: { bytes: 8, dtype: "f32" },
  I64: { bytes: 8, dtype: "i32" },
  I32: { bytes: 4, dtype: "i32" },
  I16: { bytes: 2, dtype: "i32" },
  I8: { bytes: 1, dtype: "i32" },
  U8: { bytes: 1, dtype: "i32" },
  U32: { bytes: 4, dtype: "u32" },
  BOOL: { bytes: 1, dtype: "bool" },
} as const satisfies Record<string, { bytes: number; dtype: DType }>;
export type SafetensorsDType = keyof typeof SAFETENSORS_DTYPES;

const WRITE_DTYPE: Record<DType, SafetensorsDType> = {
  f32: "F32",
  f16: "F16",
  i32: "I32",
  u32: "U32",
  bool: "BOOL",
};

/** The upstream reader's limit on the JSON header (100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor of a header; offsets count from the start of the data (after the header). */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Tensors in data order. */
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  /** Byte offset of the data: 8 + header length. */
  dataStart: number;
}

/** The header length from the first 8 bytes, checked against the limit and the file size. */
export function headerLength(first8: Uint8Array, fileSize: number | null, source: string): number {
  if (first8.length < 8) {
    throw new InputError(
      `${source}: ${first8.length} bytes is too short for a safetensors file (the header ` +
        `length alone takes 8)`,
    );
  }
  const dv = new DataView(first8.buffer, first8.byteOffset, 8);
  const n = dv.getUint32(0, true) + dv.getUint32(4, true) * 2 ** 32;
  if (n > MAX_HEADER_BYTES) {
    throw new InputError(
      `${source}: header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit (not a ` +
        `safetensors file, or a corrupt one)`,
    );
  }
  if (n < 2) throw new InputError(`${source}: header length ${n} cannot hold a JSON object`);
  if (fileSize !== null && 8 + n > fileSize) {
    throw new InputError(
      `${source}: header length ${n} runs past the end of the ${fileSize}-byte file ` +
        `(truncated, or the length lies)`,
    );
  }
  return n;
}

const isObj = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/** Parses and validates the JSON header. `dataBytes`, when known, is the size of the data
 * section: every tensor must lie inside it and together they must cover it exactly. */
export function parseHeader(
  json: Uint8Array,
  headerLen: number,
  dataBytes: number | null,
  source: string,
): SafetensorsHeader {
  let h: unknown;
  try {
    h = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(json));
  } catch (e) {
    throw new InputError(`${source}: the header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (!isObj(h)) throw new InputError(`${source}: the header must be a JSON object`);
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, v] of Object.entries(h)) {
    if (name === "__metadata__") {
      if (!isObj(v) || !Object.values(v).every((x) => typeof x === "string")) {
        throw new InputError(`${source}: __metadata__ must map strings to strings`);
      }
      Object.assign(metadata, v);
      continue;
    }
    entries.push(parseEntry(name, v, source));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  checkLayout(entries, dataBytes, source);
  return { entries, metadata, dataStart: 8 + headerLen };
}

function parseEntry(name: string, v: unknown, source: string): SafetensorsEntry {
  const where = `${source}: tensor '${name}'`;
  if (!isObj(v)) {
    throw new InputError(`${where}: entry must be an object {dtype, shape, data_offsets}`);
  }
  const { dtype, shape, data_offsets: off } = v;
  if (typeof dtype !== "string" || !(dtype in SAFETENSORS_DTYPES)) {
    throw new DTypeError(
      `${where}: unknown dtype ${JSON.stringify(dtype)} (supported: ${
        Object.keys(SAFETENSORS_DTYPES).join(", ")
      })`,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new ShapeError(`${where}: shape ${JSON.stringify(shape)} is not a list of sizes`);
  }
  if (!Array.isArray(off) || off.length !== 2 || !off.every(isCount) || off[0] > off[1]) {
    throw new InputError(
      `${where}: data_offsets ${JSON.stringify(off)} must be [begin, end] with 0 <= begin <= end`,
    );
  }
  const d = dtype as SafetensorsDType;
  const need = numel(shape) * SAFETENSORS_DTYPES[d].bytes;
  if (need !== off[1] - off[0]) {
    throw new ShapeError(
      `${where}: shape ${shapeStr(shape)} of ${d} needs ${need} bytes but data_offsets ` +
        `[${off[0]}, ${off[1]}] hold ${off[1] - off[0]}`,
    );
  }
  return { name, dtype: d, shape: shape.slice(), begin: off[0], end: off[1] };
}

/** Tensors sorted by offset must tile the data: no overlap, no gap, nothing past the end. */
function checkLayout(entries: SafetensorsEntry[], dataBytes: number | null, source: string) {
  let at = 0;
  let prev: SafetensorsEntry | null = null;
  for (const e of entries) {
    if (dataBytes !== null && e.end > dataBytes) {
      throw new InputError(
        `${source}: tensor '${e.name}' data_offsets [${e.begin}, ${e.end}] run past the end of ` +
          `the ${dataBytes} data bytes (truncated file, or offsets that lie)`,
      );
    }
    if (e.begin < at) {
      throw new InputError(
        `${source}: tensor '${e.name}' [${e.begin}, ${e.end}] overlaps tensor '${prev!.name}' ` +
          `[${prev!.begin}, ${prev!.end}]`,
      );
    }
    if (e.begin > at) {
      throw new InputError(
        `${source}: data bytes [${at}, ${e.begin}) before tensor '${e.name}' belong to no tensor`,
      );
    }
    at = e.end;
    prev = e;
  }
  if (dataBytes !== null && at !== dataBytes) {
    throw new InputError(
      `${source}: ${dataBytes - at} trailing data bytes after the last tensor belong to no tensor`,
    );
  }
}

/** Decodes one tensor's bytes (exactly end - begin of them) into our dtype. The result never
 * shares memory with `raw` unless `owned` says the caller hands `raw` over. */
export function decodeTensor(
  e: SafetensorsEntry,
  raw: Uint8Array,
  source: string,
  owned = false,
): HostTensor {
  const n = numel(e.shape);
  const { dtype } = SAFETENSORS_DTYPES[e.dtype];
  // typed arrays need aligned offsets: a private copy is aligned
  const own = owned && raw.byteOffset % 8 === 0 ? raw : raw.slice();
  const buf = own.buffer as ArrayBuffer;
  const at = own.byteOffset;
  let data: TypedArray;
  switch (e.dtype) {
    case "F32":
      data = new Float32Array(buf, at, n);
      break;
    case "F16":
      data = new Float16Array(buf, at, n);
      break;
    case "BF16": {
      // bf16 is the top half of an f32
      const src = new Uint16Array(buf, at, n);
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = src[i] << 16;
      data = new Float32Array(bits.buffer);
      break;
    }
    case "F64":
      data = Float32Array.from(new Float64Array(buf, at, n));
      break;
    case "I64":
      data = int64ToInt32(new Int32Array(buf, at, 2 * n), e.name, source);
      break;
    case "I32":
      data = new Int32Array(buf, at, n);
      break;
    case "I16":
      data = Int32Array.from(new Int16Array(buf, at, n));
      break;
    case "I8":
      data = Int32Array.from(new Int8Array(buf, at, n));
      break;
    case "U8":
      data = Int32Array.from(new Uint8Array(buf, at, n));
      break;
    case "U32":
      data = new Uint32Array(buf, at, n);
      break;
    case "BOOL":
      data = new Uint8Array(buf, at, n).map((b) => (b ? 1 : 0));
      break;
  }
  return { dtype, shape: e.shape.slice(), data };
}

/** Little-endian int64 pairs to int32; a value outside the int32 range is an error. */
function int64ToInt32(words: Int32Array, name: string, source: string): Int32Array {
  const out = new Int32Array(words.length / 2);
  for (let i = 0; i < out.length; i++) {
    const lo = words[2 * i], hi = words[2 * i + 1];
    if (hi !== lo >> 31) {
      const v = BigInt(hi) * 2n ** 32n + BigInt(lo >>> 0);
      throw new InputError(
        `${source}: tensor '${name}' (I64) element ${i} is ${v}, outside the int32 range it is ` +
          `read as`,
      );
    }
    out[i] = lo;
  }
  return out;
}

/** Parses a whole safetensors file held in memory into host tensors. */
export function readSafetensors(
  bytes: Uint8Array,
  opts: { source?: string } = {},
): Record<string, HostTensor> {
  const source = opts.source ?? "safetensors data";
  const n = headerLength(bytes.subarray(0, 8), bytes.length, source);
  const h = parseHeader(bytes.subarray(8, 8 + n), n, bytes.length - 8 - n, source);
  const out: Record<string, HostTensor> = {};
  for (const e of h.entries) {
    out[e.name] = decodeTensor(
      e,
      bytes.subarray(h.dataStart + e.begin, h.dataStart + e.end),
      source,
    );
  }
  return out;
}

/** The metadata strings of a safetensors file held in memory. */
export function readSafetensorsMetadata(bytes: Uint8Array, source = "safetensors data") {
  const n = headerLength(bytes.subarray(0, 8), bytes.length, source);
  return parseHeader(bytes.subarray(8, 8 + n), n, bytes.length - 8 - n, source).metadata;
}

/** Serialises host tensors (f32 F32, f16 F16, i32 I32, u32 U32, bool BOOL) in record order. */
export function writeSafetensors(
  record: Record<string, HostTensor>,
  metadata?: Record<string, string>,
): Uint8Array<ArrayBuffer> {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const blobs: Uint8Array[] = [];
  let at = 0;
  for (const [name, t] of Object.entries(record)) {
    if (name === "__metadata__") {
      throw new InputError(`writeSafetensors: '__metadata__' is reserved and cannot name a tensor`);
    }
    const code = WRITE_DTYPE[t.dtype];
    if (!code) throw new DTypeError(`writeSafetensors: tensor '${name}': unknown dtype ${t.dtype}`);
    if (t.data.length !== numel(t.shape)) {
      throw new ShapeError(
        `writeSafetensors: tensor '${name}': shape ${shapeStr(t.shape)} needs ${
          numel(t.shape)
        } elements, data has ${t.data.length}`,
      );
    }
    const b = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: code, shape: t.shape, data_offsets: [at, at + b.length] };
    blobs.push(b);
    at += b.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8; // the format allows trailing spaces; keep data aligned
  if (pad) json = new TextEncoder().encode(JSON.stringify(header) + " ".repeat(pad));
  const out = new Uint8Array(8 + json.length + at);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  let p = 8 + json.length;
  for (const b of blobs) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}
