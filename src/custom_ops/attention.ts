// vllm::unified_attention_with_output(q, k, v, out!): softmax attention that writes its result
// into `out` and returns nothing, like vLLM's op of that name (mutates_args=["output"]). It is
// the op that splits vLLM's graphs (a splitting op) and the one patch B's scenario needs.
// Dense form: q, k, v, out are [..., S, D] (leading dims are batch and heads). Paged form (five
// more args: key_cache, value_cache, block_table, seq_lens, query_start_loc): see
// paged_attention.ts — the attention of vLLM's model runner over its paged KV cache.
import { isFloat, shapeStr } from "../dtype.ts";
import { DTypeError, ShapeError } from "../errors.ts";
import { type CustomKernelTarget, registerCustomOp } from "../fx/custom_ops.ts";
import type { TensorMeta } from "../fx/graph.ts";
import type { MetaArg, OpKwargs, RefArg } from "../fx/op_def.ts";
import type { RefTensor } from "../reference/tensor.ts";
import { fillShader } from "../codegen/wgsl/shader_template.ts";
import { checkPaged, PAGED_ARGS, pagedKernel, pagedReference } from "./paged_attention.ts";
import { storageIO } from "./storage_io.ts";

export const ATTENTION_OP = "vllm::unified_attention_with_output";

function metas(args: MetaArg[]): TensorMeta[] {
  return args.slice(0, 4) as TensorMeta[];
}

function isPaged(args: unknown[]): boolean {
  if (args.length === 4) return false;
  if (args.length !== 4 + PAGED_ARGS.length) {
    throw new ShapeError(
      `${ATTENTION_OP}: takes q, k, v, out (dense) or also ${PAGED_ARGS.join(", ")} (paged), ` +
        `got ${args.length} arguments`,
    );
  }
  return true;
}

function check(args: MetaArg[]): void {
  if (isPaged(args)) {
    checkPaged(ATTENTION_OP, args);
    return;
  }
  const [q, k, v, out] = metas(args);
  for (const [n, t] of [["q", q], ["k", k], ["v", v], ["out", out]] as const) {
    if (t.shape.length < 2) {
      throw new ShapeError(`${ATTENTION_OP}: ${n} must be [..., S, D], got ${shapeStr(t.shape)}`);
    }
    if (!isFloat(t.dtype)) {
      throw new DTypeError(`${ATTENTION_OP}: ${n} must be f32 or f16, got ${t.dtype}`);
    }
  }
  if (shapeStr(q.shape) !== shapeStr(out.shape)) {
    throw new ShapeError(
      `${ATTENTION_OP}: out ${shapeStr(out.shape)} must have q's shape ${shapeStr(q.shape)}`,
    );
  }
  if (shapeStr(k.shape) !== shapeStr(v.shape) || shapeStr(k.shape) !== shapeStr(q.shape)) {
    throw new ShapeError(
      `${ATTENTION_OP}: q ${shapeStr(q.shape)}, k ${shapeStr(k.shape)} and v ${
        shapeStr(v.shape)
      } must match`,
    );
  }
}

function scaleOf(kw: OpKwargs, d: number): number {
  return kw.scale === null || kw.scale === undefined ? 1 / Math.sqrt(d) : Number(kw.scale);
}

function reference(args: RefArg[], kw: OpKwargs): null {
  if (isPaged(args)) {
    const q = args[0] as RefTensor;
    return pagedReference(
      ATTENTION_OP,
      args,
      scaleOf(kw, q.shape[q.shape.length - 1]),
      kw.causal !== false,
    );
  }
  const [q, k, v, out] = args as RefTensor[];
  const D = q.shape[q.shape.length - 1], S = q.shape[q.shape.length - 2];
  const rows = q.data.length / D;
  const scale = scaleOf(kw, D);
  const causal = kw.causal !== false;
  const s = new Float64Array(S);
  for (let r = 0; r < rows; r++) {
    const i = r % S, base = (r - i) * D;
    const jEnd = causal ? i + 1 : S;
    let m = -Infinity;
    for (let j = 0; j < jEnd; j++) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += q.data[r * D + d] * k.data[base + j * D + d];
      s[j] = dot * scale;
      m = Math.max(m, s[j]);
    }
    let l = 0;
    for (let j = 0; j < jEnd; j++) l += s[j] = Math.exp(s[j] - m);
    for (let d = 0; d < D; d++) {
      let acc = 0;
      for (let j = 0; j < jEnd; j++) acc += s[j] * v.data[base + j * D + d];
      out.data[r * D + d] = acc / l;
    }
  }
  return null;
}

/** One invocation per query row; online softmax over the keys (one pass, flash-style):
 * shaders/attention.wgsl. */
function kernel(args: MetaArg[], kw: OpKwargs, target: CustomKernelTarget) {
  const [q, , , out] = metas(args);
  if (isPaged(args)) {
    return pagedKernel(args, kw, scaleOf(kw, q.shape[q.shape.length - 1]), target);
  }
  const D = q.shape[q.shape.length - 1], S = q.shape[q.shape.length - 2];
  const rows = q.shape.reduce((a, b) => a * b, 1) / D;
  const emulated = target.f16 === "emulated";
  const qi = storageIO("q", q.dtype, emulated), ki = storageIO("k", q.dtype, emulated);
  const vi = storageIO("v", q.dtype, emulated), oi = storageIO("o", out.dtype, emulated);
  const native16 = !emulated && [q.dtype, out.dtype].includes("f16");
  // an invocation writes its whole row: with an even D the row is whole u32 words of packed
  // halves; with an odd D two rows share a word, so halves are stored with atomics
  const atomicOut = oi.packed && D % 2 === 1;
  let store: string;
  if (!oi.packed) {
    store = `for (var d = 0u; d < ${D}u; d++) { o[row * ${D}u + d] = ${out.dtype}(acc[d] / l); }`;
  } else if (!atomicOut) {
    store = `for (var d = 0u; d < ${D}u; d += 2u) { o[(row * ${D}u + d) >> 1u] = ` +
      `f32_to_f16_bits(acc[d] / l) | (f32_to_f16_bits(acc[d + 1u] / l) << 16u); }`;
  } else {
    store =
      `for (var d = 0u; d < ${D}u; d++) { let i = row * ${D}u + d; let sh = (i & 1u) * 16u; ` +
      `atomicAnd(&o[i >> 1u], ~(0xffffu << sh)); ` +
      `atomicOr(&o[i >> 1u], f32_to_f16_bits(acc[d] / l) << sh); }`;
  }
  const scale = Math.fround(scaleOf(kw, D));
  const causal = kw.causal !== false;
  const WG = 64;
  const groups = Math.ceil(rows / WG);
  const wgsl = fillShader("attention", {
    ENABLE_F16: native16 ? "enable f16;\n" : "",
    Q_TYPE: qi.type,
    K_TYPE: ki.type,
    V_TYPE: vi.type,
    O_TYPE: atomicOut ? "atomic<u32>" : oi.type,
    F16_HELPERS: emulated ? target.f16Helpers : "",
    WG,
    ROWS: rows,
    S,
    D,
    LOAD_Q: qi.load(`row * ${D}u + d`),
    J_END: causal ? "i + 1u" : `${S}u`,
    LOAD_K: ki.load(`base + j * ${D}u + d`),
    SCALE: scale,
    LOAD_V: vi.load(`base + j * ${D}u + d`),
    STORE: store,
  });
  const wx = Math.min(groups, 65535);
  return { wgsl, workgroups: [wx, Math.ceil(groups / wx), 1] as [number, number, number] };
}

registerCustomOp({
  name: ATTENTION_OP,
  args: ["q", "k", "v", "out!", ...PAGED_ARGS.map((a) => `${a}?`)],
  kwargs: { scale: null, causal: true },
  shape: (args) => {
    check(args);
    return null;
  },
  reference,
  wgsl: kernel,
});
