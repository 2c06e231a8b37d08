// The Llama model run vLLM-style (paged cache, token buckets, partitions at the attention op)
// against a float64 reference of HF's math, on tiny random models: prefill logits, step-by-step
// decode logits, greedy generation, f16 weights, and what crosses to the GPU per decode step.
import assert from "node:assert/strict";
import { LlamaModel, timeLlamaSteps } from "../src/mod.ts";
import type { HostWeight } from "../src/models/llama_weights.ts";
import { assertClose } from "./helpers.ts";
import { llamaReference, randomWeights, referenceGreedy, tinyConfig } from "./llama_reference.ts";

const TOL = { atol: 2e-4, rtol: 2e-4 };
const SEED = 7; // fixed weights: greedy comparisons must not hinge on a near-tie

/** Bytes a queue.writeBuffer call writes (offset and size count elements of a typed array). */
function writtenBytes(data: GPUAllowSharedBufferSource, offset = 0, size?: number): number {
  const el = ArrayBuffer.isView(data) ? (data as Uint8Array).BYTES_PER_ELEMENT ?? 1 : 1;
  const total = data.byteLength;
  return size !== undefined ? size * el : total - offset * el;
}

function prompt(n: number, vocab: number, seed = 3): number[] {
  return Array.from({ length: n }, (_, i) => (i * 17 + seed * 5 + 2) % vocab);
}

Deno.test("llama: prefill logits of every token match the float64 reference", async () => {
  const c = tinyConfig();
  const w = randomWeights(c, SEED);
  const m = await LlamaModel.create(c, w, { blockSize: 4, captureSizes: [1, 8, 32] });
  const big = await LlamaModel.create(c, w, { blockSize: 4, captureSizes: [1, 64] });
  try {
    const ids = prompt(21, c.vocabSize);
    const got = await m.forward(ids);
    assertClose(got, llamaReference(c, w, ids), TOL, "prefill logits");
    // a longer-than-bucket prompt is chunked (32 + 8) and still matches
    const long = prompt(40, c.vocabSize, 5);
    assertClose(await m.forward(long), llamaReference(c, w, long), TOL, "chunked prefill logits");
    // 60 tokens x 4 heads in the 64 bucket: the one-invocation-per-row attention kernel
    const many = prompt(60, c.vocabSize, 7);
    assertClose(await big.forward(many), llamaReference(c, w, many), TOL, "64-token bucket");
  } finally {
    await m.dispose();
    await big.dispose();
  }
});

Deno.test("llama: decode steps through the paged cache match the reference row by row", async () => {
  const c = tinyConfig({ numHeads: 6, numKvHeads: 2, hiddenSize: 36, headDim: 6, numLayers: 3 });
  const w = randomWeights(c, SEED + 1);
  const m = await LlamaModel.create(c, w, { blockSize: 2, captureSizes: [1, 4, 16] });
  try {
    const ids = prompt(13, c.vocabSize);
    const want = llamaReference(c, w, ids);
    const V = c.vocabSize;
    const first = await m.forward(ids.slice(0, 6));
    assertClose(first, want.slice(0, 6 * V), TOL, "prefill of 6");
    for (let i = 6; i < ids.length; i++) {
      const row = await m.forward([ids[i]], [i]);
      assertClose(row, want.slice(i * V, (i + 1) * V), TOL, `decode at position ${i}`);
    }
    await assert.rejects(() => m.forward([1], [3]), /positions must continue the sequence/);
  } finally {
    await m.dispose();
  }
});

Deno.test("llama: greedy generation equals the reference token for token", async () => {
  const c = tinyConfig({ tieWordEmbeddings: false });
  const w = randomWeights(c, SEED + 2);
  const m = await LlamaModel.create(c, w, { blockSize: 4, captureSizes: [1, 16] });
  try {
    const p = prompt(5, c.vocabSize);
    const want = referenceGreedy(c, w, p, 12);
    const got: number[] = [];
    for await (const t of m.generate(p, { maxTokens: 12, ignoreEos: true, logits: true })) {
      assertClose(t.logits!, want.logits[t.index], TOL, `logits of step ${t.index}`);
      got.push(t.id);
    }
    assert.deepEqual(got, want.ids);
    const r = m.lastGeneration!;
    assert.equal(r.finishReason, "length");
    assert.equal(r.decodeSteps, 11);
    assert.deepEqual(r.ids, want.ids);
    assert.equal(m.runner.cache.freeBlocks, m.runner.cache.opts.numBlocks, "blocks released");
  } finally {
    await m.dispose();
  }
});

Deno.test("llama: f16 weights match the reference on the f16-rounded weights", async () => {
  // adapters without shader-f16 (GL, SwiftShader) run it with f16 emulated in u32 words
  const c = tinyConfig();
  const w32 = randomWeights(c, SEED + 3);
  const half = (t: HostWeight) => ({ shape: t.shape, data: Float16Array.from(t.data) });
  const w16 = new Map([...w32].map(([n, t]) => [n, half(t)]));
  const m = await LlamaModel.create(c, w16, { blockSize: 4, captureSizes: [1, 16] });
  const m16 = await LlamaModel.create(c, w16, {
    blockSize: 4,
    captureSizes: [1, 16],
    cacheDtype: "f16",
  });
  try {
    assert.equal(m.weightDtype, "f16");
    const ids = prompt(9, c.vocabSize);
    const want = llamaReference(c, w16, ids);
    // f16 weights, f32 activations and cache: as tight as f32
    assertClose(await m.forward(ids), want, TOL, "f16 weights");
    // an f16 cache rounds keys and values: a little looser
    assertClose(await m16.forward(ids), want, { atol: 3e-2, rtol: 1e-2 }, "f16 cache");
  } finally {
    await m.dispose();
    await m16.dispose();
  }
});

Deno.test("llama: the decode graph splits at each attention; partitions replayed", async () => {
  const c = tinyConfig({ numLayers: 3 });
  const m = await LlamaModel.create(c, randomWeights(c, SEED), { captureSizes: [1, 8] });
  try {
    const s = m.decodeStats;
    // replayed pieces: before layer 0's attention, between attentions, after the last
    assert.equal(s.partitions, 2 * c.numLayers + 1);
    assert.equal(s.replayablePartitions, c.numLayers + 1);
    assert.equal(m.runner.graph(1).stats.hostOps, 0);
  } finally {
    await m.dispose();
  }
});

Deno.test("llama: a decode step uploads only ids, positions, slot mapping and lengths", async () => {
  const c = tinyConfig();
  const m = await LlamaModel.create(c, randomWeights(c, SEED), {
    blockSize: 8,
    captureSizes: [1, 8],
  });
  const proto = GPUQueue.prototype;
  const orig = proto.writeBuffer;
  let bytes = 0, calls = 0;
  try {
    await m.forward(prompt(5, c.vocabSize)); // prefill; block 0 holds positions 0..7
    await m.forward([3], [5]); // warm: the decode graph is prepared, its uploads exist
    proto.writeBuffer = function (this: GPUQueue, ...args: Parameters<GPUQueue["writeBuffer"]>) {
      bytes += writtenBytes(args[2], args[3], args[4]);
      calls++;
      return orig.apply(this, args);
    } as GPUQueue["writeBuffer"];
    await m.forward([4], [6]);
    proto.writeBuffer = orig;
    // ids, positions, slot mapping: 1 token each; seq lens: 1 sequence (4 bytes each)
    const limit = 4 * (1 + 1 + 1 + 1);
    assert.ok(bytes <= limit, `decode step wrote ${bytes} bytes in ${calls} writes (≤ ${limit})`);
    assert.ok(bytes > 0, "the step's inputs are uploaded");
    assert.equal(m.runner.lastMetadataBytes, 0, "block table unchanged inside a block");
  } finally {
    proto.writeBuffer = orig;
    await m.dispose();
  }
});

Deno.test("llama: running past the cache's capacity is an error, not an overwrite", async () => {
  const c = tinyConfig();
  const m = await LlamaModel.create(c, randomWeights(c, SEED), {
    blockSize: 4,
    numBlocks: 3,
    maxModelLen: 32,
    captureSizes: [1, 16],
  });
  try {
    await m.forward(prompt(12, c.vocabSize)); // 3 blocks of 4: full
    await assert.rejects(
      () => m.forward([1], [12]),
      /KV cache is full: sequence 0 needs 1 more block/,
    );
    // the refused step changed nothing: the sequence still decodes from where it was
    assert.equal(m.runner.cache.length(0), 12);
    await assert.rejects(
      () => m.forward(prompt(33, c.vocabSize)),
      /would be 33 tokens long, past the context of 32/,
    );
  } finally {
    await m.dispose();
  }
});

Deno.test("llama: two sequences batched in one step (prefill, then decode together)", async () => {
  const c = tinyConfig();
  const w = randomWeights(c, SEED + 4);
  const m = await LlamaModel.create(c, w, {
    blockSize: 4,
    maxNumSeqs: 2,
    captureSizes: [2, 16],
  });
  try {
    const a = prompt(7, c.vocabSize, 1), b = prompt(4, c.vocabSize, 2);
    const V = c.vocabSize;
    const last = (ids: number[]) => {
      const all = llamaReference(c, w, ids);
      return all.slice((ids.length - 1) * V, ids.length * V);
    };
    const r = m.runner;
    const first = await r.step([{ seq: 10, tokens: a }, { seq: 11, tokens: b }]);
    assertClose(first.slice(0, V), last(a), TOL, "sequence a after prefill");
    assertClose(first.slice(V), last(b), TOL, "sequence b after prefill");
    // decode: b first this time (rows follow the request order), 2 tokens in the bucket of 2
    const next = await r.step([{ seq: 11, tokens: [9] }, { seq: 10, tokens: [8] }]);
    assertClose(next.slice(0, V), last([...b, 9]), TOL, "sequence b decode");
    assertClose(next.slice(V), last([...a, 8]), TOL, "sequence a decode");
    // blocks are not shared: a's 8 tokens use 2 blocks, b's 5 use 2
    assert.deepEqual([r.cache.blocks(10).length, r.cache.blocks(11).length], [2, 2]);
    assert.equal(
      new Set([...r.cache.blocks(10), ...r.cache.blocks(11)]).size,
      4,
      "no block is in two tables",
    );
  } finally {
    await m.dispose();
  }
});

Deno.test("llama: step timings for benchmarks (prefill and decode, host and device)", async () => {
  const c = tinyConfig();
  const m = await LlamaModel.create(c, randomWeights(c, SEED), { captureSizes: [1, 16] });
  try {
    const t = await timeLlamaSteps(m, {
      prefillTokens: 12,
      decodeSteps: 3,
      repeats: 2,
      replays: 3,
    });
    assert.equal(t.prefillBucket, 16);
    for (const k of ["prefillMs", "decodeMs", "prefillDeviceMs", "decodeDeviceMs"] as const) {
      assert.ok(t[k] > 0 && Number.isFinite(t[k]), `${k} = ${t[k]}`);
    }
    assert.equal(t.kernelsPerDecodeStep, m.decodeStats.kernels);
    assert.equal(m.runner.cache.freeBlocks, m.runner.cache.opts.numBlocks, "scratch released");
    // the model still matches the reference afterwards (replays wrote only the scratch blocks)
    const ids = prompt(6, c.vocabSize);
    assertClose(await m.forward(ids), llamaReference(c, randomWeights(c, SEED), ids), TOL, "after");
  } finally {
    await m.dispose();
  }
});

Deno.test("llama: compileMode 'eager' (the bench's ours-eager) matches the reference", async () => {
  const c = tinyConfig();
  const w = randomWeights(c, SEED);
  const fused = await LlamaModel.create(c, w, { captureSizes: [1, 8] });
  const eager = await LlamaModel.create(c, w, { captureSizes: [1, 8], compileMode: "eager" });
  try {
    const ids = prompt(7, c.vocabSize);
    assertClose(await eager.forward(ids), llamaReference(c, w, ids), TOL, "eager prefill logits");
    assert.equal(eager.runner.graph(1).mode, "eager");
    // one kernel per op: more launches than the fused decode step
    assert.ok(
      eager.decodeStats.kernels > fused.decodeStats.kernels,
      `eager ${eager.decodeStats.kernels} vs fused ${fused.decodeStats.kernels} kernels`,
    );
  } finally {
    await fused.dispose();
    await eager.dispose();
  }
});
