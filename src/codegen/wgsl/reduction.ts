// Reduction kernels. The group shares one source space (the shape being reduced) split into
// outer dims x* and reduced dims r*. Phases run in member order: each reduction loops over r
// and combines into a register; epilogue members (over the outer space) and full members
// (over the source space) are stored after the reductions they read.
//  - rows with many elements: one workgroup per row, strided loop + workgroup tree reduction;
//  - rows with few elements: one invocation per row, serial loop (no shared memory).
// Where the adapter has subgroups, a workgroup row combines its partials with subgroup
// operations instead of the tree (subgroup_reduce.ts).
import { contiguousStrides, type DType, numel } from "../../dtype.ts";
import { CompileError } from "../../errors.ts";
import { iconst, type IndexExpr, ivar, ravel } from "../../inductor/index_expr.ts";
import type { IRBuffer, ReductionDef, ReductionType } from "../../inductor/ir.ts";
import { declareUnravel, type GroupInput, KernelContext } from "./kernel_context.ts";
import { foldGrid, type KernelSpec } from "./kernel_spec.ts";
import { ARGMAX_TAKES, MAXIMUM, MINIMUM, useHelper } from "./ieee.ts";
import { F32_NEG_INF, F32_POS_INF, literal, OPAQUE_ZERO_INIT, regType, Scope } from "./render.ts";
import {
  SUBGROUP_PARAMS,
  subgroupDecls,
  subgroupPrologue,
  subgroupReduce,
} from "./subgroup_reduce.ts";

/** Rows up to this length are reduced serially by one invocation. */
export const SERIAL_ROW_MAX = 32;

function identity(rtype: ReductionType, d: DType): string {
  switch (rtype) {
    case "sum":
      return literal(0, d);
    case "max":
    case "argmax":
      return d === "u32" ? "0u" : d === "i32" ? "i32(-2147483647 - 1)" : F32_NEG_INF;
    case "min":
      return d === "u32" ? "0xffffffffu" : d === "i32" ? "i32(2147483647)" : F32_POS_INF;
  }
}

/** acc ⊕ v. Float max/min propagate NaN (torch.max/min; WGSL's max/min may drop it). */
function combine(
  rtype: ReductionType,
  acc: string,
  v: string,
  d: DType,
  helpers: Set<string>,
): string {
  const float = d === "f32" || d === "f16";
  switch (rtype) {
    case "sum":
      return `${acc} + ${v}`;
    case "max":
      if (!float) return `max(${acc}, ${v})`;
      useHelper(helpers, MAXIMUM);
      return `maximum_f32(${acc}, ${v})`;
    case "min":
      if (!float) return `min(${acc}, ${v})`;
      useHelper(helpers, MINIMUM);
      return `minimum_f32(${acc}, ${v})`;
    case "argmax":
      throw new Error("argmax combines value and index");
  }
}

/** Does candidate value `v` at index `i` replace argmax's current (`c`, `ci`)? Floats: NaN is
 * the maximum and the first NaN wins (torch.argmax). */
function argmaxTakes(v: string, i: string, c: string, ci: string, d: DType, h: Set<string>) {
  if (d !== "f32" && d !== "f16") return `${v} > ${c} || (${v} == ${c} && ${i} < ${ci})`;
  useHelper(h, ARGMAX_TAKES);
  return `argmax_takes_f32(${v}, ${i}, ${c}, ${ci})`;
}

/** Classify how a member maps into the kernel's frame. */
function frame(m: IRBuffer, red: ReductionDef): "reduction" | "epilogue" | "full" | null {
  const d = m.def;
  if (d.kind === "reduction") {
    return d.spaceShape.join() === red.spaceShape.join() && d.space.join() === red.space.join()
      ? "reduction"
      : null;
  }
  if (d.kind !== "pointwise") return null;
  const nonOne = (s: number[]) => s.filter((x) => x !== 1).join();
  if (d.ranges.join() === red.spaceShape.join()) return "full";
  if (nonOne(d.ranges) === nonOne(red.ranges)) return "epilogue";
  return null;
}

export function genReduction(g: GroupInput): KernelSpec {
  const ctx = new KernelContext(g);
  const red = g.members.find((m) => m.def.kind === "reduction")!.def as ReductionDef;
  const rows = numel(red.ranges);
  const rlen = numel(red.rranges);
  const serial = rlen <= SERIAL_ROW_MAX;
  // GPUs like wide workgroups; CPU adapters (SIMD lanes over invocations) prefer 64: fewer
  // barrier steps and more rows in flight (chosen per adapter at prepare, see autotune.ts)
  const wgMax = g.reductionWorkgroup ?? 256;
  const WG = serial ? 64 : Math.min(wgMax, Math.max(32, 2 ** Math.ceil(Math.log2(rlen))));
  const subgroups = !serial && g.subgroups === true;
  const xIdx = red.ranges.map((s, i) => (s === 1 ? iconst(0) : ivar(`x${i}`, s)));
  const rowKey = ravel(xIdx, contiguousStrides(red.ranges)).key;
  // kernel-frame index of each source-space dim
  const spaceIdx = new Map<string, IndexExpr>();
  red.space.forEach((name, d) =>
    spaceIdx.set(name, red.spaceShape[d] === 1 ? iconst(0) : ivar(name, red.spaceShape[d]))
  );

  const top = new Scope(ctx);
  const body: string[] = [];
  const shared: string[] = [];
  const stored: string[] = [];
  let phase = 0;

  const rLoop = (emitInner: (s: Scope) => void): void => {
    const inner = top.child();
    const rDecl = declareUnravel("rr", "r", red.rranges);
    emitInner(inner);
    const start = serial ? "0u" : "lid";
    const step = serial ? "1u" : `${WG}u`;
    body.push(`for (var rr = ${start}; rr < ${rlen}u; rr = rr + ${step}) {`);
    body.push(...rDecl.map((l) => "  " + l), ...inner.lines.map((l) => "  " + l), "}");
  };

  for (const m of g.members) {
    const kind = frame(m, red);
    if (!kind) {
      throw new CompileError(`kernel ${g.name}: member ${m.name} does not fit the reduction frame`);
    }
    const flushTop = () => {
      body.push(...top.lines);
      top.lines.length = 0;
    };
    if (kind === "reduction") {
      const d = m.def as ReductionDef;
      const accT = regType(m.dtype);
      const valT = d.body.dtype;
      const acc = `acc${phase}`;
      const accIdx = `acci${phase}`;
      flushTop();
      if (d.rtype === "argmax") {
        // 0xffffffff: no element seen yet (an invocation past the row's end keeps it)
        body.push(`var ${acc} = ${identity("max", valT)};`, `var ${accIdx} = 0xffffffffu;`);
      } else body.push(`var ${acc} = ${identity(d.rtype, m.dtype)};`);
      rLoop((s) => {
        const v = s.value(ctx.body(d.body, spaceIdx));
        if (d.rtype === "argmax") {
          // the loop visits indices in increasing order: a later equal value never wins
          const takes = argmaxTakes(v, "rr", acc, accIdx, valT, top.helpers);
          s.emit(`if (${accIdx} == 0xffffffffu || ${takes}) { ${acc} = ${v}; ${accIdx} = rr; }`);
        } else s.emit(`${acc} = ${combine(d.rtype, acc, v, valT, top.helpers)};`);
      });
      let result = acc;
      if (subgroups) {
        const sh = `sh${phase}`;
        const vt = d.rtype === "argmax" ? regType(valT) : accT;
        shared.push(`var<workgroup> ${sh}: array<${vt}, ${WG}>;`);
        if (d.rtype === "argmax") shared.push(`var<workgroup> ${sh}i: array<u32, ${WG}>;`);
        result = `red${phase}`;
        body.push(...subgroupReduce({
          rtype: d.rtype,
          valueType: vt,
          acc,
          accIdx,
          sh,
          result,
          identity: d.rtype === "argmax" ? identity("max", valT) : identity(d.rtype, m.dtype),
          combine: (a, b) => combine(d.rtype, a, b, m.dtype, top.helpers),
          wg: WG,
        }, top.helpers));
      } else if (!serial) {
        const sh = `sh${phase}`;
        const vt = d.rtype === "argmax" ? regType(valT) : accT;
        shared.push(`var<workgroup> ${sh}: array<${vt}, ${WG}>;`);
        body.push(`${sh}[lid] = ${acc};`);
        if (d.rtype === "argmax") {
          shared.push(`var<workgroup> ${sh}i: array<u32, ${WG}>;`);
          body.push(`${sh}i[lid] = ${accIdx};`);
        }
        body.push(`workgroupBarrier();`);
        for (let s = WG / 2; s >= 1; s /= 2) {
          if (d.rtype === "argmax") {
            const takes = argmaxTakes("ov", "oi", `${sh}[lid]`, `${sh}i[lid]`, valT, top.helpers);
            body.push(
              `if (lid < ${s}u) { let ov = ${sh}[lid + ${s}u]; let oi = ${sh}i[lid + ${s}u]; ` +
                `if (oi != 0xffffffffu && (${sh}i[lid] == 0xffffffffu || ${takes})) { ${sh}[lid] = ov; ${sh}i[lid] = oi; } }`,
            );
          } else {
            body.push(
              `if (lid < ${s}u) { ${sh}[lid] = ${
                combine(d.rtype, `${sh}[lid]`, `${sh}[lid + ${s}u]`, m.dtype, top.helpers)
              }; }`,
            );
          }
          body.push(`workgroupBarrier();`);
        }
        result = `red${phase}`;
        body.push(`let ${result} = ${d.rtype === "argmax" ? `i32(${sh}i[0])` : `${sh}[0]`};`);
        // the next phase reuses no shared array, but keep reads ordered before any rewrite
        body.push(`workgroupBarrier();`);
      } else if (d.rtype === "argmax") {
        result = `red${phase}`;
        body.push(`let ${result} = i32(${accIdx});`);
      }
      ctx.regs.set(m.name, { rowKey, reg: result, dtype: m.dtype });
      top.regs.set(result, result);
      if (g.stores.has(m.name)) {
        const st = serial ? "" : "if (lid == 0u) ";
        const at = top.index(ravel(xIdx, contiguousStrides(red.ranges)));
        body.push(`${st}{ ${ctx.storeStmt(m, at, result, m.dtype)} }`);
        stored.push(m.name);
      }
      phase++;
    } else if (kind === "epilogue") {
      if (!g.stores.has(m.name)) continue;
      const d = m.def;
      if (d.kind !== "pointwise") continue;
      // map the member's non-1 dims onto the reduction's outer vars in order
      const outer = xIdx.filter((_, i) => red.ranges[i] !== 1);
      let j = 0;
      const vars = new Map<string, IndexExpr>();
      d.ranges.forEach((s, i) => vars.set(`x${i}`, s === 1 ? iconst(0) : outer[j++]));
      flushTop();
      const s = top.child();
      const v = s.value(ctx.body(d.body, vars));
      const idx = ravel([...vars.values()], contiguousStrides(d.ranges));
      s.emit(ctx.storeStmt(m, s.index(idx), v, d.body.dtype, s.helpers));
      body.push(serial ? "{" : "if (lid == 0u) {", ...s.lines.map((l) => "  " + l), "}");
      stored.push(m.name);
    } else {
      if (!g.stores.has(m.name)) continue;
      const d = m.def;
      if (d.kind !== "pointwise") continue;
      const vars = new Map<string, IndexExpr>();
      red.space.forEach((name, i) => vars.set(`x${i}`, spaceIdx.get(name)!));
      flushTop();
      rLoop((s) => {
        const v = s.value(ctx.body(d.body, vars));
        const idx = ravel([...vars.values()], contiguousStrides(d.ranges));
        s.emit(ctx.storeStmt(m, s.index(idx), v, d.body.dtype, s.helpers));
      });
      stored.push(m.name);
    }
  }
  body.push(...top.lines);

  const rowDecl = declareUnravel("row", "x", red.ranges);
  let src: string;
  let grid: [number, number, number];
  if (serial) {
    src = [
      ctx.declarations(),
      ...top.helpers,
      `@compute @workgroup_size(${WG})`,
      `fn main(@builtin(global_invocation_id) gid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`,
      `  ${OPAQUE_ZERO_INIT}`,
      `  let row = gid3.x + gid3.y * nwg.x * ${WG}u;`,
      `  if (row >= ${rows}u) { return; }`,
      ...rowDecl.map((l) => "  " + l),
      ...body.map((l) => "  " + l),
      `}`,
      "",
    ].join("\n");
    grid = foldGrid(Math.ceil(rows / WG));
  } else {
    src = [
      ...(subgroups ? ["enable subgroups;"] : []),
      ctx.declarations(),
      ...(subgroups ? subgroupDecls(WG) : []),
      ...shared,
      ...top.helpers,
      `@compute @workgroup_size(${WG})`,
      `fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>${
        subgroups ? `, ${SUBGROUP_PARAMS}` : ""
      }) {`,
      `  ${OPAQUE_ZERO_INIT}`,
      `  let row = wid.x + wid.y * nwg.x;`,
      // uniform: every invocation of a workgroup shares `row`
      `  if (row >= ${rows}u) { return; }`,
      ...rowDecl.map((l) => "  " + l),
      ...(subgroups ? subgroupPrologue().map((l) => "  " + l) : []),
      ...body.map((l) => "  " + l),
      `}`,
      "",
    ].join("\n");
    grid = foldGrid(rows);
  }
  return {
    name: g.name,
    wgsl: src,
    bindings: ctx.bindings,
    workgroups: grid,
    computes: g.members.map((m) => m.name),
    stores: stored,
  };
}
