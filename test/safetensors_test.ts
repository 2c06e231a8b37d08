// safetensors: round trips, dtype conversions (BF16/F64 -> f32, I64 -> i32 range-checked, …),
// every malformed-file error naming the tensor and file, and loadSafetensors streaming from a
// path, a file: URL and HTTP into device Tensors with progress.
import assert from "node:assert/strict";
import {
  compile,
  DTypeError,
  graphFromJSON,
  InputError,
  interpret,
  liveBuffers,
  loadSafetensors,
  readSafetensors,
  readSafetensorsMetadata,
  ShapeError,
  writeSafetensors,
} from "../src/mod.ts";
import type { HostTensor } from "../src/mod.ts";
import { assertClose, LOOSE, randomArray, rng } from "./helpers.ts";

const assertEquals = (a: unknown, b: unknown, msg?: string) => assert.deepStrictEqual(a, b, msg);

/** The error `fn` throws, checked to be a `cls` whose message contains `msg`. */
function assertThrows(fn: () => unknown, cls: new (m: string) => Error, msg = ""): Error {
  try {
    fn();
  } catch (e) {
    assert(e instanceof cls, `expected ${cls.name}, got ${e}`);
    assert(e.message.includes(msg), `expected "${msg}" in: ${e.message}`);
    return e;
  }
  throw new Error(`expected ${cls.name} ("${msg}"), nothing was thrown`);
}

async function assertRejects(
  fn: () => Promise<unknown>,
  cls: new (m: string) => Error,
  msg = "",
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    assert(e instanceof cls, `expected ${cls.name}, got ${e}`);
    assert(e.message.includes(msg), `expected "${msg}" in: ${e.message}`);
    return e;
  }
  throw new Error(`expected ${cls.name} ("${msg}"), nothing was thrown`);
}

/** A file from a header object and raw data bytes, exactly as given (for lying headers). */
function rawFile(header: unknown, data: Uint8Array, lenOverride?: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, lenOverride ?? json.length, true);
  if (lenOverride !== undefined && lenOverride >= 2 ** 32) {
    dv.setUint32(0, lenOverride % 2 ** 32, true);
    dv.setUint32(4, Math.floor(lenOverride / 2 ** 32), true);
  }
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

const sample = (): Record<string, HostTensor> => ({
  "layers.0.w": {
    dtype: "f32",
    shape: [2, 3],
    data: new Float32Array([1, -2, 3.5, NaN, Infinity, -0]),
  },
  half: { dtype: "f16", shape: [3], data: new Float16Array([0.5, -65504, 1e-4]) },
  ids: { dtype: "i32", shape: [4], data: new Int32Array([0, -1, 2 ** 31 - 1, -(2 ** 31)]) },
  u: { dtype: "u32", shape: [1], data: new Uint32Array([2 ** 32 - 1]) },
  mask: { dtype: "bool", shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) },
  empty: { dtype: "f32", shape: [0, 4], data: new Float32Array(0) },
});

Deno.test("writeSafetensors -> readSafetensors round trip keeps names, shapes, dtypes, bits", () => {
  const rec = sample();
  const bytes = writeSafetensors(rec, { format: "pt" });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals(n % 8, 0, "header padded so the data starts 8-byte aligned");
  const back = readSafetensors(bytes);
  assertEquals(Object.keys(back).sort(), Object.keys(rec).sort());
  for (const [k, t] of Object.entries(rec)) {
    assertEquals(back[k].dtype, t.dtype, k);
    assertEquals(back[k].shape, t.shape, k);
    assertEquals(bytesOf(back[k].data), bytesOf(t.data), k);
  }
  assertEquals(readSafetensorsMetadata(bytes), { format: "pt" });
});

Deno.test("read converts BF16, F64 to f32; I64, I16, I8, U8 to i32; BOOL to 0/1", () => {
  const bf16 = new Uint16Array([0x3f80, 0xc040, 0x7f80, 0x0000]); // 1, -3, inf, 0
  const f64 = new Float64Array([0.1, -2.5]);
  const i64 = new BigInt64Array([0n, -5n, 2147483647n, -2147483648n]);
  const i16 = new Int16Array([-300, 300]);
  const i8 = new Int8Array([-7, 7]);
  const u8 = new Uint8Array([0, 255]);
  const bool = new Uint8Array([0, 2]); // non-zero bytes read as true
  const parts = [bf16, f64, i64, i16, i8, u8, bool].map(bytesOf);
  const names = ["bf", "d", "q", "s", "c", "b", "m"];
  const dts = ["BF16", "F64", "I64", "I16", "I8", "U8", "BOOL"];
  const shapes = [[4], [2], [2, 2], [2], [2], [2], [2]];
  const header: Record<string, unknown> = {};
  let at = 0;
  parts.forEach((p, i) => {
    header[names[i]] = { dtype: dts[i], shape: shapes[i], data_offsets: [at, at + p.length] };
    at += p.length;
  });
  const data = new Uint8Array(at);
  at = 0;
  for (const p of parts) (data.set(p, at), at += p.length);
  const r = readSafetensors(rawFile(header, data));
  assertEquals(r.bf.dtype, "f32");
  assertEquals([...r.bf.data], [1, -3, Infinity, 0]);
  assertEquals(r.d.dtype, "f32");
  assertEquals([...r.d.data], [Math.fround(0.1), -2.5]);
  assertEquals(r.q.dtype, "i32");
  assertEquals(r.q.shape, [2, 2]);
  assertEquals([...r.q.data], [0, -5, 2147483647, -2147483648]);
  assertEquals([...r.s.data], [-300, 300]);
  assertEquals([...r.c.data], [-7, 7]);
  assertEquals([...r.b.data], [0, 255]);
  assertEquals(r.m.dtype, "bool");
  assertEquals([...r.m.data], [0, 1]);
});

Deno.test("I64 outside the int32 range is an error naming the tensor and element", () => {
  const d = bytesOf(new BigInt64Array([1n, 2n ** 31n]));
  const f = rawFile({ big: { dtype: "I64", shape: [2], data_offsets: [0, 16] } }, d);
  assertThrows(
    () => readSafetensors(f, { source: "ids.safetensors" }),
    InputError,
    "ids.safetensors: tensor 'big' (I64) element 1 is 2147483648, outside the int32 range",
  );
});

Deno.test("malformed files: each error names the file and the tensor at fault", () => {
  const src = { source: "bad.safetensors" };
  const f32 = (b: number, e: number, shape = [(e - b) / 4]) => ({
    dtype: "F32",
    shape,
    data_offsets: [b, e],
  });
  const d16 = new Uint8Array(16);
  const cases: [Uint8Array, new (m: string) => Error, string][] = [
    [new Uint8Array(5), InputError, "bad.safetensors: 5 bytes is too short"],
    // header length says more than the file has (truncated file, or a lying length)
    [
      rawFile({ a: f32(0, 16) }, d16).subarray(0, 20),
      InputError,
      "runs past the end of the 20-byte file",
    ],
    [rawFile({ a: f32(0, 16) }, d16, 1000), InputError, "header length 1000 runs past the end"],
    [rawFile({ a: f32(0, 16) }, d16, 2 ** 40), InputError, "exceeds the 100000000-byte limit"],
    [
      rawFile("x", d16, undefined).map((b, i) => (i === 8 ? 0x7b : b)),
      InputError,
      "not valid UTF-8 JSON",
    ],
    [rawFile([1, 2], d16), InputError, "the header must be a JSON object"],
    // data truncated: offsets past the data
    [
      rawFile({ a: f32(0, 16) }, d16).subarray(0, 8 + 60),
      InputError,
      "tensor 'a' data_offsets [0, 16] run past the end",
    ],
    [
      rawFile({ a: f32(0, 8), b: f32(4, 16, [3]) }, d16),
      InputError,
      "tensor 'b' [4, 16] overlaps tensor 'a' [0, 8]",
    ],
    [
      rawFile({ a: f32(0, 4), b: f32(8, 16) }, d16),
      InputError,
      "data bytes [4, 8) before tensor 'b' belong to no tensor",
    ],
    [rawFile({ a: f32(0, 8) }, d16), InputError, "8 trailing data bytes after the last tensor"],
    [
      rawFile({ a: { dtype: "F8_E4M3", shape: [16], data_offsets: [0, 16] } }, d16),
      DTypeError,
      "tensor 'a': unknown dtype \"F8_E4M3\"",
    ],
    [
      rawFile({ a: f32(0, 16, [2, 3]) }, d16),
      ShapeError,
      "tensor 'a': shape [2, 3] of F32 needs 24 bytes but data_offsets [0, 16] hold 16",
    ],
    [
      rawFile({ a: { dtype: "F32", shape: [4], data_offsets: [16, 0] } }, d16),
      InputError,
      "tensor 'a': data_offsets [16,0] must be [begin, end]",
    ],
    [
      rawFile({ a: { dtype: "F32", shape: [-4], data_offsets: [0, 16] } }, d16),
      ShapeError,
      "tensor 'a': shape [-4] is not a list of sizes",
    ],
    [
      rawFile({ a: f32(0, 16), __metadata__: { n: 1 } }, d16),
      InputError,
      "__metadata__ must map strings to strings",
    ],
  ];
  for (const [bytes, cls, msg] of cases) {
    const e = assertThrows(() => readSafetensors(bytes, src), cls, msg);
    assert(e.message.startsWith("bad.safetensors: "), e.message);
  }
});

Deno.test("writeSafetensors rejects a reserved name and a shape that does not fit the data", () => {
  const t: HostTensor = { dtype: "f32", shape: [3], data: new Float32Array(2) };
  assertThrows(() => writeSafetensors({ w: t }), ShapeError, "tensor 'w': shape [3] needs 3");
  const ok: HostTensor = { dtype: "f32", shape: [2], data: new Float32Array(2) };
  assertThrows(() => writeSafetensors({ __metadata__: ok }), InputError, "reserved");
});

async function withFile<T>(bytes: Uint8Array, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "safetensors_test" });
  const path = `${dir}/m.safetensors`;
  await Deno.writeFile(path, bytes);
  try {
    return await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("loadSafetensors streams a path and a file: URL into Tensors, with progress", async () => {
  const rec = sample();
  const bytes = writeSafetensors(rec);
  await withFile(bytes, async (path) => {
    for (const src of [path, new URL(`file://${path}`)]) {
      const seen: number[] = [];
      const ts = await loadSafetensors(src, {
        onProgress: (n, total) => (assertEquals(total, bytes.length), seen.push(n)),
      });
      assertEquals(seen.at(-1), bytes.length);
      assert(seen.every((v, i) => i === 0 || v > seen[i - 1]), "progress increases");
      for (const [k, t] of Object.entries(rec)) {
        assertEquals(ts[k].shape, t.shape, k);
        assertEquals(ts[k].dtype, t.dtype, k);
        assertEquals(bytesOf(await ts[k].read()), bytesOf(t.data), k);
        ts[k].dispose();
      }
    }
    const only = await loadSafetensors(path, { filter: (n) => n === "ids" });
    assertEquals(Object.keys(only), ["ids"]);
    only.ids.dispose();
  });
});

Deno.test("loadSafetensors over HTTP (the browser's path) and its errors", async () => {
  const bytes = writeSafetensors(sample());
  const ac = new AbortController();
  const server = Deno.serve(
    { port: 0, signal: ac.signal, onListen: () => {} },
    (req) => {
      const p = new URL(req.url).pathname;
      if (p === "/m.safetensors") return new Response(bytes);
      if (p === "/cut.safetensors") {
        // streamed without a Content-Length: the truncation only shows while reading a tensor
        const cut = bytes.slice(0, bytes.length - 3);
        return new Response(ReadableStream.from([cut.subarray(0, 50), cut.subarray(50)]));
      }
      return new Response("nope", { status: 404, statusText: "Not Found" });
    },
  );
  const base = `http://localhost:${server.addr.port}`;
  try {
    let last = 0;
    const ts = await loadSafetensors(`${base}/m.safetensors`, { onProgress: (n) => (last = n) });
    assertEquals(last, bytes.length);
    assertEquals([...(await ts.ids.read())], [0, -1, 2 ** 31 - 1, -(2 ** 31)]);
    for (const t of Object.values(ts)) t.dispose();
    await assertRejects(
      () => loadSafetensors(`${base}/missing.safetensors`),
      InputError,
      `fetching '${base}/missing.safetensors' failed: HTTP 404 Not Found`,
    );
    const before = liveBuffers().count;
    await assertRejects(
      () => loadSafetensors(`${base}/cut.safetensors`),
      InputError,
      `${base}/cut.safetensors: truncated: tensor 'mask' needs data bytes`,
    );
    assertEquals(liveBuffers().count, before, "the four tensors read before 'mask' were disposed");
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("loadSafetensors: a truncated file names the file and tensor; a missing one", async () => {
  const bytes = writeSafetensors(sample());
  await withFile(bytes.subarray(0, bytes.length - 5), async (path) => {
    await assertRejects(
      () => loadSafetensors(path),
      InputError,
      `${path}: tensor 'u' data_offsets [46, 50] run past the end of the 49 data bytes`,
    );
  });
  await assertRejects(
    () => loadSafetensors("/nonexistent/x.safetensors"),
    InputError,
    "no such file",
  );
});

Deno.test("loaded tensors bind by name to dotted placeholders; runs match the reference", async () => {
  const r = rng(7);
  const w = randomArray([4, 8], "f32", r) as Float32Array;
  const b = randomArray([4], "f32", r) as Float32Array;
  const x = randomArray([3, 8], "f32", r) as Float32Array;
  const ph = (name: string, shape: number[]) => ({
    name,
    op: "placeholder",
    args: [],
    kwargs: {},
    meta: { shape, dtype: "f32" },
  });
  const graph = graphFromJSON({
    format: "webgpu-inductor.graph",
    version: 1,
    nodes: [
      ph("layers.0.fc.weight", [4, 8]),
      ph("layers.0.fc.bias", [4]),
      ph("x", [3, 8]),
      {
        name: "y",
        op: "call_function",
        target: "linear",
        args: [{ node: "x" }, { node: "layers.0.fc.weight" }, { node: "layers.0.fc.bias" }],
        kwargs: {},
      },
      { name: "z", op: "call_function", target: "relu", args: [{ node: "y" }], kwargs: {} },
      { name: "output", op: "output", args: [[{ node: "z" }]], kwargs: {} },
    ],
  });
  const bytes = writeSafetensors({
    "layers.0.fc.weight": { dtype: "f32", shape: [4, 8], data: w },
    "layers.0.fc.bias": { dtype: "f32", shape: [4], data: b },
  });
  await withFile(bytes, async (path) => {
    const params = await loadSafetensors(path);
    const [want] = interpret(graph, [w, b, x]);
    for (const mode of ["default", "eager"] as const) {
      const cg = compile(graph, { params, mode });
      assertEquals(cg.inputSpecs.map((s) => s.name), ["x"]);
      const [y] = await cg.run([x]);
      assertClose(y, want, LOOSE, `${mode}`);
      cg.dispose();
    }
    for (const t of Object.values(params)) t.dispose();
  });
});
