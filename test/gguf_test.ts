// readGGUF against files written by llama.cpp's own gguf-py (test/fixtures/gguf, values from
// gguf-py's dequantizer) and llama.cpp's vocab files; writeGGUF round trips; every malformed
// input fails with an InputError naming the field, key or tensor.
import assert from "node:assert/strict";
import { InputError } from "../src/errors.ts";
import { readGGUF } from "../src/io/gguf.ts";
import { halfToFloat } from "../src/io/gguf_dequant.ts";
import { floatToHalf, writeGGUF } from "../src/io/gguf_write.ts";

const here = new URL("./fixtures/", import.meta.url);
const referenceBytes = Deno.readFileSync(new URL("gguf/reference.gguf", here));
const referenceValues: Record<string, { shape: number[]; values: (number | string)[] }> = JSON
  .parse(Deno.readTextFileSync(new URL("gguf/reference.json", here)));

function num(v: number | string): number {
  return v === "nan" ? NaN : v === "inf" ? Infinity : v === "-inf" ? -Infinity : (v as number);
}

function throwsInput(f: () => unknown, ...needles: (string | RegExp)[]): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${e}`);
    for (const n of needles) {
      if (typeof n === "string") assert.ok(e.message.includes(n), `'${e.message}' lacks '${n}'`);
      else assert.match(e.message, n);
    }
    return true;
  });
}

function indexOfBytes(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error("needle not found");
}

/** Offset just past the GGUF string `s` (u64 length + bytes) in `b`. */
function afterString(b: Uint8Array, s: string): number {
  const enc = new TextEncoder().encode(s);
  return indexOfBytes(b, enc) + enc.length;
}

Deno.test("gguf-py reference file: metadata of every value type", () => {
  const g = readGGUF(referenceBytes);
  assert.equal(g.version, 3);
  assert.equal(g.alignment, 64);
  assert.equal(g.dataOffset % 64, 0);
  const md = g.metadata;
  assert.equal(md["general.architecture"], "testarch");
  assert.equal(md["t.u8"], 250);
  assert.equal(md["t.i8"], -7);
  assert.equal(md["t.u16"], 65000);
  assert.equal(md["t.i16"], -32000);
  assert.equal(md["t.u32"], 4000000000);
  assert.equal(md["t.i32"], -2000000000);
  assert.equal(md["t.f32"], 0.15625);
  assert.equal(md["t.bool"], true);
  assert.equal(md["t.string"], "héllo ▁ wörld 🚀");
  assert.equal(md["t.u64_small"], 123456789012); // fits 2^53: a number
  assert.equal(md["t.u64_big"], 2n ** 63n + 5n); // does not: a bigint
  assert.equal(md["t.i64_neg"], -(2n ** 60n) - 3n);
  assert.equal(md["t.f64"], Math.PI);
  assert.deepEqual(md["t.arr_i32"], [1, -2, 3]);
  assert.deepEqual(md["t.arr_str"], ["a", "bé", ""]);
  assert.deepEqual(md["t.arr_f32"], [0.5, -1.25]);
  assert.deepEqual(md["t.arr_nested"], [[1, 2], [3]]);
  assert.equal(g.metadataTypes["t.u64_big"], "u64");
  assert.equal(g.metadataTypes["t.arr_nested"], "array<array<i32>>");
  assert.equal(g.metadataTypes["t.arr_str"], "array<string>");
});

Deno.test("gguf-py reference file: tensors match gguf-py's dequantization exactly", () => {
  const g = readGGUF(referenceBytes);
  assert.deepEqual(g.tensors.map((t) => t.name).sort(), Object.keys(referenceValues).sort());
  const types: Record<string, string> = {
    f32: "F32",
    f16: "F16",
    bf16: "BF16",
    q8_0: "Q8_0",
    q4_0: "Q4_0",
    q4_1: "Q4_1",
    i8: "I8",
    i16: "I16",
    i32: "I32",
    f64: "F64",
  };
  for (const t of g.tensors) {
    const ref = referenceValues[t.name];
    assert.equal(t.type, types[t.name]);
    assert.deepEqual(t.shape, ref.shape, `${t.name} shape (torch order)`);
    assert.deepEqual(t.dims, [...ref.shape].reverse(), `${t.name} dims (GGUF order)`);
    assert.equal(t.numel, ref.values.length);
    assert.equal(t.byteOffset % 64, 0);
    const got = t.toFloat32();
    ref.values.forEach((v, i) =>
      assert.ok(Object.is(got[i], num(v)), `${t.name}[${i}]: ${got[i]} vs ${v}`)
    );
  }
  const f16 = g.tensor("f16").toFloat32();
  assert.deepEqual([...f16.slice(0, 4)], [Infinity, -Infinity, 2 ** -24, -0]);
  assert.equal(g.tensor("q8_0").bytes().length, 4 * 34); // 128 elements = 4 blocks
});

Deno.test("writeGGUF reproduces the gguf-py file byte for byte", () => {
  const g = readGGUF(referenceBytes);
  const out = writeGGUF(
    g.metadata,
    g.tensors.map((t) => ({ name: t.name, shape: t.shape, type: t.type, data: t.bytes() })),
    { types: g.metadataTypes },
  );
  assert.equal(out.length, referenceBytes.length);
  assert.deepEqual(out, referenceBytes);
});

Deno.test("writeGGUF -> readGGUF round trip: inferred types, default alignment, encodings", () => {
  const x = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i * 0.7) * (i % 5 === 0 ? 40 : 1));
  const bytes = writeGGUF(
    {
      "general.name": "rt",
      count: 7,
      neg: -3,
      ratio: 0.25,
      big: 2n ** 64n - 1n,
      flag: false,
      words: ["x", "yz"],
      ints: [1, -5, 70000],
      floats: [0.5, 1],
      nested: [["a"], ["b", "c"]],
      small: 9,
    },
    [
      { name: "w.f32", shape: [2, 32], type: "F32", data: x },
      { name: "w.f16", shape: [64], type: "F16", data: x },
      { name: "w.bf16", shape: [4, 16], type: "BF16", data: x },
      { name: "w.q8", shape: [2, 32], type: "Q8_0", data: x },
    ],
    { types: { small: "u8" } },
  );
  const g = readGGUF(bytes);
  assert.equal(g.alignment, 32);
  assert.equal(g.dataOffset % 32, 0);
  assert.deepEqual(g.metadataTypes, {
    "general.name": "string",
    count: "u32",
    neg: "i32",
    ratio: "f32",
    big: "u64",
    flag: "bool",
    words: "array<string>",
    ints: "array<i32>",
    floats: "array<f32>",
    nested: "array<array<string>>",
    small: "u8",
  });
  assert.equal(g.metadata.big, 2n ** 64n - 1n);
  assert.deepEqual(g.metadata.nested, [["a"], ["b", "c"]]);
  assert.deepEqual(g.tensor("w.f32").toFloat32(), x);
  assert.deepEqual(g.tensor("w.f32").shape, [2, 32]);
  assert.deepEqual(g.tensor("w.f32").dims, [32, 2]);
  for (const t of g.tensors) assert.equal(t.byteOffset % 32, 0);
  // f16 keeps 11 significant bits, bf16 8: relative error at most 2^-11 and 2^-8
  const f16 = g.tensor("w.f16").toFloat32();
  const bf16 = g.tensor("w.bf16").toFloat32();
  x.forEach((v, i) => {
    assert.ok(Math.abs(f16[i] - v) <= Math.abs(v) * 2 ** -11, `f16[${i}]`);
    assert.ok(Math.abs(bf16[i] - v) <= Math.abs(v) * 2 ** -8, `bf16[${i}]`);
  });
  // Q8_0: per 32-block scale d = max|x|/127 (stored as f16), error at most d/2 plus the scale's rounding
  const q = g.tensor("w.q8").toFloat32();
  for (let b = 0; b < 2; b++) {
    const blk = x.slice(b * 32, b * 32 + 32);
    const amax = Math.max(...blk.map(Math.abs));
    const d = amax / 127;
    blk.forEach((v, j) => {
      assert.ok(Math.abs(q[b * 32 + j] - v) <= d / 2 + amax * 2 ** -11, `q8[${b * 32 + j}]`);
    });
  }
});

Deno.test("half conversions: exact round trip of every finite half", () => {
  for (let h = 0; h < 0x10000; h++) {
    const f = halfToFloat(h);
    if (Number.isNaN(f)) continue;
    assert.equal(floatToHalf(f), h, `half 0x${h.toString(16)}`);
  }
  assert.equal(floatToHalf(65520), 0x7c00); // rounds up to +inf
  assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00); // tie to even
});

Deno.test("llama.cpp vocab files read: no tensors, token arrays of the declared size", () => {
  const cases: Array<[string, number]> = [["llama-spm", 32000], ["gpt-2", 50257], [
    "llama-bpe",
    128256,
  ]];
  for (const [name, n] of cases) {
    const g = readGGUF(Deno.readFileSync(new URL(`llama.cpp/ggml-vocab-${name}.gguf`, here)));
    assert.equal(g.version, 3);
    assert.equal(g.tensors.length, 0);
    assert.equal((g.metadata["tokenizer.ggml.tokens"] as string[]).length, n);
    assert.equal(g.metadataTypes["tokenizer.ggml.token_type"], "array<i32>");
    assert.equal(g.metadata["general.name"], name);
  }
});

// ---- malformed files --------------------------------------------------------------------------

function sample(): Uint8Array {
  return writeGGUF({ "general.name": "bad", "k.str": "hello", "k.arr": [1, 2, 3] }, [
    { name: "tensor.a", shape: [2, 32], type: "Q8_0", data: new Float32Array(64) },
  ]);
}

Deno.test("errors: magic, version, input type", () => {
  const b = sample();
  const wrong = b.slice();
  wrong.set([0x47, 0x47, 0x4d, 0x4c]); // "GGML": an older format
  throwsInput(() => readGGUF(wrong), "47 47 4d 4c", '"GGML"', "expected 47 47 55 46");
  throwsInput(() => readGGUF(new Uint8Array([0x47, 0x47])), "truncated", "magic");
  for (const [v, hint] of [[1, "v1"], [4, "supported: 2, 3"]] as const) {
    const c = b.slice();
    new DataView(c.buffer).setUint32(4, v, true);
    throwsInput(() => readGGUF(c), `unsupported GGUF version ${v}`, hint);
  }
  const be = b.slice();
  new DataView(be.buffer).setUint32(4, 3, false);
  throwsInput(() => readGGUF(be), "big-endian");
  throwsInput(() => readGGUF("GGUF" as unknown as Uint8Array), "Uint8Array");
});

Deno.test("errors: truncation names the field and offsets", () => {
  const b = sample();
  throwsInput(() => readGGUF(b.slice(0, 10)), "truncated", "tensor count", "offset 8");
  const inStr = afterString(b, "k.str") + 6; // inside the value's string length / bytes
  throwsInput(() => readGGUF(b.slice(0, inStr)), "metadata 'k.str'");
  throwsInput(() => readGGUF(b.slice(0, afterString(b, "tensor.a") + 2)), "tensor 'tensor.a'");
  // data section cut: the tensor's 68 bytes (2 Q8_0 blocks, padded to 96) run past the end
  throwsInput(() => readGGUF(b.slice(0, b.length - 40)), "tensor 'tensor.a'", "Q8_0", "truncated");
});

Deno.test("errors: unknown value type, absurd lengths, unknown tensor types", () => {
  const b = sample();
  const vt = b.slice();
  const at = afterString(vt, "k.str"); // the value type u32 follows the key
  new DataView(vt.buffer).setUint32(at, 13, true);
  throwsInput(() => readGGUF(vt), "unknown metadata value type id 13", "'k.str'");

  const sl = b.slice();
  new DataView(sl.buffer).setBigUint64(afterString(sl, "k.str") + 4, 2n ** 40n, true);
  throwsInput(() => readGGUF(sl), "'k.str'", "string length 1099511627776");

  const al = b.slice();
  new DataView(al.buffer).setBigUint64(afterString(al, "k.arr") + 8, 2n ** 50n, true);
  throwsInput(() => readGGUF(al), "'k.arr'", "array length");

  const tt = b.slice();
  const typeAt = afterString(tt, "tensor.a") + 4 + 2 * 8;
  new DataView(tt.buffer).setUint32(typeAt, 99, true);
  throwsInput(() => readGGUF(tt), "tensor 'tensor.a'", "unknown ggml type id 99");

  const k4 = b.slice();
  new DataView(k4.buffer).setUint32(typeAt, 12, true); // Q4_K: known, size computable, no converter
  throwsInput(() => readGGUF(k4), "'tensor.a'", "256"); // 32 is not a multiple of Q4_K's block
});

Deno.test("errors: alignment, offsets, duplicates, dims", () => {
  throwsInput(() => readGGUF(writeGGUF({ "general.alignment": 48 })), "not a power of two");
  throwsInput(
    () =>
      readGGUF(
        writeGGUF({ "general.alignment": 32 }, [], { types: { "general.alignment": "u64" } }),
      ),
    "'general.alignment' must be a u32",
  );
  const b = sample();
  const off = b.slice();
  new DataView(off.buffer).setBigUint64(afterString(off, "tensor.a") + 4 + 2 * 8 + 4, 8n, true);
  throwsInput(() => readGGUF(off), "tensor 'tensor.a' data offset 8", "alignment 32");
  const far = b.slice();
  new DataView(far.buffer).setBigUint64(afterString(far, "tensor.a") + 4 + 2 * 8 + 4, 1024n, true);
  throwsInput(() => readGGUF(far), "tensor 'tensor.a'", "data offset 1024");

  const dup = writeGGUF({ "k.x": 1, "k.y": 2 });
  dup.set(new TextEncoder().encode("k.x"), afterString(dup, "k.y") - 3);
  throwsInput(() => readGGUF(dup), "'k.x' appears twice");
  const t2 = writeGGUF({}, [
    { name: "aa", shape: [1], type: "F32", data: new Float32Array(1) },
    { name: "ab", shape: [1], type: "F32", data: new Float32Array(1) },
  ]);
  t2.set(new TextEncoder().encode("aa"), afterString(t2, "ab") - 2);
  throwsInput(() => readGGUF(t2), "tensor name 'aa' appears twice");

  const five = writeGGUF({}, [{
    name: "t5",
    shape: [1, 1, 1, 1],
    type: "F32",
    data: new Float32Array(1),
  }]);
  new DataView(five.buffer).setUint32(afterString(five, "t5"), 5, true);
  throwsInput(() => readGGUF(five), "'t5' has 5 dimensions");

  const g = readGGUF(sample());
  throwsInput(() => g.tensor("nope"), "no tensor 'nope'", "tensor.a");
});

Deno.test("known but unconverted types: raw bytes available, toFloat32 names the type", () => {
  const raw = new Uint8Array(144).map((_, i) => i);
  const g = readGGUF(writeGGUF({}, [{ name: "blk.q4k", shape: [256], type: "Q4_K", data: raw }]));
  const t = g.tensor("blk.q4k");
  assert.equal(t.type, "Q4_K");
  assert.equal(t.typeId, 12);
  assert.deepEqual(t.bytes(), raw);
  throwsInput(() => t.toFloat32(), "'blk.q4k'", "Q4_K (id 12)", "bytes()");
});

Deno.test("writeGGUF rejects bad input with named errors", () => {
  throwsInput(
    () => writeGGUF({}, [{ name: "w", shape: [3], type: "F32", data: new Float32Array(2) }]),
    "'w'",
    "3 elements",
  );
  throwsInput(
    () => writeGGUF({}, [{ name: "w", shape: [32], type: "Q4_K", data: new Float32Array(32) }]),
    "'w'",
  );
  throwsInput(
    () => writeGGUF({}, [{ name: "w", shape: [1], type: "F8", data: new Float32Array(1) }]),
    "unknown ggml type F8",
  );
  throwsInput(() => writeGGUF({ k: "s" }, [], { types: { k: "u32" } }), "'k'", "not a u32");
  throwsInput(() => writeGGUF({ k: [1, "a"] }), "'k'", "mixes");
});

Deno.test("a metadata key named __proto__ stays an ordinary entry", () => {
  const md = {};
  Object.defineProperty(md, "__proto__", { value: "x", enumerable: true });
  const g = readGGUF(writeGGUF(md));
  assert.ok(Object.hasOwn(g.metadata, "__proto__"));
  assert.equal(Object.getOwnPropertyDescriptor(g.metadata, "__proto__")?.value, "x");
  assert.equal(Object.getPrototypeOf(g.metadata), Object.prototype);
});

Deno.test("strings: a leading U+FEFF survives, surrogate pairs split right, bad UTF-8 is named", () => {
  const long = "\uFEFF" + "x".repeat(100);
  const arr = ["\uFEFF", "b", "🚀c", "", "ü", long];
  const g = readGGUF(writeGGUF({ s: "\uFEFFa", l: long, arr }));
  assert.equal(g.metadata.s, "\uFEFFa");
  assert.equal(g.metadata.l, long);
  assert.deepEqual(g.metadata.arr, arr);
  const bad = writeGGUF({ arr: ["ok", "zz"] });
  bad[indexOfBytes(bad, new TextEncoder().encode("zz"))] = 0xff;
  throwsInput(() => readGGUF(bad), "'arr'[1]", "not valid UTF-8");
});
