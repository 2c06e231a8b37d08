// Reduction kernels. The group shares one source space (the shape being reduced) split into
// outer dims x* and reduced dims r*. Phases run in member order: each reduction loops over r
// and combines into a register; epilogue members (over the outer space) and full members
// (over the source space) are stored after the reductions they read.
// The layout (reduction_layout.ts) puts `rows` rows in a workgroup with `lanes` invocations per
// row: lanes 1 is a serial loop per invocation (no shared memory, no barrier); more lanes stride
// over the row and combine their partials with a workgroup-memory tree over each row's lanes, or,
// where the adapter has subgroups and one row fills the workgroup, with subgroup operations
// (subgroup_reduce.ts). With `vec` 4 each step takes four neighbouring elements of the innermost
// reduced dim (vec4 loads, one accumulator per element, vector_access.ts).
import { contiguousStrides, type DType, numel } from "../../dtype.ts";
import { config } from "../../config.ts";
import { CompileError } from "../../errors.ts";
import { iadd, iconst, imul, type IndexExpr, ivar, ravel } from "../../inductor/index_expr.ts";
import type { IRBuffer, ReductionDef, ReductionType } from "../../inductor/ir.ts";
import { hasLeafFreeOf } from "../../inductor/value_expr.ts";
import { declareUnravel, type GroupInput, KernelContext, vectorizeOn } from "./kernel_context.ts";
import {
  chooseReductionLayout,
  forcedLayout,
  hasRowInvariantLoad,
  type ReductionLayout,
  type ReductionShape,
} from "./reduction_layout.ts";
import { vectorDim } from "./pointwise_vector.ts";
import { settleVectorBindings, type VectorAccess } from "./vector_access.ts";
import { foldGrid, type KernelSpec } from "./kernel_spec.ts";
import { ARGMAX_TAKES, MAXIMUM, MINIMUM, opaqueStep, useHelper } from "./ieee.ts";
import { F32_NEG_INF, F32_POS_INF, literal, OPAQUE_ZERO_INIT, regType, Scope } from "./render.ts";
import {
  SUBGROUP_PARAMS,
  subgroupDecls,
  subgroupPrologue,
  subgroupReduce,
} from "./subgroup_reduce.ts";

export { SERIAL_ROW_MAX } from "./reduction_layout.ts";

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

/** The shape facts a reduction group's layout is chosen from. */
export function reductionShape(g: GroupInput): ReductionShape {
  const red = g.members.find((m) => m.def.kind === "reduction")!.def as ReductionDef;
  const argmax = g.members.some((m) => m.def.kind === "reduction" && m.def.rtype === "argmax");
  return {
    rows: numel(red.ranges),
    rlen: numel(red.rranges),
    vectorizable: vectorizeOn(g) && !argmax && vectorDim(red.rranges) >= 0,
    wgMax: g.reductionWorkgroup ?? 256,
    adapterClass: g.adapterClass ?? "gpu",
    rowInvariant: hasRowInvariantLoad(g.members, red),
  };
}

/** The layout a reduction group runs with: given, forced by inductor.reductionLayout, or chosen
 * by shape and adapter class. */
export function reductionLayoutFor(g: GroupInput): ReductionLayout {
  if (g.reductionLayout) return g.reductionLayout;
  const s = reductionShape(g);
  return forcedLayout(config.str("inductor.reductionLayout"), s) ?? chooseReductionLayout(s);
}

export function genReduction(g: GroupInput): KernelSpec {
  const layout = reductionLayoutFor(g);
  if (layout.vec === 1) return renderReduction(g, layout, new KernelContext(g));
  // vec4 steps: settle which bindings are vectors; without any vector access, scalar steps
  return settleVectorBindings(true, (vec) => {
    const spec = renderReduction(g, layout, new KernelContext(g, vec));
    return vec.used.size ? spec : renderReduction(g, { ...layout, vec: 1 }, new KernelContext(g));
  });
}

function renderReduction(g: GroupInput, layout: ReductionLayout, ctx: KernelContext): KernelSpec {
  const vec: VectorAccess = ctx.vec;
  const red = g.members.find((m) => m.def.kind === "reduction")!.def as ReductionDef;
  const rows = numel(red.ranges);
  const rlen = numel(red.rranges);
  const R = layout.rows, L = layout.lanes, V = layout.vec;
  const serial = L === 1;
  // a serial layout may reduce P rows per invocation: loads that do not depend on the row
  // (matvec's x, a norm's weight) are shared, and the rows' accumulators are independent
  const P = serial ? layout.perLane ?? 1 : 1;
  const WG = serial ? R / P : R * L;
  // one row per workgroup keeps the classic names (lid is the lane, the row's head is 0)
  const lane = R === 1 ? "lid" : "lane";
  const head = R === 1 ? "0" : "lid - lane";
  // a partial last workgroup of several rows: its spare lanes compute a copy of the last row
  // (barriers need every invocation) and store nothing
  const spare = !serial && R > 1 && rows % R !== 0;
  const subgroups = !serial && R === 1 && g.subgroups === true;
  /** Name suffix of row p's variables and registers (none for the first row). */
  const sfx = (p: number) => (p === 0 ? "" : `_${p}`);
  const xIdxOf = (p: number) =>
    red.ranges.map((s, i) => (s === 1 ? iconst(0) : ivar(`x${i}${sfx(p)}`, s)));
  /** Per row: reduction results in registers (set into ctx.regs while that row renders). */
  const rowRegs = Array.from(
    { length: P },
    () => new Map<string, { rowKey: string; reg: string; dtype: DType }>(),
  );
  const useRow = (p: number) => {
    for (const [k, v] of rowRegs[p]) ctx.regs.set(k, v);
  };
  // the innermost reduced dim steps by V: its var counts groups of V
  const vd = V === 1 ? -1 : vectorDim(red.rranges);
  const rFrame = red.rranges.map((s, i) => (i === vd ? s / V : s));
  const steps = rlen / V;
  // kernel-frame index of each source-space dim, for element j of a step of row p
  const spaceIdxAt = (j: number, p: number) => {
    const m = new Map<string, IndexExpr>();
    red.space.forEach((name, d) => {
      const size = red.spaceShape[d];
      if (vd >= 0 && name === `r${vd}`) {
        m.set(name, iadd(imul(size === V ? iconst(0) : ivar(name, size / V), V), iconst(j)));
      } else if (name.startsWith("x")) {
        m.set(name, size === 1 ? iconst(0) : ivar(`${name}${sfx(p)}`, size));
      } else m.set(name, size === 1 ? iconst(0) : ivar(name, size));
    });
    return m;
  };

  const top = new Scope(ctx);
  const body: string[] = [];
  const shared: string[] = [];
  const stored: string[] = [];
  let phase = 0;

  /** One loop over the rows; `emitStep(scope, vars, j, p)` renders element j of a step of
   * row p (all in one scope, so that loads not depending on the row or element are shared). */
  const rLoop = (
    emitStep: (s: Scope, vars: Map<string, IndexExpr>, j: number, p: number) => void,
  ): void => {
    const inner = top.child();
    const rDecl = declareUnravel("rr", "r", rFrame);
    for (let p = 0; p < P; p++) {
      useRow(p);
      for (let j = 0; j < V; j++) {
        if (V > 1) vec.lanes = [j];
        emitStep(inner, spaceIdxAt(j, p), j, p);
      }
    }
    vec.lanes = [];
    useRow(0);
    const start = serial ? "0u" : lane === "lid" ? "lid" : "lane";
    const step = serial ? "1u" : `${L}u`;
    body.push(`for (var rr = ${start}; rr < ${steps}u; rr = rr + ${step}) {`);
    body.push(...rDecl.map((l) => "  " + l), ...inner.lines.map((l) => "  " + l), "}");
  };
  /** Guard of per-row stores: the row's first lane (and a real row). */
  const rowStoreGuard = serial ? "" : `if (${lane} == 0u${spare ? " && live" : ""}) `;

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
      // row p's registers: acc<phase>r<p> (acc<phase>_<j> are element accumulators)
      const rs = (p: number) => (p === 0 ? "" : `r${p}`);
      const accOf = (p: number) => `acc${phase}${rs(p)}`;
      const accIdxOf = (p: number) => `acci${phase}${rs(p)}`;
      const acc = accOf(0);
      const accIdx = accIdxOf(0);
      flushTop();
      for (let p = 0; p < P; p++) {
        const [a, ai] = [accOf(p), accIdxOf(p)];
        if (d.rtype === "argmax") {
          // 0xffffffff: no element seen yet (an invocation past the row's end keeps it)
          body.push(`var ${a} = ${identity("max", valT)};`, `var ${ai} = 0xffffffffu;`);
        } else if (V === 1) body.push(`var ${a} = ${identity(d.rtype, m.dtype)};`);
        else {
          for (let j = 0; j < V; j++) body.push(`var ${a}_${j} = ${identity(d.rtype, m.dtype)};`);
        }
      }
      // a float sum whose body reads a value that is the same at every step (a broadcast
      // operand, a literal, an earlier phase's register) gets a distinct opaque copy per step:
      // unrolled, a*b0 + a*b1 would be factored into a*(b0 + b1) (ieee.ts opaqueStep)
      const perStep = d.rtype === "sum" && (valT === "f32" || valT === "f16") &&
        hasLeafFreeOf(d.body, new Set(d.space.filter((x) => x.startsWith("r"))));
      rLoop((s, vars, j, p) => {
        const v0 = s.value(ctx.body(d.body, vars));
        const v = perStep ? opaqueStep(v0, V === 1 ? "rr" : `rr * ${V}u + ${j}u`) : v0;
        const [a, ai] = [accOf(p), accIdxOf(p)];
        if (d.rtype === "argmax") {
          // the loop visits indices in increasing order: a later equal value never wins
          const takes = argmaxTakes(v, "rr", a, ai, valT, top.helpers);
          s.emit(`if (${ai} == 0xffffffffu || ${takes}) { ${a} = ${v}; ${ai} = rr; }`);
        } else if (V === 1) s.emit(`${a} = ${combine(d.rtype, a, v, valT, top.helpers)};`);
        else {
          s.emit(`${a}_${j} = ${combine(d.rtype, `${a}_${j}`, v, valT, top.helpers)};`);
        }
      });
      if (V > 1 && d.rtype !== "argmax") {
        // fold the per-element accumulators pairwise
        const c = (a: string, b: string) => combine(d.rtype, a, b, m.dtype, top.helpers);
        for (let p = 0; p < P; p++) {
          const a = accOf(p);
          body.push(
            `let ${a}_01 = ${c(`${a}_0`, `${a}_1`)};`,
            `let ${a}_23 = ${c(`${a}_2`, `${a}_3`)};`,
            `var ${a} = ${c(`${a}_01`, `${a}_23`)};`,
          );
        }
      }
      const results = Array.from({ length: P }, (_, p) => accOf(p));
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
        for (let s = L / 2; s >= 1; s /= 2) {
          if (d.rtype === "argmax") {
            const takes = argmaxTakes("ov", "oi", `${sh}[lid]`, `${sh}i[lid]`, valT, top.helpers);
            body.push(
              `if (${lane} < ${s}u) { let ov = ${sh}[lid + ${s}u]; let oi = ${sh}i[lid + ${s}u]; ` +
                `if (oi != 0xffffffffu && (${sh}i[lid] == 0xffffffffu || ${takes})) { ${sh}[lid] = ov; ${sh}i[lid] = oi; } }`,
            );
          } else {
            body.push(
              `if (${lane} < ${s}u) { ${sh}[lid] = ${
                combine(d.rtype, `${sh}[lid]`, `${sh}[lid + ${s}u]`, m.dtype, top.helpers)
              }; }`,
            );
          }
          body.push(`workgroupBarrier();`);
        }
        result = `red${phase}`;
        body.push(
          `let ${result} = ${d.rtype === "argmax" ? `i32(${sh}i[${head}])` : `${sh}[${head}]`};`,
        );
        // the next phase reuses no shared array, but keep reads ordered before any rewrite
        body.push(`workgroupBarrier();`);
      } else if (d.rtype === "argmax") {
        for (let p = 0; p < P; p++) {
          results[p] = `red${phase}${rs(p)}`;
          body.push(`let ${results[p]} = i32(${accIdxOf(p)});`);
        }
        result = results[0];
      }
      results[0] = result;
      for (let p = 0; p < P; p++) {
        const rowKey = ravel(xIdxOf(p), contiguousStrides(red.ranges)).key;
        rowRegs[p].set(m.name, { rowKey, reg: results[p], dtype: m.dtype });
        top.regs.set(results[p], results[p]);
      }
      useRow(0);
      if (g.stores.has(m.name)) {
        for (let p = 0; p < P; p++) {
          const at = top.index(ravel(xIdxOf(p), contiguousStrides(red.ranges)));
          body.push(`${rowStoreGuard}{ ${ctx.storeStmt(m, at, results[p], m.dtype)} }`);
        }
        stored.push(m.name);
      }
      phase++;
    } else if (kind === "epilogue") {
      if (!g.stores.has(m.name)) continue;
      const d = m.def;
      if (d.kind !== "pointwise") continue;
      flushTop();
      for (let p = 0; p < P; p++) {
        useRow(p);
        // map the member's non-1 dims onto the reduction's outer vars in order
        const outer = xIdxOf(p).filter((_, i) => red.ranges[i] !== 1);
        let j = 0;
        const vars = new Map<string, IndexExpr>();
        d.ranges.forEach((s, i) => vars.set(`x${i}`, s === 1 ? iconst(0) : outer[j++]));
        const s = top.child();
        const v = s.value(ctx.body(d.body, vars));
        const idx = ravel([...vars.values()], contiguousStrides(d.ranges));
        s.emit(ctx.storeStmt(m, s.index(idx), v, d.body.dtype, s.helpers));
        body.push(serial ? "{" : `${rowStoreGuard}{`, ...s.lines.map((l) => "  " + l), "}");
      }
      useRow(0);
      stored.push(m.name);
    } else {
      if (!g.stores.has(m.name)) continue;
      const d = m.def;
      if (d.kind !== "pointwise") continue;
      flushTop();
      let idxs: IndexExpr[] = [];
      let vs: string[] = [];
      rLoop((s, space) => {
        const vars = new Map<string, IndexExpr>();
        red.space.forEach((name, i) => vars.set(`x${i}`, space.get(name)!));
        const v = s.value(ctx.body(d.body, vars));
        const idx = ravel([...vars.values()], contiguousStrides(d.ranges));
        if (V === 1) {
          s.emit(spareGuard(spare, ctx.storeStmt(m, s.index(idx), v, d.body.dtype, s.helpers)));
          return;
        }
        idxs.push(idx);
        vs.push(v);
        if (idxs.length < V) return;
        const [iv, vv] = [idxs, vs];
        [idxs, vs] = [[], []];
        // the last element of a step: one vec4 store, or four scalar ones
        const st = ctx.vectorStoreStmt(m, iv, vv, d.body.dtype, s) ??
          iv.map((e, k) => ctx.storeStmt(m, s.index(e), vv[k], d.body.dtype, s.helpers))
            .join(" ");
        s.emit(spareGuard(spare, st));
      });
      stored.push(m.name);
    }
  }
  body.push(...top.lines);

  const rowDecl = declareUnravel("row", "x", red.ranges);
  let src: string;
  let grid: [number, number, number];
  if (serial) {
    // P rows per invocation: the last invocation's rows past the end repeat the last row
    const invocations = Math.ceil(rows / P);
    const rowLines = P === 1
      ? [`let row = gid3.x + gid3.y * nwg.x * ${WG}u;`, `if (row >= ${rows}u) { return; }`]
      : [
        `let inv = gid3.x + gid3.y * nwg.x * ${WG}u;`,
        `if (inv >= ${invocations}u) { return; }`,
        `let row = inv * ${P}u;`,
        ...Array.from(
          { length: P - 1 },
          (_, q) => `let row_${q + 1} = min(row + ${q + 1}u, ${rows - 1}u);`,
        ),
      ];
    for (let p = 1; p < P; p++) {
      rowDecl.push(...declareUnravel(`row_${p}`, "x", red.ranges, `_${p}`));
    }
    src = [
      ctx.declarations(),
      ...top.helpers,
      `@compute @workgroup_size(${WG})`,
      `fn main(@builtin(global_invocation_id) gid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`,
      `  ${OPAQUE_ZERO_INIT}`,
      ...rowLines.map((l) => "  " + l),
      ...rowDecl.map((l) => "  " + l),
      ...body.map((l) => "  " + l),
      `}`,
      "",
    ].join("\n");
    grid = foldGrid(Math.ceil(invocations / WG));
  } else {
    const rowLines = R === 1
      ? [
        `let row = wid.x + wid.y * nwg.x;`,
        // uniform: every invocation of a workgroup shares `row`
        `if (row >= ${rows}u) { return; }`,
      ]
      : [
        `let lane = lid % ${L}u;`,
        `let row0 = (wid.x + wid.y * nwg.x) * ${R}u + lid / ${L}u;`,
        ...(spare ? [`let live = row0 < ${rows}u;`, `let row = min(row0, ${rows - 1}u);`] : [
          `let row = row0;`,
        ]),
      ];
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
      ...rowLines.map((l) => "  " + l),
      ...rowDecl.map((l) => "  " + l),
      ...(subgroups ? subgroupPrologue().map((l) => "  " + l) : []),
      ...body.map((l) => "  " + l),
      `}`,
      "",
    ].join("\n");
    grid = foldGrid(Math.ceil(rows / R));
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

function spareGuard(spare: boolean, stmt: string): string {
  return spare ? `if (live) { ${stmt} }` : stmt;
}
