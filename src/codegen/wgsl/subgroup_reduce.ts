// Workgroup-per-row reductions with subgroup operations (the `subgroups` feature): each subgroup
// combines its invocations' partials with one subgroupAdd/Max/Min, its leader writes the result
// to workgroup memory, and after a single barrier every invocation folds the leaders' partials
// in order. This replaces the log2(workgroup) barrier steps of the tree reduction.
//
// WebGPU promises no mapping between local_invocation_index and subgroups (subgroups need not be
// contiguous ranges, and their count is not workgroup / subgroup_size when they are partial), so
// the kernel first records which invocations lead a subgroup in a bit mask; the fold walks the
// mask, which also makes the combine order fixed for a given adapter (deterministic sums).
//
// NaN: torch's max/min propagate NaN, but SPIR-V leaves subgroup min/max of a NaN undefined, so a
// subgroup with a NaN partial yields NaN explicitly (subgroupAny), and argmax picks the first
// NaN, as torch does. The fold uses the codegen's own `combine` under the same NaN rule.
import type { ReductionType } from "../../inductor/ir.ts";
import { F32_NAN } from "./render.ts";
import { SHADERS } from "./shaders.generated.ts";

/** NaN test on the bits: `x != x` may be folded away by fast-math compilers (shaders/ieee/is_nan.wgsl). */
export const IS_NAN_HELPER: string = SHADERS["ieee/is_nan"];

/** Workgroup-scope declarations of a subgroup reduction kernel with workgroup size `wg`. */
export function subgroupDecls(wg: number): string[] {
  return [`var<workgroup> sg_lead: array<atomic<u32>, ${Math.ceil(wg / 32)}>;`];
}

/** Entry-point builtin parameters the subgroup path needs (besides `lid`). */
export const SUBGROUP_PARAMS = "@builtin(subgroup_invocation_id) sid: u32";

/** Lines run once per workgroup before any reduction: mark each subgroup's leader. */
export function subgroupPrologue(): string[] {
  return [
    `if (sid == 0u) { atomicOr(&sg_lead[lid >> 5u], 1u << (lid & 31u)); }`,
    `workgroupBarrier();`,
  ];
}

export interface SubgroupPhase {
  rtype: ReductionType;
  /** Register type of the values combined (f32, i32, u32). */
  valueType: string;
  /** Per-invocation accumulator (and its index register for argmax). */
  acc: string;
  accIdx: string;
  /** Workgroup arrays (value, and `${sh}i` for argmax) of `wg` entries. */
  sh: string;
  /** Name of the register holding the row's result afterwards. */
  result: string;
  /** Identity of the combine (for argmax: of max over the values). */
  identity: string;
  /** The codegen's combine of two partials (sum/max/min). */
  combine: (a: string, b: string) => string;
  wg: number;
}

/** Lines reducing `acc` (and `accIdx`) across the workgroup into `result`; `helpers` receives
 * the module-scope functions they call. */
export function subgroupReduce(p: SubgroupPhase, helpers: Set<string>): string[] {
  const float = p.valueType === "f32";
  if (float && p.rtype !== "sum") helpers.add(IS_NAN_HELPER);
  const nan = (x: string) => `is_nan_f32(${x})`;
  const words = Math.ceil(p.wg / 32);
  const fold = (stmt: string[]): string[] => [
    `for (var w = 0u; w < ${words}u; w = w + 1u) {`,
    `  var bits = atomicLoad(&sg_lead[w]);`,
    `  loop {`,
    `    if (bits == 0u) { break; }`,
    `    let j = w * 32u + firstTrailingBit(bits);`,
    ...stmt.map((l) => "    " + l),
    `    bits = bits & (bits - 1u);`,
    `  }`,
    `}`,
  ];
  const out: string[] = [];
  if (p.rtype === "argmax") {
    const [v, vi] = [p.acc, p.accIdx];
    out.push(`{`, `  let m = subgroupMax(${v});`);
    if (float) {
      out.push(
        `  let any_nan = subgroupAny(${nan(v)});`,
        `  let cand = select(${v} == m, ${nan(v)}, any_nan);`,
        `  let pv = select(m, ${F32_NAN}, any_nan);`,
      );
    } else out.push(`  let cand = ${v} == m;`, `  let pv = m;`);
    out.push(
      `  let pi = subgroupMin(select(0xffffffffu, ${vi}, cand));`,
      `  if (sid == 0u) { ${p.sh}[lid] = pv; ${p.sh}i[lid] = pi; }`,
      `}`,
      `workgroupBarrier();`,
      `var ${p.result}v = ${p.identity};`,
      `var ${p.result}i = 0xffffffffu;`,
    );
    const [rv, ri] = [`${p.result}v`, `${p.result}i`];
    const better = float
      ? `(${nan("ov")} && (!${nan(rv)} || oi < ${ri})) || (!${nan(rv)} && !${nan("ov")} && ` +
        `(ov > ${rv} || (ov == ${rv} && oi < ${ri})))`
      : `ov > ${rv} || (ov == ${rv} && oi < ${ri})`;
    out.push(
      ...fold([
        `let ov = ${p.sh}[j];`,
        `let oi = ${p.sh}i[j];`,
        `if (${better}) { ${rv} = ov; ${ri} = oi; }`,
      ]),
      `let ${p.result} = i32(${ri});`,
    );
    return out;
  }
  const op = p.rtype === "sum" ? "subgroupAdd" : p.rtype === "max" ? "subgroupMax" : "subgroupMin";
  out.push(`{`);
  if (float && p.rtype !== "sum") {
    out.push(
      `  let part = select(${op}(${p.acc}), ${F32_NAN}, subgroupAny(${nan(p.acc)}));`,
    );
  } else out.push(`  let part = ${op}(${p.acc});`);
  out.push(
    `  if (sid == 0u) { ${p.sh}[lid] = part; }`,
    `}`,
    `workgroupBarrier();`,
    `var ${p.result} = ${p.identity};`,
  );
  const r = p.result;
  const combined = float && p.rtype !== "sum"
    ? `select(${p.combine(r, "o")}, ${F32_NAN}, ${nan(r)} || ${nan("o")})`
    : p.combine(r, "o");
  out.push(...fold([`let o = ${p.sh}[j];`, `${r} = ${combined};`]));
  return out;
}
