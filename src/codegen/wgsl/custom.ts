// A custom op's own WGSL kernel (registerCustomOp's `wgsl`) as a KernelSpec: bindings are its
// tensor arguments in order (mutated ones writable), then its result.
import { CompileError } from "../../errors.ts";
import { getCustomOp } from "../../fx/custom_ops.ts";
import type { MetaArg } from "../../fx/op_def.ts";
import type { IRBuffer } from "../../inductor/ir.ts";
import type { KernelBinding, KernelSpec } from "./kernel_spec.ts";

export function customKernelSpec(
  name: string,
  buf: IRBuffer,
  lookup: (name: string) => IRBuffer,
  realName: (name: string) => string,
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
  const k = op.wgsl(metas, d.kwargs);
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
