// How a reduction kernel maps rows onto invocations: `rows` rows per workgroup, `lanes`
// invocations per row (their partials combined by a workgroup-memory tree, or by subgroup
// operations when one row fills the workgroup), and `vec` elements per step along the innermost
// reduced dimension (4: vec4 loads, four accumulators). The classic layouts are the two ends:
// one workgroup per row (rows 1, lanes = workgroup) and one invocation per row (lanes 1).
//
// The choice is by shape and adapter class, from measurements (README "Reduction layouts"); the
// autotuner (inductor.maxAutotune) times `layoutCandidates` on the adapter instead.
import { ConfigError } from "../../errors.ts";
import type { IndexExpr } from "../../inductor/index_expr.ts";
import type { IRBuffer, ReductionDef } from "../../inductor/ir.ts";
import { loadsOf } from "../../inductor/value_expr.ts";
import { VEC } from "./vector_access.ts";

export interface ReductionLayout {
  /** Rows per workgroup. */
  rows: number;
  /** Invocations per row (1: one invocation reduces a row alone, no barrier). */
  lanes: number;
  /** Elements per step along the innermost reduced dimension: 1, or 4 (vec4 loads). */
  vec: 1 | 4;
  /** Rows each invocation reduces (lanes 1 only; divides `rows`; default 1). */
  perLane?: number;
}

/** Rows up to this length are reduced serially by one invocation on every adapter. */
export const SERIAL_ROW_MAX = 32;

/** What a reduction's shape allows and which adapter it is for. */
export interface ReductionShape {
  /** Rows (outputs of the reduction). */
  rows: number;
  /** Elements per row. */
  rlen: number;
  /** vec4 steps are possible (innermost reduced dim a multiple of 4, no argmax). */
  vectorizable: boolean;
  /** Largest workgroup of a one-workgroup-per-row layout on this adapter. */
  wgMax: number;
  adapterClass: "cpu" | "gpu";
  /** Some operand is read at the same place for every row (matvec's x, a norm's weight): rows
   * reduced by one invocation share its loads. */
  rowInvariant?: boolean;
}

function usesVar(e: IndexExpr, names: ReadonlySet<string>): boolean {
  for (const [a] of e.terms.values()) {
    if (a.k === "var" && names.has(a.name)) return true;
    if ((a.k === "div" || a.k === "mod") && usesVar(a.e, names)) return true;
    if (a.k === "ind") return true;
  }
  return false;
}

/** Whether a reduction group reads some operand independently of the row: a load, in a
 * reduction body or in a member over the whole source space, whose index uses no outer var. */
export function hasRowInvariantLoad(members: IRBuffer[], red: ReductionDef): boolean {
  const memberNames = new Set(members.map((m) => m.name));
  for (const m of members) {
    const d = m.def;
    let rowVars: Set<string>;
    if (d.kind === "reduction") rowVars = new Set(d.space.filter((n) => n.startsWith("x")));
    else if (d.kind === "pointwise" && d.ranges.join() === red.spaceShape.join()) {
      rowVars = new Set(red.space.flatMap((n, i) => (n.startsWith("x") ? [`x${i}`] : [])));
    } else continue;
    for (const l of loadsOf(d.body).values()) {
      if (!memberNames.has(l.buf) && !usesVar(l.index, rowVars)) return true;
    }
  }
  return false;
}

function pow2ceil(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}

/** The one-workgroup-per-row layout (the workgroup as wide as the row needs, up to wgMax). */
export function treeLayout(s: ReductionShape, vec: 1 | 4): ReductionLayout {
  return { rows: 1, lanes: Math.min(s.wgMax, Math.max(32, pow2ceil(s.rlen / vec))), vec };
}

function pow2floor(n: number): number {
  return 2 ** Math.floor(Math.log2(Math.max(1, n)));
}

/** The layout for a reduction of this shape on this adapter class.
 *  - Short rows (at most SERIAL_ROW_MAX): one invocation per row, 64 rows per workgroup.
 *  - GPUs: one workgroup per row, as wide as the row's steps need (32..wgMax lanes).
 *  - CPU adapters (lavapipe, SwiftShader), where a workgroup barrier is expensive (SwiftShader:
 *    a subgroup tree over 64 lanes took 104 ms for softmax-512x256 where one invocation per row
 *    took 3.7 ms; lavapipe: 5.1 ms against 1.1 ms): one invocation per row, in workgroups of
 *    up to 64 rows but at least 8 workgroups (each runs on one thread); fewer than 32 rows
 *    share a row between 8 lanes (one row of 262144: 0.22 ms against 0.45 ms with 64 lanes on
 *    lavapipe, 1.2 against 1.6 on SwiftShader). */
export function chooseReductionLayout(s: ReductionShape): ReductionLayout {
  const vec: 1 | 4 = s.vectorizable ? VEC : 1;
  if (s.rlen <= SERIAL_ROW_MAX) return { rows: 64, lanes: 1, vec };
  if (s.adapterClass === "gpu") return treeLayout(s, vec);
  if (s.rows >= 32) {
    const rows = Math.min(64, pow2floor(s.rows / 8));
    // four rows per invocation share a row-invariant operand's loads (matvec-4096: lavapipe
    // 29.8 -> 20.7 ms, SwiftShader 78.5 -> 58.4; without such an operand no gain: softmax
    // 56 -> 65 ms on SwiftShader); at least 8 invocations per workgroup (SIMD width)
    if (s.rowInvariant && rows >= 32) return { rows, lanes: 1, vec, perLane: 4 };
    return { rows, lanes: 1, vec };
  }
  return { rows: 1, lanes: 8, vec };
}

/** Layouts the autotuner tries for this shape (the chosen one first; duplicates removed). */
export function layoutCandidates(s: ReductionShape): ReductionLayout[] {
  const vec: 1 | 4 = s.vectorizable ? VEC : 1;
  const out: ReductionLayout[] = [chooseReductionLayout(s), treeLayout(s, vec)];
  out.push({ rows: 64, lanes: 1, vec }, { rows: 64, lanes: 1, vec, perLane: 4 });
  for (const [rows, lanes] of [[8, 1], [4, 16], [8, 8], [16, 4], [1, 8]]) {
    out.push({ rows, lanes, vec });
  }
  if (vec === VEC) out.push(treeLayout(s, 1));
  const seen = new Set<string>();
  return out.filter((l) => {
    const k = describeLayout(l);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** A short description: "tree 64", "serial 64", "4 rows x 16 lanes", with "vec4" when used. */
export function describeLayout(l: ReductionLayout): string {
  const v = l.vec === VEC ? ", vec4" : "";
  const per = (l.perLane ?? 1) > 1 ? `, ${l.perLane} rows per invocation` : "";
  if (l.lanes === 1) return `serial ${l.rows}${per}${v}`;
  if (l.rows === 1) return `tree ${l.lanes}${v}`;
  return `${l.rows} rows x ${l.lanes} lanes${v}`;
}

/** The layout `inductor.reductionLayout` forces ("tree", "serial", "RxL" such as "4x16"), or
 * null for "auto". */
export function forcedLayout(value: string, s: ReductionShape): ReductionLayout | null {
  const vec: 1 | 4 = s.vectorizable ? VEC : 1;
  if (value === "auto") return null;
  if (value === "tree") return treeLayout(s, vec);
  if (value === "serial") return { rows: 64, lanes: 1, vec };
  const m = /^(\d+)x(\d+)(?:x(\d+))?$/.exec(value);
  if (m) {
    const rows = Number(m[1]), lanes = Number(m[2]), perLane = Number(m[3] ?? 1);
    const pow2 = (n: number) => n >= 1 && (n & (n - 1)) === 0;
    const perOk = perLane === 1 || (lanes === 1 && pow2(perLane) && perLane <= rows);
    if (pow2(rows) && pow2(lanes) && rows * lanes <= 256 && perOk) {
      return perLane > 1 ? { rows, lanes, vec, perLane } : { rows, lanes, vec };
    }
  }
  throw new ConfigError(
    `inductor.reductionLayout must be "auto", "tree", "serial", "RxL" (rows x lanes per ` +
      `workgroup, powers of two, at most 256 invocations, e.g. "4x16") or "Rx1xP" (P rows per ` +
      `invocation, e.g. "64x1x4"), got '${value}'`,
  );
}
