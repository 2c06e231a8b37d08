// Raw WGSL variants of the gelu-16M kernel (out = gelu(x * a + b), x [rows, cols] f32, a and b
// per column, exact erf) and of probes that drop part of its work, for bench/pointwise_sweep.ts.
// Each variant changes one or a few of: the body (copy / mul+add / erf without exp / full gelu),
// workgroup size, vec4s per invocation and their arrangement, index math, the OPAQUE_ZERO copy
// per element (src/codegen/wgsl/ieee.ts opaqueCopy), and the erf form.

/** copy / muladd / noexp / gelu: the kernel's work, or part of it; op-NAME: mul+add, then the op
 * NAME (see OPS) applied 8 times on vec4 values, to time one op (minus muladd, over 8). */
export type Body = "copy" | "copy-atomic" | "muladd" | "noexp" | "gelu" | `op-${string}`;

/** Ops timed by the op-NAME probes: one step of each on a vec4<f32> `v`. */
export const OPS: Record<string, string> = {
  fma: "fma(v, vec4<f32>(0.999), vec4<f32>(0.001))",
  mul: "v * 0.999 + 0.001",
  exp: "exp(-v * v)",
  div: "1.0 / (1.0 + abs(v))",
  select: "select(v, -v, v < vec4<f32>(0.0))",
  erf: "erf_v4(v)",
  "erf-mul": "erf_v4(v)",
  opaque: "bitcast<vec4<f32>>(bitcast<vec4<u32>>(v) + vec4<u32>(OPAQUE_ZERO))",
};
/** scalar: erf_f32 per component (the codegen's ERF_HELPER); scalar-mul: the same with mul/add
 * instead of fma; vec4 / vec4-mul: one erf on vec4<f32> (fma / mul+add). */
export type ErfForm = "scalar" | "scalar-mul" | "vec4" | "vec4-mul";

export interface PointwiseVariant {
  name: string;
  body: Body;
  /** Workgroup size (x). */
  wg: number;
  /** Elements per access: 4 (array<vec4<f32>>) or 1 (array<f32>, lane-contiguous). */
  width: 1 | 4;
  /** Accesses (vec4s or scalars) per invocation. */
  per: number;
  /** contig: an invocation's accesses are neighbours; stride: they are a grid apart (whole rows
   * apart where the grid is whole rows: the column, and its a and b, are the same). */
  arrange: "contig" | "stride";
  /** divmod: row and column from `i / cols`, `i % cols`; grid2d: workgroup id y is the row
   * (no integer division); flat: per-column operands indexed by `i & (cols - 1)`; shift: as
   * divmod with `>>` and `&` (the same values for a power-of-two row length). */
  index: "divmod" | "shift" | "grid2d" | "flat";
  opaque: boolean;
  erf: ErfForm;
  /** `if (i >= n) { return; }` at the top (the codegen's guard). */
  guard: boolean;
  /** stride only: the accesses in a WGSL loop, not unrolled (fewer live registers); "plain":
   * the default's body (divmod index, a and b loaded) in a grid-stride loop, nothing hoisted. */
  loop?: boolean | "plain";
}

const BASE: PointwiseVariant = {
  name: "base",
  body: "gelu",
  wg: 256,
  width: 4,
  per: 1,
  arrange: "contig",
  index: "divmod",
  opaque: true,
  erf: "scalar",
  guard: true,
};

const v = (name: string, o: Partial<PointwiseVariant>): PointwiseVariant => ({
  ...BASE,
  ...o,
  name,
});

/** The candidates: the default's shape (base), the probes, then one change at a time and a few
 * combinations. */
export const VARIANTS: PointwiseVariant[] = [
  BASE,
  v("copy", { body: "copy" }),
  v("copy-per2-stride", { body: "copy", per: 2, arrange: "stride" }),
  v("copy-per4-stride", { body: "copy", per: 4, arrange: "stride" }),
  v("copy-per4", { body: "copy", per: 4 }),
  v("copy-per16-stride", { body: "copy", per: 16, arrange: "stride" }),
  v("copy-grid2d", { body: "copy", index: "grid2d", guard: false }),
  v("muladd", { body: "muladd" }),
  v("noexp", { body: "noexp" }),
  ...Object.keys(OPS).map((op) => v(`op-${op}`, { body: `op-${op}` })),
  v("wg64", { wg: 64 }),
  v("per2", { per: 2 }),
  v("per4", { per: 4 }),
  v("per4-stride", { per: 4, arrange: "stride" }),
  v("per4-stride-mul", { per: 4, arrange: "stride", erf: "scalar-mul" }),
  v("per4-stride-flat", { per: 4, arrange: "stride", index: "flat" }),
  v("per2-stride", { per: 2, arrange: "stride" }),
  v("per4-loop", { per: 4, arrange: "stride", loop: true }),
  v("per8-loop", { per: 8, arrange: "stride", loop: true }),
  v("per8-loop-plain", { per: 8, arrange: "stride", loop: "plain" }),
  v("per4-loop-plain", { per: 4, arrange: "stride", loop: "plain" }),
  v("per4-loop-v4mul", { per: 4, arrange: "stride", loop: true, erf: "vec4-mul" }),
  v("per16-loop", { per: 16, arrange: "stride", loop: true }),
  v("per2-stride-mul", { per: 2, arrange: "stride", erf: "scalar-mul" }),
  v("per2-stride-v4", { per: 2, arrange: "stride", erf: "vec4" }),
  v("per2-stride-v4mul", { per: 2, arrange: "stride", erf: "vec4-mul" }),
  v("per2-stride-v4mul-shift", { per: 2, arrange: "stride", erf: "vec4-mul", index: "shift" }),
  v("per4-stride-v4mul", { per: 4, arrange: "stride", erf: "vec4-mul" }),
  v("per8-stride-v4mul", { per: 8, arrange: "stride", erf: "vec4-mul" }),
  v("muladd-per4-stride", { body: "muladd", per: 4, arrange: "stride" }),
  v("grid2d", { index: "grid2d", guard: false }),
  v("flat", { index: "flat" }),
  v("noguard", { guard: false }),
  v("shift", { index: "shift" }),
  v("shift-noguard", { index: "shift", guard: false }),
  v("shift-noopaque", { index: "shift", opaque: false }),
  v("per4-stride-shift", { index: "shift", per: 4, arrange: "stride" }),
  v("noopaque", { opaque: false }),
  v("erf-mul", { erf: "scalar-mul" }),
  v("erf-vec4", { erf: "vec4" }),
  v("erf-vec4-mul", { erf: "vec4-mul" }),
  v("scalar", { width: 1 }),
  v("scalar4-stride", { width: 1, per: 4, arrange: "stride" }),
  v("copy-scalar", { body: "copy", width: 1 }),
  // atomics take SwiftShader's other load/store path: one SIMD access where the four lanes'
  // offsets turn out sequential at runtime, instead of a per-lane gather/scatter
  v("copy-atomic", { body: "copy-atomic", width: 1 }),
  v("muladd-scalar", { body: "muladd", width: 1 }),
  v("vec4-mul-grid2d", { erf: "vec4-mul", index: "grid2d", guard: false }),
  v("vec4-grid2d-per4", { erf: "vec4", index: "grid2d", guard: false, per: 4 }),
];

const ERF_SCALAR = (fma: boolean) => {
  const f = (a: string, b: string, c: string) =>
    fma ? `fma(${a}, ${b}, ${c})` : `(${a} * ${b} + ${c})`;
  return `fn erf_f32(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / ${f("0.3275911", "a", "1.0")};
  let p = ${
    f(
      f(f(f("1.061405429", "t", "-1.453152027"), "t", "1.421413741"), "t", "-0.284496736"),
      "t",
      "0.254829592",
    )
  } * t;
  let y = ${f("-p", "exp(-a * a)", "1.0")};
  return select(y, -y, x < 0.0);
}`;
};

const ERF_VEC4 = (fma: boolean) => {
  const s = (c: string) => `vec4<f32>(${c})`;
  const f = (a: string, b: string, c: string) =>
    fma ? `fma(${a}, ${b}, ${c})` : `(${a} * ${b} + ${c})`;
  return `fn erf_v4(x: vec4<f32>) -> vec4<f32> {
  let a = abs(x);
  let t = 1.0 / ${f(s("0.3275911"), "a", s("1.0"))};
  let p = ${
    f(
      f(
        f(f(s("1.061405429"), "t", s("-1.453152027")), "t", s("1.421413741")),
        "t",
        s("-0.284496736"),
      ),
      "t",
      s("0.254829592"),
    )
  } * t;
  let y = ${f("-p", "exp(-a * a)", s("1.0"))};
  return select(y, -y, x < vec4<f32>(0.0));
}`;
};

/** erf without its exp (a probe: the polynomial and division only). */
const ERF_NOEXP = `fn erf_f32(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / fma(0.3275911, a, 1.0);
  let p = fma(fma(fma(fma(1.061405429, t, -1.453152027), t, 1.421413741), t, -0.284496736), t, 0.254829592) * t;
  let y = fma(-p, a, 1.0);
  return select(y, -y, x < 0.0);
}`;

/** float64 reference of one output element for a body. */
export function reference(body: Body, x: number, a: number, b: number): number {
  if (body.startsWith("op-")) return NaN; // probes: not checked
  if (body === "copy" || body === "copy-atomic") return x;
  const u = Math.fround(x * a) + b;
  if (body === "muladd") return u;
  if (body === "noexp") {
    const s = Math.abs(u * Math.SQRT1_2), t = 1 / (1 + 0.3275911 * s);
    const p = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t +
      0.254829592) * t;
    const y = 1 - p * s;
    return 0.5 * u * (1 + (u < 0 ? -y : y));
  }
  return 0.5 * u * (1 + erf64(u * Math.SQRT1_2));
}

/** erf to ~1e-15 (Taylor series near 0, continued fraction beyond). */
export function erf64(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax > 6) return Math.sign(x);
  if (ax < 2.5) {
    let sum = 0, term = ax;
    for (let n = 0; n < 200; n++) {
      sum += term / (2 * n + 1);
      term *= -ax * ax / (n + 1);
      if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction (Lentz)
  let f = ax, c = ax, d = 0;
  for (let n = 1; n < 200; n++) {
    const an = n / 2;
    d = ax + an * d;
    d = 1 / d;
    c = ax + an / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

/** Workgroup counts of a variant on [rows, cols]. */
export function workgroupsOf(p: PointwiseVariant, rows: number, cols: number): [number, number] {
  const perRow = cols / (p.width * p.per);
  if (p.index === "grid2d") {
    if (perRow % p.wg) throw new Error(`${p.name}: ${perRow} invocations per row, wg ${p.wg}`);
    return [perRow / p.wg, rows];
  }
  const n = rows * perRow;
  if (n % p.wg) throw new Error(`${p.name}: ${n} invocations, wg ${p.wg}`);
  const g = n / p.wg;
  // a dispatch dimension is at most 65535 workgroups: fold into y (as the codegen does)
  return g <= 65535 ? [g, 1] : [g / 16, 16];
}

/** The WGSL of a variant on [rows, cols] (cols a power of two, a multiple of width * per). */
export function variantWgsl(p: PointwiseVariant, rows: number, cols: number): string {
  const w = p.width, T = w === 4 ? "vec4<f32>" : "f32";
  const rowAcc = cols / w; // accesses per row
  const total = rows * rowAcc; // accesses in x
  const [gx] = workgroupsOf(p, rows, cols);
  const threads = p.index === "grid2d" ? rows * rowAcc / p.per : total / p.per;
  const lines: string[] = [];
  const opq = (e: string) =>
    !p.opaque
      ? e
      : w === 4
      ? `bitcast<vec4<f32>>(bitcast<vec4<u32>>(${e}) + vec4<u32>(OPAQUE_ZERO))`
      : `bitcast<f32>(bitcast<u32>(${e}) + OPAQUE_ZERO)`;
  const gelu1 = (u: string) => `(0.5 * ${u} * (1.0 + erf_f32(${u} * 0.7071067811865476)))`;
  // a stride of whole rows keeps the column: the per-column operands are loaded once
  const hoist = p.arrange === "stride" && p.index !== "grid2d" && threads % rowAcc === 0;
  const compute = (k: number, xi: string, ci: string): string[] => {
    const out = [`let x${k} = t0[${xi}];`];
    if (p.body === "copy") return [...out, `t3[${xi}] = x${k};`];
    if (p.body === "copy-atomic") return [`atomicStore(&t3[${xi}], atomicLoad(&t0[${xi}]));`];
    const [a, b] = hoist ? ["a0", "b0"] : [`t1[${ci}]`, `t2[${ci}]`];
    if (hoist && k === 0) {
      out.push(`let a0 = t1[${ci}];`, `let b0 = t2[${ci}];`);
    }
    out.push(`let u${k} = ${opq(`x${k} * ${a} + ${b}`)};`);
    if (p.body === "muladd") return [...out, `t3[${xi}] = u${k};`];
    if (p.body.startsWith("op-")) {
      const op = OPS[p.body.slice(3)];
      if (w !== 4 || !op) throw new Error(`${p.name}: no vec4 op ${p.body}`);
      out.push(`var v = u${k};`);
      for (let r = 0; r < 8; r++) out.push(`v = ${op};`);
      return [...out, `t3[${xi}] = v;`];
    }
    if (w === 1 || p.erf === "scalar" || p.erf === "scalar-mul" || p.body === "noexp") {
      const comps = w === 4 ? ["x", "y", "z", "w"].map((c) => `u${k}.${c}`) : [`u${k}`];
      const g = comps.map(gelu1);
      out.push(`t3[${xi}] = ${w === 4 ? `vec4<f32>(${g.join(", ")})` : g[0]};`);
    } else {
      out.push(`t3[${xi}] = 0.5 * u${k} * (1.0 + erf_v4(u${k} * 0.7071067811865476));`);
    }
    return out;
  };
  lines.push("var<private> OPAQUE_ZERO: u32;");
  if (p.body === "copy-atomic") {
    if (w !== 1) throw new Error(`${p.name}: atomics are scalar`);
    lines.push(`@group(0) @binding(0) var<storage, read_write> t0: array<atomic<u32>>;`);
  } else lines.push(`@group(0) @binding(0) var<storage, read> t0: array<${T}>;`);
  lines.push(`@group(0) @binding(1) var<storage, read> t1: array<${T}>;`);
  lines.push(`@group(0) @binding(2) var<storage, read> t2: array<${T}>;`);
  const T3 = p.body === "copy-atomic" ? "atomic<u32>" : T;
  lines.push(`@group(0) @binding(3) var<storage, read_write> t3: array<${T3}>;`);
  if (p.body === "noexp") lines.push(ERF_NOEXP);
  else if (p.body.startsWith("op-erf")) lines.push(ERF_VEC4(p.body === "op-erf"));
  else if (p.body === "gelu") {
    if (w === 1 || p.erf.startsWith("scalar")) lines.push(ERF_SCALAR(p.erf !== "scalar-mul"));
    else lines.push(ERF_VEC4(p.erf === "vec4"));
  }
  lines.push(`@compute @workgroup_size(${p.wg})`);
  lines.push(
    "fn main(@builtin(global_invocation_id) gid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {",
  );
  lines.push("  OPAQUE_ZERO = u32(arrayLength(&t0) == 0u);");
  if (p.index === "grid2d") {
    // row = workgroup y, the invocation's first access in the row from workgroup x
    lines.push(`  let row = wid.y;`);
    lines.push(`  let q = wid.x * ${p.wg}u + lid;`);
    for (let k = 0; k < p.per; k++) {
      const c = p.arrange === "contig" ? `q * ${p.per}u + ${k}u` : `q + ${k * (rowAcc / p.per)}u`;
      lines.push(`  let c${k} = ${c};`);
      lines.push(...compute(k, `row * ${rowAcc}u + c${k}`, `c${k}`).map((s) => "  " + s));
    }
  } else {
    lines.push(`  let gid = gid3.x + gid3.y * ${gx * p.wg}u;`);
    if (p.guard) lines.push(`  if (gid >= ${threads}u) { return; }`);
    if (p.loop === "plain") {
      lines.push(`  for (var k = 0u; k < ${p.per}u; k++) {`, `    let i1 = gid + k * ${threads}u;`);
      lines.push(`    let r1 = i1 / ${rowAcc}u;`, `    let c1 = i1 % ${rowAcc}u;`);
      const body = compute(1, `r1 * ${rowAcc}u + c1`, "c1").map((s) => "    " + s);
      lines.push(
        ...body.map((s) => s.replace(/\ba0\b/g, "t1[c1]").replace(/\bb0\b/g, "t2[c1]")),
        "  }",
      );
    } else if (p.loop) {
      if (!hoist) throw new Error(`${p.name}: a loop needs whole-row strides`);
      lines.push(`  let c = gid & ${rowAcc - 1}u;`, "  let a0 = t1[c];", "  let b0 = t2[c];");
      lines.push(`  for (var k = 0u; k < ${p.per}u; k++) {`, `    let i1 = gid + k * ${threads}u;`);
      lines.push(...compute(1, "i1", "c").map((s) => "    " + s), "  }");
    }
    for (let k = 0; k < (p.loop ? 0 : p.per); k++) {
      const i = p.arrange === "contig" ? `gid * ${p.per}u + ${k}u` : `gid + ${k * threads}u`;
      lines.push(`  let i${k} = ${i};`);
      if (p.index === "shift") {
        const sh = Math.log2(rowAcc);
        lines.push(`  let r${k} = i${k} >> ${sh}u;`, `  let c${k} = i${k} & ${rowAcc - 1}u;`);
        lines.push(...compute(k, `r${k} * ${rowAcc}u + c${k}`, `c${k}`).map((s) => "  " + s));
      } else if (p.index === "divmod") {
        lines.push(`  let r${k} = i${k} / ${rowAcc}u;`, `  let c${k} = i${k} % ${rowAcc}u;`);
        lines.push(...compute(k, `r${k} * ${rowAcc}u + c${k}`, `c${k}`).map((s) => "  " + s));
      } else {
        lines.push(...compute(k, `i${k}`, `(i${k} & ${rowAcc - 1}u)`).map((s) => "  " + s));
      }
    }
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}
