// vllm::reshape_and_cache_flash(key, value, key_cache!, value_cache!, slot_mapping): writes this
// step's keys and values into the paged KV cache in place, as vLLM's cache kernel of that name
// does for its FlashAttention backend (layout [num_blocks, block_size, kv_heads, head_size]).
// Token t goes to slot slot_mapping[t] (block slot / block_size, offset slot % block_size); a
// negative slot marks a padding token and writes nothing, as in vLLM. Slots past the cache's end
// are ignored too (the driver refuses to hand them out; a kernel cannot raise).
import { castScalar, isFloat, shapeStr } from "../dtype.ts";
import { CompileError, DTypeError, ShapeError } from "../errors.ts";
import { type CustomKernelTarget, registerCustomOp } from "../fx/custom_ops.ts";
import type { TensorMeta } from "../fx/graph.ts";
import type { MetaArg } from "../fx/op_def.ts";
import type { RefTensor } from "../reference/tensor.ts";
import { fillShader } from "../codegen/wgsl/shader_template.ts";
import { storageIO } from "./storage_io.ts";

export const RESHAPE_AND_CACHE_OP = "vllm::reshape_and_cache_flash";

function check(args: MetaArg[]): { T: number; H: number; D: number; slots: number } {
  const [k, v, kc, vc, sm] = args as TensorMeta[];
  const op = RESHAPE_AND_CACHE_OP;
  if (k.shape.length !== 3) {
    throw new ShapeError(
      `${op}: key must be [tokens, kv_heads, head_size], got ${shapeStr(k.shape)}`,
    );
  }
  if (shapeStr(v.shape) !== shapeStr(k.shape)) {
    throw new ShapeError(`${op}: value ${shapeStr(v.shape)} must match key ${shapeStr(k.shape)}`);
  }
  const [T, H, D] = k.shape;
  for (const [n, c] of [["key_cache", kc], ["value_cache", vc]] as const) {
    if (c.shape.length !== 4 || c.shape[2] !== H || c.shape[3] !== D) {
      throw new ShapeError(
        `${op}: ${n} must be [num_blocks, block_size, ${H}, ${D}] for key ${shapeStr(k.shape)}, ` +
          `got ${shapeStr(c.shape)}`,
      );
    }
  }
  if (shapeStr(vc.shape) !== shapeStr(kc.shape)) {
    throw new ShapeError(
      `${op}: value_cache ${shapeStr(vc.shape)} must match key_cache ${shapeStr(kc.shape)}`,
    );
  }
  if (sm.shape.length !== 1 || sm.shape[0] !== T) {
    throw new ShapeError(`${op}: slot_mapping must be [${T}], got ${shapeStr(sm.shape)}`);
  }
  if (sm.dtype !== "i32") throw new DTypeError(`${op}: slot_mapping must be i32, got ${sm.dtype}`);
  for (
    const [n, t] of [["key", k], ["value", v], ["key_cache", kc], ["value_cache", vc]] as const
  ) {
    if (!isFloat(t.dtype)) throw new DTypeError(`${op}: ${n} must be f32 or f16, got ${t.dtype}`);
  }
  if (vc.dtype !== kc.dtype) {
    throw new DTypeError(`${op}: value_cache is ${vc.dtype} but key_cache is ${kc.dtype}`);
  }
  return { T, H, D, slots: kc.shape[0] * kc.shape[1] };
}

function reference(args: unknown[]): null {
  const [k, v, kc, vc, sm] = args as RefTensor[];
  const { T, H, D, slots } = check(args as MetaArg[]);
  const row = H * D;
  for (let t = 0; t < T; t++) {
    const slot = sm.data[t];
    if (slot < 0 || slot >= slots) continue;
    for (let i = 0; i < row; i++) {
      // stored in the cache's dtype (later readers in the same graph see the rounded value)
      kc.data[slot * row + i] = castScalar(k.data[t * row + i], kc.dtype);
      vc.data[slot * row + i] = castScalar(v.data[t * row + i], vc.dtype);
    }
  }
  return null;
}

/** One invocation per element of the step's keys (and the same element of its values); with an
 * emulated f16 cache (two halves per u32 word) one per pair of elements, so that every word is
 * written whole by one invocation (a row of kv_heads * head_size elements is even: RoPE needs an
 * even head size, and rows start on word boundaries). The WGSL is shaders/reshape_and_cache.wgsl. */
function kernel(args: MetaArg[], _kw: unknown, target: CustomKernelTarget) {
  const { T, H, D, slots } = check(args);
  const [k, v, kc] = args as TensorMeta[];
  const emulated = target.f16 === "emulated";
  const ki = storageIO("k", k.dtype, emulated), vi = storageIO("v", v.dtype, emulated);
  const ci = storageIO("kc", kc.dtype, emulated);
  const native16 = !emulated && [k.dtype, v.dtype, kc.dtype].includes("f16");
  const row = H * D, WG = 64;
  if (ci.packed && row % 2 !== 0) {
    throw new CompileError(
      `${RESHAPE_AND_CACHE_OP}: an emulated f16 cache needs an even kv_heads * head_size ` +
        `(got ${H} * ${D})`,
    );
  }
  const per = ci.packed ? 2 : 1;
  const n = (T * row) / per;
  const groups = Math.ceil(n / WG);
  const store = ci.packed
    ? `let e = i * 2u;
  let w = (u32(slot) * ${row}u + e % ${row}u) >> 1u;
  kc[w] = f32_to_f16_bits(${ki.load("e")}) | (f32_to_f16_bits(${ki.load("e + 1u")}) << 16u);
  vc[w] = f32_to_f16_bits(${vi.load("e")}) | (f32_to_f16_bits(${vi.load("e + 1u")}) << 16u);`
    : `let dst = u32(slot) * ${row}u + i % ${row}u;
  kc[dst] = ${kc.dtype}(${ki.load("i")});
  vc[dst] = ${kc.dtype}(${vi.load("i")});`;
  const wgsl = fillShader("reshape_and_cache", {
    ENABLE_F16: native16 ? "enable f16;\n" : "",
    K_TYPE: ki.type,
    V_TYPE: vi.type,
    CACHE_TYPE: ci.type,
    F16_HELPERS: emulated ? target.f16Helpers : "",
    WG,
    N: n,
    PER: per,
    ROW: row,
    SLOTS: slots,
    STORE: store,
  });
  const wx = Math.min(groups, 65535);
  return { wgsl, workgroups: [wx, Math.ceil(groups / wx), 1] as [number, number, number] };
}

registerCustomOp({
  name: RESHAPE_AND_CACHE_OP,
  args: ["key", "value", "key_cache!", "value_cache!", "slot_mapping"],
  shape: (args) => {
    check(args);
    return null;
  },
  reference,
  wgsl: kernel,
});
