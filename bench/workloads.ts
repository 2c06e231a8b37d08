// The benchmark workloads: shapes, seeded data, our traced function, the float64 reference
// (the interpreter on the same graph, on a sample of rows for the big ones), FLOP and byte
// counts. Peers implement the same math from `kind` and `p` (see bench/peers/).
import { type InputSpec, interpret, type TensorProxy, trace } from "../src/mod.ts";
import {
  type DecoderConfig,
  decoderFn,
  decoderInputs,
  SMALL_DECODER,
} from "../src/models/decoder.ts";
import { randomArray, type RepPolicy } from "./harness.ts";

export type Kind =
  | "matmul"
  | "matvec"
  | "gelu"
  | "softmax"
  | "layernorm"
  | "rmsnorm"
  | "decoder"
  | "dispatch"
  | "chain";

/** Workload parameters (which ones are set depends on the kind). */
export interface Params {
  /** matmul: n x n @ n x n. */
  n?: number;
  /** matvec, gelu, softmax, norms: a [rows, cols] operand. */
  rows?: number;
  cols?: number;
  /** layer/RMS norm eps. */
  eps?: number;
  decoder?: DecoderConfig;
  /** dispatch: h <- tanh(h @ W + b), `steps` times, h of [1, width]; chain: `steps`
   * pointwise ops on a [width] vector. */
  steps?: number;
  width?: number;
}

export interface Workload {
  name: string;
  kind: Kind;
  p: Params;
  specs: InputSpec[];
  fn: (...xs: TensorProxy[]) => TensorProxy;
  /** Seeded inputs, in `specs` order. */
  data: () => Float32Array[];
  /** Elements of the (single) output. */
  outLen: number;
  flops?: number;
  bytes?: number;
  /** Largest max|out - ref| / max|ref| accepted. */
  tol: number;
  policy: RepPolicy;
  /** The reference is computed on these rows (dim 0) of input 0 only; each output row depends
   * only on the same row of input 0. Absent: the whole graph is interpreted. */
  sampleRows?: number[];
  /** Our function for `r` rows of input 0 (the same math), for the sampled reference. */
  rowsFn?: (r: number) => { specs: InputSpec[]; fn: (...xs: TensorProxy[]) => TensorProxy };
  /** Workloads with equal refKey share the reference (same inputs on the sampled rows). */
  refKey?: string;
  /** Systems not run (they would repeat another column: one kernel either way). */
  skip?: string[];
  /** Names of the inputs that are weights (parameters and constant buffers): every system makes
   * them resident once, before timing; the other inputs are activations, uploaded per call in
   * the host-to-host columns. */
  weights: string[];
  /** Longest wait for one system on this workload (default: the suite's). */
  timeoutMs?: number;
}

// The first (counted, checked) call already compiled everything, so warm-ups are extra.
// deviceCalls is N of the device-time method (bench/measure.ts), the same for every system on a
// workload; deviceReps how many (1 call, N calls) pairs are timed.
const FAST: RepPolicy = {
  warmup: 1,
  minReps: 5,
  maxReps: 20,
  budgetMs: 1000,
  capMs: 2500,
  deviceCalls: 21,
  deviceReps: 3,
};
const SLOW: RepPolicy = {
  warmup: 0,
  minReps: 3,
  maxReps: 5,
  budgetMs: 1000,
  capMs: 2500,
  deviceCalls: 6,
  deviceReps: 3,
};
/** Up to seconds per call on a CPU adapter: at least 3 timed repetitions, more (up to 15) while
 * they take under 3 s in all, and 3 pairs at N = 3, each column capped at about 10 s (a system
 * slower than that gets fewer, at least one). One pair at N = 2, as before, let matmul-1024's
 * device ratio read anywhere from 1.6 to 3.5 between runs; three host-to-host repetitions of
 * matvec-4096's tens of milliseconds let its ratio read 0.9 to 1.8 between runs in the page, and
 * three of decoder4-8x128's ~400 ms in the page read 455 ms for the same kernels whose
 * no-replay column read 332 (a 1 s budget). */
const HEAVY: RepPolicy = {
  warmup: 0,
  minReps: 3,
  maxReps: 15,
  budgetMs: 3000,
  capMs: 10_000,
  deviceCalls: 3,
  deviceReps: 3,
};
const QUICK: RepPolicy = {
  warmup: 0,
  minReps: 2,
  maxReps: 3,
  budgetMs: 200,
  deviceCalls: 6,
  deviceReps: 3,
};

/** Seeds derived from input names, so shared inputs (weights) agree across workloads. */
function seedOf(name: string): number {
  let h = 2166136261;
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

/** Rows spread over [0, rows): first, last and a few between. */
function spread(rows: number, k: number): number[] {
  const out = new Set<number>();
  for (let i = 0; i < k; i++) out.add(Math.min(rows - 1, Math.round((i * (rows - 1)) / (k - 1))));
  return [...out];
}

function matmul(n: number, policy: RepPolicy): Workload {
  const mk = (r: number) => ({
    specs: [{ name: "a", shape: [r, n] }, { name: "b", shape: [n, n] }],
    fn: (a: TensorProxy, b: TensorProxy) => a.matmul(b),
  });
  return {
    name: `matmul-${n}`,
    kind: "matmul",
    p: { n },
    ...mk(n),
    data: () => [randomArray(n * n, seedOf("a")), randomArray(n * n, seedOf("b"))],
    outLen: n * n,
    flops: 2 * n ** 3,
    bytes: 3 * n * n * 4,
    tol: 1e-4,
    policy,
    sampleRows: spread(n, 6),
    rowsFn: mk,
    weights: ["b"],
  };
}

function matvec(n: number, policy: RepPolicy): Workload {
  // y = W x: each output is one contiguous row of W dotted with x (decode-style GEMV)
  const mk = (r: number) => ({
    specs: [{ name: "w", shape: [r, n] }, { name: "x", shape: [n, 1] }],
    fn: (w: TensorProxy, x: TensorProxy) => w.matmul(x).reshape(r),
  });
  return {
    name: `matvec-${n}`,
    kind: "matvec",
    p: { rows: n, cols: n },
    ...mk(n),
    data: () => [randomArray(n * n, seedOf("w")), randomArray(n, seedOf("x"))],
    outLen: n,
    flops: 2 * n * n,
    bytes: (n * n + 2 * n) * 4,
    tol: 1e-4,
    policy,
    sampleRows: spread(n, 64),
    rowsFn: mk,
    weights: ["w"],
  };
}

/** gelu(x * a + b), a and b per column. */
function gelu(rows: number, cols: number, label: string, policy: RepPolicy): Workload {
  const mk = (r: number) => ({
    specs: [{ name: "x", shape: [r, cols] }, { name: "a", shape: [cols] }, {
      name: "b",
      shape: [cols],
    }],
    fn: (x: TensorProxy, a: TensorProxy, b: TensorProxy) => x.mul(a).add(b).gelu(),
  });
  const n = rows * cols;
  return {
    name: `gelu-${label}`,
    kind: "gelu",
    p: { rows, cols },
    ...mk(rows),
    data: () => [
      randomArray(n, seedOf("x"), -3, 3),
      randomArray(cols, seedOf("a"), 0.5, 1.5),
      randomArray(cols, seedOf("b"), -0.5, 0.5),
    ],
    outLen: n,
    flops: 20 * n,
    bytes: 2 * n * 4,
    tol: 1e-5,
    policy,
    sampleRows: spread(rows, 16),
    rowsFn: mk,
    // the per-column scale and shift are parameters
    weights: ["a", "b"],
  };
}

function rowwise(
  kind: "softmax" | "layernorm" | "rmsnorm",
  rows: number,
  cols: number,
  policy: RepPolicy,
): Workload {
  const eps = 1e-5;
  const mk = (r: number) => {
    const x = { name: "x", shape: [r, cols] };
    if (kind === "softmax") return { specs: [x], fn: (t: TensorProxy) => t.softmax(-1) };
    if (kind === "rmsnorm") {
      return {
        specs: [x, { name: "w", shape: [cols] }],
        fn: (t: TensorProxy, w: TensorProxy) => t.rmsNorm([cols], w, eps),
      };
    }
    return {
      specs: [x, { name: "w", shape: [cols] }, { name: "b", shape: [cols] }],
      fn: (t: TensorProxy, w: TensorProxy, b: TensorProxy) => t.layerNorm([cols], w, b, eps),
    };
  };
  const n = rows * cols;
  const data = () => {
    const xs = [randomArray(n, seedOf("x"), -4, 4)];
    if (kind !== "softmax") xs.push(randomArray(cols, seedOf("w"), 0.5, 1.5));
    if (kind === "layernorm") xs.push(randomArray(cols, seedOf("b"), -0.5, 0.5));
    return xs;
  };
  return {
    name: `${kind}-${rows}x${cols}`,
    kind,
    p: { rows, cols, eps },
    ...mk(rows),
    data,
    outLen: n,
    flops: 8 * n,
    bytes: 2 * n * 4,
    tol: 1e-5,
    policy,
    sampleRows: spread(rows, 16),
    rowsFn: mk,
    // the norms' weight and bias are parameters; softmax has none
    weights: kind === "softmax" ? [] : kind === "rmsnorm" ? ["w"] : ["w", "b"],
  };
}

function decoder(c: DecoderConfig, policy: RepPolicy): Workload {
  const specs = decoderInputs(c);
  const { batch: B, seq: S, dim: D, hidden: H, layers: L } = c;
  const perLayer = 2 * B * S * (4 * D * D + 3 * D * H) + 4 * B * S * S * D;
  return {
    name: `decoder${L > 1 ? L : ""}-${B}x${S}`,
    kind: "decoder",
    p: { decoder: c },
    specs,
    fn: decoderFn(c),
    data: () => decoderData(specs, S),
    outLen: B * S * D,
    flops: L * perLayer,
    tol: 1e-4,
    policy,
    sampleRows: [0],
    rowsFn: (r) => {
      const cr = { ...c, batch: r };
      return { specs: decoderInputs(cr), fn: decoderFn(cr) };
    },
    refKey: `decoder-L${L}-S${S}-D${D}-H${H}-h${c.heads}`,
    // everything but x: the layers' weights, and the causal mask (a constant buffer a model
    // registers once, not a per-call input)
    weights: specs.map((s) => s.name!).filter((n) => n !== "x"),
  };
}

/** Like src/models/decoder.ts's decoderData, but seeded per input name, so batch 1 and batch 8
 * share the weights and x's first batch row (one reference serves both). */
function decoderData(specs: InputSpec[], seq: number): Float32Array[] {
  return specs.map((sp) => {
    const n = sp.shape.reduce((a, b) => a * b, 1);
    const name = sp.name!;
    if (name === "mask") {
      const m = new Float32Array(n);
      for (let i = 0; i < seq; i++) for (let j = i + 1; j < seq; j++) m[i * seq + j] = -1e4;
      return m;
    }
    if (name.endsWith("norm")) return randomArray(n, seedOf(name), 0.9, 1.1);
    if (name === "x") {
      // x's rows are seeded per batch row
      const row = sp.shape.slice(1).reduce((a, b) => a * b, 1);
      const x = new Float32Array(n);
      for (let b = 0; b < sp.shape[0]; b++) x.set(randomArray(row, seedOf(`x${b}`)), b * row);
      return x;
    }
    const s = 1 / Math.sqrt(sp.shape[sp.shape.length - 1]);
    return randomArray(n, seedOf(name), -s, s);
  });
}

function dispatch(steps: number, width: number, policy: RepPolicy): Workload {
  return {
    name: `dispatch-${steps}`,
    kind: "dispatch",
    p: { steps, width },
    specs: [{ name: "h", shape: [1, width] }, { name: "w", shape: [width, width] }, {
      name: "b",
      shape: [1, width],
    }],
    fn: (h0: TensorProxy, w: TensorProxy, b: TensorProxy) => {
      let h = h0;
      for (let i = 0; i < steps; i++) h = h.matmul(w).add(b).tanh();
      return h;
    },
    data: () => [
      randomArray(width, seedOf("h")),
      // gain < 1: the recurrence contracts, so rounding differences do not grow over the steps
      randomArray(width * width, seedOf("w"), -0.1, 0.1),
      randomArray(width, seedOf("b"), -0.5, 0.5),
    ],
    outLen: width,
    tol: 1e-4,
    policy,
    weights: ["w", "b"],
  };
}

/** Compile time of a long pointwise chain (h + 0.5, h * 0.5, … `steps` ops): compile was cubic
 * in the chain's length (4000 ops: 131 s), now near-linear. Read `compile cold/warm`; only our
 * fused column runs (peers would measure their own tracing, eager mode 4000 launches). */
function chain(steps: number, width: number, policy: RepPolicy): Workload {
  return {
    name: `compile-chain-${steps}`,
    kind: "chain",
    p: { steps, width },
    specs: [{ name: "x", shape: [width] }],
    fn: (x: TensorProxy) => {
      let h = x;
      for (let i = 0; i < steps; i++) h = i % 2 ? h.mul(0.5) : h.add(0.5);
      return h;
    },
    data: () => [randomArray(width, seedOf("chain"), -4, 4)],
    outLen: width,
    tol: 1e-5,
    policy,
    weights: [],
    skip: ["ours-noreplay", "ours-eager", "tfjs-webgpu", "jax-js", "jax-js-eager", "ort-web"],
  };
}

/** src/models/decoder.ts's SMALL_DECODER widths (dim 64, 4 heads, SwiGLU hidden 128); the
 * bench sets batch, seq and layers. */
const BASE_DECODER = {
  dim: SMALL_DECODER.dim,
  heads: SMALL_DECODER.heads,
  hidden: SMALL_DECODER.hidden,
};

/** Only with `--full`: one call of it takes tens of seconds on a 2-core CPU adapter. */
export const FULL_ONLY = ["matmul-2048"];

/** The suite; `quick`: small sizes and few repetitions (a smoke run). */
export function workloads(quick: boolean): Workload[] {
  if (quick) {
    const small = { dim: 64, heads: 4, hidden: 128 };
    return [
      matmul(256, QUICK),
      matvec(1024, QUICK),
      gelu(1024, 1024, "1M", QUICK),
      rowwise("softmax", 512, 256, QUICK),
      rowwise("layernorm", 512, 256, QUICK),
      rowwise("rmsnorm", 512, 256, QUICK),
      decoder({ ...small, batch: 1, seq: 32, layers: 1 }, QUICK),
      decoder({ ...small, batch: 2, seq: 32, layers: 2 }, QUICK),
      dispatch(100, 64, QUICK),
      chain(4000, 1024, QUICK),
    ];
  }
  return [
    matmul(512, SLOW),
    // one matmul kernel in every mode: our three columns differ only at 512
    { ...matmul(1024, HEAVY), skip: ["ours-noreplay", "ours-eager"] },
    { ...matmul(2048, HEAVY), skip: ["ours-noreplay", "ours-eager"], timeoutMs: 900_000 },
    matvec(4096, HEAVY),
    { ...gelu(4096, 4096, "16M", HEAVY), skip: ["ours-noreplay"] },
    rowwise("softmax", 4096, 1024, SLOW),
    rowwise("layernorm", 4096, 1024, SLOW),
    rowwise("rmsnorm", 4096, 1024, SLOW),
    decoder({ ...BASE_DECODER, batch: 1, seq: 128, layers: 1 }, FAST),
    decoder({ ...BASE_DECODER, batch: 8, seq: 128, layers: 1 }, SLOW),
    decoder({ ...BASE_DECODER, batch: 1, seq: 128, layers: 4 }, SLOW),
    decoder({ ...BASE_DECODER, batch: 8, seq: 128, layers: 4 }, HEAVY),
    dispatch(500, 64, SLOW),
    chain(4000, 1024, FAST),
  ];
}

/** Whether input `i` of `w` is a weight (resident in every column). */
export function isWeight(w: Workload, i: number): boolean {
  return w.weights.includes(w.specs[i].name!);
}

/** Whether the all-uploaded host-to-host column is worth measuring: the weights are at least a
 * tenth of the input bytes (matmul, matvec, the decoders, dispatch; not a norm's few floats). */
export function uploadAllMatters(w: Workload): boolean {
  let weights = 0, all = 0;
  w.specs.forEach((s, i) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    all += n;
    if (isWeight(w, i)) weights += n;
  });
  return weights >= all / 10;
}

/** `--only a,b`: exact names, or families (`matmul` selects every `matmul-*` but FULL_ONLY,
 * unless `full`); without it, all but FULL_ONLY (unless `full`). */
export function select(all: Workload[], only: string[] | null, full = false): Workload[] {
  const big = (w: Workload) => !full && FULL_ONLY.includes(w.name);
  if (!only?.length) return all.filter((w) => !big(w));
  return all.filter((w) =>
    only.some((o) => w.name === o || (w.name.startsWith(`${o}-`) && !big(w)))
  );
}

export interface Reference {
  /** Reference values at `idx` (all outputs in order when idx is null). */
  values: ArrayLike<number>;
  idx: number[] | null;
}

const refCache = new Map<string, Reference>();

/** The float64 reference: the interpreter on our graph, on the sampled rows when the workload
 * samples. */
export function reference(w: Workload, inputs: Float32Array[]): Reference {
  const key = w.refKey;
  if (key && refCache.has(key)) return refCache.get(key)!;
  let ref: Reference;
  if (!w.sampleRows || !w.rowsFn) {
    const values = interpret(trace(w.fn, w.specs), inputs)[0] as ArrayLike<number>;
    ref = { values, idx: null };
  } else {
    const rows = w.sampleRows;
    const R = w.specs[0].shape[0];
    const rowLen = inputs[0].length / R;
    const outRow = w.outLen / R;
    const x = new Float32Array(rows.length * rowLen);
    rows.forEach((r, i) => x.set(inputs[0].subarray(r * rowLen, (r + 1) * rowLen), i * rowLen));
    const sub = w.rowsFn(rows.length);
    const values = interpret(trace(sub.fn, sub.specs), [x, ...inputs.slice(1)])[0] as ArrayLike<
      number
    >;
    const idx: number[] = [];
    for (const r of rows) for (let j = 0; j < outRow; j++) idx.push(r * outRow + j);
    ref = { values, idx };
  }
  if (key) refCache.set(key, ref);
  return ref;
}
