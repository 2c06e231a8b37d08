// Pointwise kernels: one invocation per output element of the group's iteration space; every
// stored member is computed from the inlined bodies and written at its flat index. With f16
// emulated in u32 words (no shader-f16), an invocation computes two neighbouring elements and
// stores each f16 member's pair as one word, so no two invocations write halves of one word.
import { numel } from "../../dtype.ts";
import { CompileError } from "../../errors.ts";
import type { PointwiseDef } from "../../inductor/ir.ts";
import { f16PackWord } from "./f16_storage.ts";
import {
  declareUnravel,
  type GroupInput,
  KernelContext,
  loopVars,
  varsViaFlat,
} from "./kernel_context.ts";
import { foldGrid, type KernelSpec } from "./kernel_spec.ts";
import { convert, OPAQUE_ZERO_INIT, Scope } from "./render.ts";
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
  const storedMembers = g.members.filter((m) => g.stores.has(m.name));
  for (const m of storedMembers) {
    if (m.def.kind !== "pointwise" || numel(m.def.ranges) !== n) {
      throw new CompileError(`kernel ${g.name}: member ${m.name} does not fit a pointwise kernel`);
    }
  }
  // a write at computed indices (m.def.store) stores single halves atomically, never in pairs;
  // such mutations are never fused, so they are alone in their kernel
  const pairs = storedMembers.some((m) =>
    ctx.storesEmulatedF16(m) && !(m.def as PointwiseDef).store
  );
  if (pairs) ctx.f16Writes = "words";
  const per = pairs ? 2 : 1;
  const kIdx = loopVars("x", shape);
  const helpers = new Set<string>();
  const counter = { n: 0 };
  const stored = storedMembers.map((m) => m.name);
  /** Lines computing and storing the element at flat index `flatVar` (f16 pair halves go to
   * registers `h<member>_<j>`). */
  const element = (flatVar: string, j: number): string[] => {
    const scope = new Scope(ctx, null, new Map(), counter, helpers);
    storedMembers.forEach((m, mi) => {
      if (m.def.kind !== "pointwise") return;
      const vars = varsViaFlat(kIdx, shape, m.def.ranges);
      const v = scope.value(ctx.body(m.def.body, vars));
      const st = m.def.store;
      if (pairs && ctx.storesEmulatedF16(m)) {
        scope.emit(`h${mi}_${j} = ${convert(v, m.def.body.dtype, "f32")};`);
      } else if (st) {
        // a write through a view or at runtime indices: the target element in the kernel's vars
        const e = ctx.body(vindex(st.index, "u32"), vars);
        if (e.k !== "index") throw new CompileError(`kernel ${g.name}: bad store index`);
        const write = ctx.storeStmt(m, scope.index(e.e), v, m.def.body.dtype, helpers);
        if (st.guard) scope.emit(`if (${scope.value(ctx.body(st.guard, vars))}) { ${write} }`);
        else scope.emit(write);
      } else {
        const flat = KernelContext.flat(shape, kIdx);
        scope.emit(ctx.storeStmt(m, scope.index(flat), v, m.def.body.dtype, helpers));
      }
    });
    return [...declareUnravel(flatVar, "x", shape), ...scope.lines];
  };
  const wg = POINTWISE_WORKGROUP;
  const units = Math.ceil(n / per);
  const body: string[] = [];
  if (!pairs) body.push(...element("gid", 0));
  else {
    storedMembers.forEach((m, mi) => {
      if (ctx.storesEmulatedF16(m)) body.push(`var h${mi}_0 = 0.0;`, `var h${mi}_1 = 0.0;`);
    });
    for (let j = 0; j < 2; j++) {
      body.push(`{`, `  let e = gid * 2u + ${j}u;`);
      // the last word of an odd count has no second element (its high half is padding)
      if (j === 1 && n % 2 === 1) body.push(`  if (e < ${n}u) {`);
      body.push(...element("e", j).map((l) => (j === 1 && n % 2 === 1 ? "    " : "  ") + l));
      if (j === 1 && n % 2 === 1) body.push(`  }`);
      body.push(`}`);
    }
    storedMembers.forEach((m, mi) => {
      if (!ctx.storesEmulatedF16(m)) return;
      body.push(`${ctx.storeIdent(m)}[gid] = ${f16PackWord(`h${mi}_0`, `h${mi}_1`)};`);
    });
  }
  const src = [
    ctx.declarations(),
    ...helpers,
    `@compute @workgroup_size(${wg})`,
    `fn main(@builtin(global_invocation_id) gid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`,
    `  ${OPAQUE_ZERO_INIT}`,
    `  let gid = gid3.x + gid3.y * nwg.x * ${wg}u;`,
    `  if (gid >= ${units}u) { return; }`,
    ...body.map((l) => "  " + l),
    `}`,
    "",
  ].join("\n");
  return {
    name: g.name,
    wgsl: src,
    bindings: ctx.bindings,
    workgroups: foldGrid(Math.ceil(units / wg)),
    computes: g.members.map((m) => m.name),
    stores: stored,
  };
}
