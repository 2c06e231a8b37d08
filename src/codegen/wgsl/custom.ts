// A custom op's own WGSL kernel (registerCustomOp's `wgsl`) as a KernelSpec: bindings are its
// tensor arguments in order (or the subset its `bind` names; mutated ones writable), then its
// result. The op is told whether f16
// storage is native or emulated (two halves per u32); a kernel that still declares `array<f16>`
// where f16 is emulated would not compile on the adapter, so that is a clear error instead.
import { CompileError } from "../../errors.ts";
import { getCustomOp } from "../../fx/custom_ops.ts";
import type { MetaArg } from "../../fx/op_def.ts";
import type { IRBuffer } from "../../inductor/ir.ts";
import { F16_BITS_HELPERS } from "./f16_storage.ts";
import type { KernelBinding, KernelSpec } from "./kernel_spec.ts";
import type { F16Storage } from "./target.ts";

export function customKernelSpec(
  name: string,
  buf: IRBuffer,
  lookup: (name: string) => IRBuffer,
  realName: (name: string) => string,
  f16: F16Storage = "native",
): KernelSpec {
  const d = buf.def;
  if (d.kind !== "fallback") {
    throw new CompileError(`kernel ${name}: ${buf.name} is not a custom op`);
  }
  const op = getCustomOp(d.op);
  if (!op?.wgsl) {
    throw new CompileError(`kernel ${name}: custom op ${d.op} has no WGSL implementation`);
  }
  // one binding per tensor argument, by positional index
  const byArg = new Map<number, KernelBinding>();
  const metas: MetaArg[] = d.args.map((a, i) => {
    if (!(a && typeof a === "object" && "buf" in a)) return a as MetaArg;
    const b = lookup((a as { buf: string }).buf);
    byArg.set(i, {
      storage: realName(b.name),
      dtype: b.dtype,
      access: d.mutated.includes(b.name) ? "read_write" : "read",
    });
    return { shape: [...b.shape], dtype: b.dtype };
  });
  const k = op.wgsl(metas, d.kwargs, { f16, f16Helpers: F16_BITS_HELPERS });
  const order = k.bind ?? [...byArg.keys()];
  const bindings: KernelBinding[] = order.map((i) => {
    const b = byArg.get(i);
    if (!b) {
      throw new CompileError(`kernel ${name}: ${d.op} binds argument ${i}, which is not a tensor`);
    }
    return b;
  });
  if (buf.layout === "fixed") {
    bindings.push({ storage: buf.name, dtype: buf.dtype, access: "read_write" });
  }
  if (f16 === "emulated" && /\benable\s+f16\s*;|array\s*<\s*f16\b/.test(k.wgsl)) {
    throw new CompileError(
      `kernel ${name}: custom op ${d.op}'s WGSL declares f16 storage (enable f16 / array<f16>), ` +
        `but f16 is emulated here (the adapter has no 'shader-f16'): its wgsl(args, kwargs, ` +
        `target) must bind f16 tensors as array<u32> (two halves per word) when target.f16 is ` +
        `"emulated"`,
    );
  }
  return {
    name,
    wgsl: k.wgsl,
    bindings,
    workgroups: k.workgroups,
    custom: true,
    computes: [buf.name],
    stores: [buf.name, ...d.mutated],
  };
}
