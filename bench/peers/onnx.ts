// A tiny ONNX protobuf encoder: enough of onnx.proto (ModelProto, GraphProto, NodeProto,
// AttributeProto, ValueInfoProto, TensorProto) to build float32 models in memory for
// onnxruntime-web. Field numbers follow onnx/onnx.proto.

class Writer {
  bytes: number[] = [];

  varint(v: number | bigint): this {
    let n = BigInt.asUintN(64, BigInt(v));
    while (n >= 0x80n) {
      this.bytes.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.bytes.push(Number(n));
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  int(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  raw(field: number, b: Uint8Array | number[]): this {
    this.tag(field, 2).varint(b.length);
    for (const x of b) this.bytes.push(x);
    return this;
  }
  str(field: number, s: string): this {
    return this.raw(field, new TextEncoder().encode(s));
  }
  msg(field: number, w: Writer): this {
    return this.raw(field, w.bytes);
  }
  f32(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    for (const x of b) this.bytes.push(x);
    return this;
  }
  finish(): Uint8Array {
    return new Uint8Array(this.bytes);
  }
}

/** ONNX TensorProto.DataType codes. */
export const FLOAT = 1;
export const INT64 = 7;

export type AttrValue = number | number[] | string | { float: number };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
  domain?: string;
}

export interface OnnxValue {
  name: string;
  shape: number[];
  /** Data type code (default FLOAT). */
  type?: number;
}

export interface OnnxInitializer {
  name: string;
  shape: number[];
  data: Float32Array | BigInt64Array;
}

export interface OnnxModel {
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  nodes: OnnxNode[];
  initializers?: OnnxInitializer[];
  /** Default-domain opset (default 17). */
  opset?: number;
}

function attribute(name: string, v: AttrValue): Writer {
  const w = new Writer().str(1, name);
  if (typeof v === "string") return w.raw(4, new TextEncoder().encode(v)).int(20, 3);
  if (Array.isArray(v)) {
    for (const x of v) w.int(8, x);
    return w.int(20, 7);
  }
  if (typeof v === "object") return w.f32(2, v.float).int(20, 1);
  return Number.isInteger(v) ? w.int(3, v).int(20, 2) : w.f32(2, v).int(20, 1);
}

function valueInfo(v: OnnxValue): Writer {
  const shape = new Writer();
  for (const d of v.shape) shape.msg(1, new Writer().int(1, d));
  const tensor = new Writer().int(1, v.type ?? FLOAT).msg(2, shape);
  return new Writer().str(1, v.name).msg(2, new Writer().msg(1, tensor));
}

function tensor(t: OnnxInitializer): Writer {
  const w = new Writer();
  for (const d of t.shape) w.int(1, d);
  w.int(2, t.data instanceof BigInt64Array ? INT64 : FLOAT);
  w.str(8, t.name);
  return w.raw(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

/** The serialised ModelProto (ir_version 8; opsets: default domain and com.microsoft 1). */
export function encodeModel(m: OnnxModel): Uint8Array {
  const g = new Writer();
  m.nodes.forEach((n, i) => {
    const w = new Writer();
    for (const x of n.inputs) w.str(1, x);
    for (const x of n.outputs) w.str(2, x);
    w.str(3, `${n.op}_${i}`).str(4, n.op);
    for (const [k, v] of Object.entries(n.attrs ?? {})) w.msg(5, attribute(k, v));
    if (n.domain) w.str(7, n.domain);
    g.msg(1, w);
  });
  g.str(2, "bench");
  for (const t of m.initializers ?? []) g.msg(5, tensor(t));
  for (const v of m.inputs) g.msg(11, valueInfo(v));
  for (const v of m.outputs) g.msg(12, valueInfo(v));
  const model = new Writer().int(1, 8).str(2, "webgpu-inductor-bench").msg(7, g);
  model.msg(8, new Writer().str(1, "").int(2, m.opset ?? 17));
  model.msg(8, new Writer().str(1, "com.microsoft").int(2, 1));
  return model.finish();
}
