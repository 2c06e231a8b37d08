// vllm::reshape_and_cache_flash + the paged form of vllm::unified_attention_with_output on WebGPU:
// a batch of sequences (decode, prefill and a continued prefill in one step, padding tokens at
// the end), grouped-query heads, block tables in shuffled order. Checked against the float64
// reference of the same graph and against an independent oracle: the dense attention op's
// reference on each sequence's keys and values gathered in position order.
import assert from "node:assert/strict";
import {
  ATTENTION_OP,
  compile,
  type DType,
  getDevice,
  interpret,
  ops,
  registerCustomOp,
  RESHAPE_AND_CACHE_OP,
  tensor,
} from "../src/mod.ts";
import { getOp } from "../src/fx/registry.ts";
import type { RefTensor } from "../src/reference/tensor.ts";
import { assertClose, freshSeed, randomArray, rng } from "./helpers.ts";

interface Case {
  name: string;
  Hq: number;
  Hkv: number;
  D: number;
  blockSize: number;
  blocks: number;
  /** Per sequence: context length after this step and query tokens in this step. */
  seqs: { ctx: number; q: number }[];
  /** Token bucket (≥ the sum of query tokens; the rest is padding). */
  T: number;
  dtype: DType;
  cacheDtype?: DType;
}

const CASES: Case[] = [
  {
    name: "GQA 6/2, head 40, 3 seqs (chunk, new, decode), padding",
    Hq: 6,
    Hkv: 2,
    D: 40,
    blockSize: 4,
    blocks: 16,
    seqs: [{ ctx: 9, q: 3 }, { ctx: 1, q: 1 }, { ctx: 13, q: 1 }],
    T: 8,
    dtype: "f32",
  },
  {
    name: "MHA 2/2, head 64, one long prefill over many tiles",
    Hq: 2,
    Hkv: 2,
    D: 64,
    blockSize: 16,
    blocks: 12,
    seqs: [{ ctx: 150, q: 150 }],
    T: 160,
    dtype: "f32",
  },
  {
    name: "GQA 6/2, head 40, 3 seqs in a 64-token bucket (one invocation per row)",
    Hq: 6,
    Hkv: 2,
    D: 40,
    blockSize: 8,
    blocks: 24,
    seqs: [{ ctx: 70, q: 30 }, { ctx: 20, q: 20 }, { ctx: 41, q: 1 }],
    T: 64,
    dtype: "f32",
  },
  {
    name: "f16 everything, 48 rows × 8 heads (rows kernel, packed output when emulated)",
    Hq: 8,
    Hkv: 4,
    D: 16,
    blockSize: 4,
    blocks: 20,
    seqs: [{ ctx: 40, q: 30 }, { ctx: 9, q: 9 }],
    T: 48,
    dtype: "f16",
  },
  {
    name: "GQA 4/1, head 128 (two dims per invocation), decode of 2 seqs",
    Hq: 4,
    Hkv: 1,
    D: 128,
    blockSize: 8,
    blocks: 20,
    seqs: [{ ctx: 70, q: 1 }, { ctx: 33, q: 1 }],
    T: 2,
    dtype: "f32",
  },
  {
    name: "f16 activations and cache, GQA 4/2",
    Hq: 4,
    Hkv: 2,
    D: 32,
    blockSize: 4,
    blocks: 10,
    seqs: [{ ctx: 11, q: 4 }, { ctx: 6, q: 1 }],
    T: 8,
    dtype: "f16",
  },
  {
    name: "f32 activations, f16 cache",
    Hq: 2,
    Hkv: 1,
    D: 16,
    blockSize: 4,
    blocks: 6,
    seqs: [{ ctx: 10, q: 2 }],
    T: 2,
    dtype: "f32",
    cacheDtype: "f16",
  },
];

/** The step's inputs: block tables drawn from a shuffled block list, slots for the query tokens,
 * and the cache pre-filled (older context) with random values. */
function setup(c: Case, r: () => number) {
  const S = c.seqs.length;
  const maxBlocks = Math.max(...c.seqs.map((s) => Math.ceil(s.ctx / c.blockSize)));
  const order = [...Array(c.blocks).keys()];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const bt = new Int32Array(S * maxBlocks);
  let next = 0;
  c.seqs.forEach((s, i) => {
    for (let b = 0; b < Math.ceil(s.ctx / c.blockSize); b++) bt[i * maxBlocks + b] = order[next++];
  });
  const sl = Int32Array.from(c.seqs.map((s) => s.ctx));
  const qsl = new Int32Array(S + 1);
  c.seqs.forEach((s, i) => (qsl[i + 1] = qsl[i] + s.q));
  const sm = new Int32Array(c.T).fill(-1);
  c.seqs.forEach((s, i) => {
    for (let k = 0; k < s.q; k++) {
      const pos = s.ctx - s.q + k;
      sm[qsl[i] + k] = bt[i * maxBlocks + Math.floor(pos / c.blockSize)] * c.blockSize +
        (pos % c.blockSize);
    }
  });
  const cd = c.cacheDtype ?? c.dtype;
  const cacheShape = [c.blocks, c.blockSize, c.Hkv, c.D];
  return {
    S,
    maxBlocks,
    bt,
    sl,
    qsl,
    sm,
    q: randomArray([c.T, c.Hq, c.D], c.dtype, r),
    k: randomArray([c.T, c.Hkv, c.D], c.dtype, r),
    v: randomArray([c.T, c.Hkv, c.D], c.dtype, r),
    kc: randomArray(cacheShape, cd, r),
    vc: randomArray(cacheShape, cd, r),
  };
}

function stepGraph(c: Case, S: number, maxBlocks: number) {
  const cd = c.cacheDtype ?? c.dtype;
  const cacheShape = [c.blocks, c.blockSize, c.Hkv, c.D];
  return compile((q, k, v, kc, vc, sm, bt, sl, qsl) => {
    ops.call(RESHAPE_AND_CACHE_OP, [k, v, kc, vc, sm]);
    const out = ops.empty([c.T, c.Hq, c.D], c.dtype);
    ops.call(ATTENTION_OP, [q, k, v, out, kc, vc, bt, sl, qsl]);
    return out;
  }, {
    inputs: [
      { name: "q", shape: [c.T, c.Hq, c.D], dtype: c.dtype },
      { name: "k", shape: [c.T, c.Hkv, c.D], dtype: c.dtype },
      { name: "v", shape: [c.T, c.Hkv, c.D], dtype: c.dtype },
      { name: "key_cache", shape: cacheShape, dtype: cd },
      { name: "value_cache", shape: cacheShape, dtype: cd },
      { name: "slot_mapping", shape: [c.T], dtype: "i32" },
      { name: "block_table", shape: [S, maxBlocks], dtype: "i32" },
      { name: "seq_lens", shape: [S], dtype: "i32" },
      { name: "query_start_loc", shape: [S + 1], dtype: "i32" },
    ],
    config: { "inductor.customShouldPartitionOps": [ATTENTION_OP] },
  });
}

/** The oracle: per sequence and head, gather K/V in position order from the (updated) cache and
 * run the dense op's reference with the query rows placed at their positions. */
function oracle(
  c: Case,
  d: ReturnType<typeof setup>,
  kc: ArrayLike<number>,
  vc: ArrayLike<number>,
) {
  const dense = getOp(ATTENTION_OP);
  const out = new Float64Array(c.T * c.Hq * c.D);
  const rep = c.Hq / c.Hkv;
  c.seqs.forEach((s, i) => {
    const L = s.ctx, D = c.D;
    for (let h = 0; h < c.Hq; h++) {
      const kvh = Math.floor(h / rep);
      const Q = new Float64Array(L * D), K = new Float64Array(L * D), V = new Float64Array(L * D);
      for (let p = 0; p < L; p++) {
        const slot = d.bt[i * d.maxBlocks + Math.floor(p / c.blockSize)] * c.blockSize +
          (p % c.blockSize);
        for (let e = 0; e < D; e++) {
          K[p * D + e] = kc[(slot * c.Hkv + kvh) * D + e];
          V[p * D + e] = vc[(slot * c.Hkv + kvh) * D + e];
        }
      }
      for (let k = 0; k < s.q; k++) {
        const t = d.qsl[i] + k, p = L - s.q + k;
        for (let e = 0; e < D; e++) Q[p * D + e] = d.q[(t * c.Hq + h) * D + e];
      }
      const ref = (data: Float64Array): RefTensor => ({ shape: [L, D], dtype: "f32", data });
      const O = ref(new Float64Array(L * D));
      dense.reference([ref(Q), ref(K), ref(V), O], { scale: null, causal: true }, null);
      for (let k = 0; k < s.q; k++) {
        const t = d.qsl[i] + k, p = L - s.q + k;
        for (let e = 0; e < D; e++) out[(t * c.Hq + h) * D + e] = O.data[p * D + e];
      }
    }
  });
  return out;
}

for (const c of CASES) {
  Deno.test(`paged attention: ${c.name}`, async () => {
    const seed = freshSeed();
    const d = setup(c, rng(seed));
    const cg = stepGraph(c, d.S, d.maxBlocks);
    try {
      assert.equal(cg.stats.hostOps, 0, "both ops run on the GPU");
      assert.equal(cg.stats.partitions, 2, "the graph splits at the attention op");
      const inputs = [d.q, d.k, d.v, d.kc, d.vc, d.sm, d.bt, d.sl, d.qsl];
      const want = interpret(cg.graph, inputs.map((a) => a.slice()))[0];
      const kc = d.kc.slice(), vc = d.vc.slice();
      const [got] = await cg.run([d.q, d.k, d.v, kc, vc, d.sm, d.bt, d.sl, d.qsl], {
        poison: true,
      });
      const f16 = c.dtype === "f16" || c.cacheDtype === "f16";
      const tol = f16 ? { atol: 4e-3, rtol: 4e-3 } : { atol: 2e-5, rtol: 2e-4 };
      assertClose(got, want, tol, `paged attention vs reference (seed ${seed})`);
      // the cache write: step tokens at their slots (cast to the cache dtype), the rest untouched
      const kcWant = d.kc.slice(), vcWant = d.vc.slice();
      const row = c.Hkv * c.D;
      d.sm.forEach((slot, t) => {
        if (slot < 0) return;
        for (let e = 0; e < row; e++) {
          kcWant[slot * row + e] = d.k[t * row + e];
          vcWant[slot * row + e] = d.v[t * row + e];
        }
      });
      assert.deepEqual(kc, kcWant, "key cache after the step");
      assert.deepEqual(vc, vcWant, "value cache after the step");
      // padding tokens are zeros; the rest agree with the dense oracle
      const o = oracle(c, d, kcWant, vcWant);
      assertClose(got, o, tol, `paged attention vs dense oracle (seed ${seed})`);
      // the reference is rounded to the output dtype once
      const round = c.dtype === "f16" ? { atol: 1e-3, rtol: 1e-3 } : { atol: 1e-7, rtol: 1e-6 };
      assertClose(want, o, round, `reference vs oracle (seed ${seed})`);
    } finally {
      await cg.disposeAsync();
    }
  });
}

Deno.test("paged attention: the cache is the caller's tensor, written in place across steps", async () => {
  // prefill 5 tokens, then decode 2 single tokens, with the caches as device tensors
  const c: Case = {
    name: "steps",
    Hq: 4,
    Hkv: 2,
    D: 8,
    blockSize: 2,
    blocks: 8,
    seqs: [{ ctx: 5, q: 5 }],
    T: 8,
    dtype: "f32",
  };
  const seed = freshSeed();
  const r = rng(seed);
  await getDevice();
  const cacheShape = [c.blocks, c.blockSize, c.Hkv, c.D];
  const kcT = tensor(new Float32Array(c.blocks * c.blockSize * c.Hkv * c.D), cacheShape);
  const vcT = tensor(new Float32Array(c.blocks * c.blockSize * c.Hkv * c.D), cacheShape);
  const bt = Int32Array.from([6, 1, 3, 0]); // 4 blocks of 2: room for 8 tokens, out of order
  const slotOf = (p: number) => bt[Math.floor(p / 2)] * 2 + (p % 2);
  const prefill = stepGraph(c, 1, 4);
  const decode = stepGraph({ ...c, T: 1 }, 1, 4);
  const allQ: Float32Array[] = [], allK: Float32Array[] = [], allV: Float32Array[] = [];
  try {
    const steps = [5, 1, 1];
    let ctx = 0;
    for (const n of steps) {
      const g = n === 5 ? prefill : decode;
      const T = n === 5 ? c.T : 1;
      const q = randomArray([T, c.Hq, c.D], "f32", r) as Float32Array;
      const k = randomArray([T, c.Hkv, c.D], "f32", r) as Float32Array;
      const v = randomArray([T, c.Hkv, c.D], "f32", r) as Float32Array;
      const sm = new Int32Array(T).fill(-1);
      for (let i = 0; i < n; i++) sm[i] = slotOf(ctx + i);
      ctx += n;
      for (let i = 0; i < n; i++) {
        allQ.push(q.slice(i * c.Hq * c.D, (i + 1) * c.Hq * c.D));
        allK.push(k.slice(i * c.Hkv * c.D, (i + 1) * c.Hkv * c.D));
        allV.push(v.slice(i * c.Hkv * c.D, (i + 1) * c.Hkv * c.D));
      }
      const [out] = await g.run([
        q,
        k,
        v,
        kcT,
        vcT,
        sm,
        bt,
        Int32Array.of(ctx),
        Int32Array.of(0, n),
      ]) as Float32Array[];
      // oracle: every token so far in position order, the step's queries at the end
      const d = {
        S: 1,
        maxBlocks: 4,
        bt,
        sl: Int32Array.of(ctx),
        qsl: Int32Array.of(0, n),
        sm,
        q,
        k,
        v,
        kc: await kcT.read() as Float32Array,
        vc: await vcT.read() as Float32Array,
      };
      const o = oracle({ ...c, T, seqs: [{ ctx, q: n }] }, d, d.kc, d.vc);
      assertClose(out, o, { atol: 2e-5, rtol: 2e-4 }, `step at ctx ${ctx} (seed ${seed})`);
      for (let p = 0; p < ctx; p++) {
        const got = d.kc.slice(slotOf(p) * c.Hkv * c.D, (slotOf(p) + 1) * c.Hkv * c.D);
        assert.deepEqual(got, allK[p], `key of position ${p} in the cache`);
      }
    }
  } finally {
    await prefill.disposeAsync();
    await decode.disposeAsync();
    kcT.dispose();
    vcT.dispose();
  }
});

Deno.test("paged attention: bad arguments are ShapeError/DTypeError naming the argument", () => {
  const base = (over: Record<string, { shape: number[]; dtype: DType }>) => {
    const specs: Record<string, { shape: number[]; dtype: DType }> = {
      q: { shape: [2, 4, 8], dtype: "f32" },
      k: { shape: [2, 2, 8], dtype: "f32" },
      v: { shape: [2, 2, 8], dtype: "f32" },
      key_cache: { shape: [4, 2, 2, 8], dtype: "f32" },
      value_cache: { shape: [4, 2, 2, 8], dtype: "f32" },
      block_table: { shape: [1, 4], dtype: "i32" },
      seq_lens: { shape: [1], dtype: "i32" },
      query_start_loc: { shape: [2], dtype: "i32" },
      ...over,
    };
    return () =>
      compile((q, k, v, kc, vc, bt, sl, qsl) => {
        const out = ops.emptyLike(q);
        ops.call(ATTENTION_OP, [q, k, v, out, kc, vc, bt, sl, qsl]);
        return out;
      }, { inputs: Object.entries(specs).map(([name, s]) => ({ name, ...s })) });
  };
  assert.throws(base({ block_table: { shape: [1, 4], dtype: "f32" } }), /block_table must be i32/);
  assert.throws(
    base({ key_cache: { shape: [4, 2, 3, 8], dtype: "f32" } }),
    /value_cache \[4, 2, 2, 8\] must match key_cache \[4, 2, 3, 8\]/,
  );
  assert.throws(
    base({ query_start_loc: { shape: [3], dtype: "i32" } }),
    /query_start_loc \[2\]/,
  );
  assert.throws(
    base({ q: { shape: [2, 3, 8], dtype: "f32" } }),
    /3 heads are not a multiple of the cache's 2 kv heads/,
  );
  assert.throws(
    () =>
      compile((k, v, kc, vc, sm) => {
        ops.call(RESHAPE_AND_CACHE_OP, [k, v, kc, vc, sm]);
        return kc.add(0);
      }, {
        inputs: [
          { shape: [2, 2, 8], dtype: "f32" },
          { shape: [2, 2, 8], dtype: "f32" },
          { shape: [4, 2, 2, 4], dtype: "f32" },
          { shape: [4, 2, 2, 4], dtype: "f32" },
          { shape: [2], dtype: "i32" },
        ],
      }),
    /vllm::reshape_and_cache_flash: key_cache must be \[num_blocks, block_size, 2, 8\]/,
  );
  assert.throws(
    () =>
      compile((q) => {
        const out = ops.emptyLike(q);
        ops.call(ATTENTION_OP, [q, q, q, out, q]);
        return out;
      }, { inputs: [{ shape: [2, 4, 8], dtype: "f32" }] }),
    /takes q, k, v, out \(dense\) or also key_cache/,
  );
});

Deno.test("registerCustomOp: optional args ('?') must come last", () => {
  assert.throws(
    () =>
      registerCustomOp({
        name: "test::optional_first",
        args: ["a?", "b"],
        shape: () => null,
        reference: () => null,
      }),
    /optional args \('\?'\) must come last/,
  );
});
