// Pointwise kernels: one invocation per output element of the group's iteration space; every
// stored member is computed from the inlined bodies and written at its flat index.
import { numel } from "../../dtype.ts";
import { CompileError } from "../../errors.ts";
import type { PointwiseDef } from "../../inductor/ir.ts";
import {
  declareUnravel,
  type GroupInput,
  KernelContext,
  loopVars,
  varsViaFlat,
} from "./kernel_context.ts";
import { foldGrid, type KernelSpec } from "./kernel_spec.ts";
import { Scope, storeValue } from "./render.ts";
import { vindex } from "../../inductor/value_expr.ts";

export const POINTWISE_WORKGROUP = 256;

export function genPointwise(g: GroupInput): KernelSpec {
  const ctx = new KernelContext(g);
  const first = g.members[0].def as PointwiseDef;
  const shape = first.ranges;
  const n = numel(shape);
  if (n > 0xffffffff) {
    throw new CompileError(`kernel ${g.name}: ${n} elements overflow 32-bit indexing`);
  }
  const kIdx = loopVars("x", shape);
  const scope = new Scope(ctx);
  const stored: string[] = [];
  for (const m of g.members) {
    if (!g.stores.has(m.name)) continue;
    if (m.def.kind !== "pointwise" || numel(m.def.ranges) !== n) {
      throw new CompileError(`kernel ${g.name}: member ${m.name} does not fit a pointwise kernel`);
    }
    const vars = varsViaFlat(kIdx, shape, m.def.ranges);
    const v = scope.value(ctx.body(m.def.body, vars));
    let at = KernelContext.flat(shape, kIdx);
    const st = m.def.store;
    if (st) {
      // a write through a view or at runtime indices: the target element in the kernel's vars
      const e = ctx.body(vindex(st.index, "u32"), vars);
      if (e.k !== "index") {
        throw new CompileError(`kernel ${g.name}: bad store index for ${m.name}`);
      }
      at = e.e;
    }
    const write = `${ctx.storeIdent(m)}[${scope.index(at)}] = ${
      storeValue(v, m.def.body.dtype, m.dtype)
    };`;
    if (st?.guard) {
      const ok = scope.value(ctx.body(st.guard, vars));
      scope.emit(`if (${ok}) { ${write} }`);
    } else scope.emit(write);
    stored.push(m.name);
  }
  const wg = POINTWISE_WORKGROUP;
  const groups = Math.ceil(n / wg);
  const src = [
    ctx.declarations(),
    ...scope.helpers,
    `@compute @workgroup_size(${wg})`,
    `fn main(@builtin(global_invocation_id) gid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`,
    `  let gid = gid3.x + gid3.y * nwg.x * ${wg}u;`,
    `  if (gid >= ${n}u) { return; }`,
    ...declareUnravel("gid", "x", shape).map((l) => "  " + l),
    ...scope.lines.map((l) => "  " + l),
    `}`,
    "",
  ].join("\n");
  return {
    name: g.name,
    wgsl: src,
    bindings: ctx.bindings,
    workgroups: foldGrid(groups),
    computes: g.members.map((m) => m.name),
    stores: stored,
  };
}
