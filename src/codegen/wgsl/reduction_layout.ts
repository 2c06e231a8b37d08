// How a reduction kernel maps rows onto invocations: `rows` rows per workgroup, `lanes`
// invocations per row (their partials combined by a workgroup-memory tree, or by subgroup
// operations when one row fills the workgroup), and `vec` elements per step along the innermost
// reduced dimension (4: vec4 loads, four accumulators). The classic layouts are the two ends:
// one workgroup per row (rows 1, lanes = workgroup) and one invocation per row (lanes 1).
//
// The choice is by shape and adapter class, from measurements (README "Reduction layouts"); the
// autotuner (inductor.maxAutotune) times `layoutCandidates` on the adapter instead.
import { ConfigError } from "../../errors.ts";
import { VEC } from "./vector_access.ts";

export interface ReductionLayout {
  /** Rows per workgroup. */
  rows: number;
  /** Invocations per row (1: one invocation reduces a row alone, no barrier). */
  lanes: number;
  /** Elements per step along the innermost reduced dimension: 1, or 4 (vec4 loads). */
  vec: 1 | 4;
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
  if (s.rows >= 32) return { rows: Math.min(64, pow2floor(s.rows / 8)), lanes: 1, vec };
  return { rows: 1, lanes: 8, vec };
}

/** Layouts the autotuner tries for this shape (the chosen one first; duplicates removed). */
export function layoutCandidates(s: ReductionShape): ReductionLayout[] {
  const vec: 1 | 4 = s.vectorizable ? VEC : 1;
  const out = [chooseReductionLayout(s), treeLayout(s, vec), { rows: 64, lanes: 1, vec }];
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
  if (l.lanes === 1) return `serial ${l.rows}${v}`;
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
  const m = /^(\d+)x(\d+)$/.exec(value);
  if (m) {
    const rows = Number(m[1]), lanes = Number(m[2]);
    const pow2 = (n: number) => n >= 1 && (n & (n - 1)) === 0;
    if (pow2(rows) && pow2(lanes) && rows * lanes <= 256) return { rows, lanes, vec };
  }
  throw new ConfigError(
    `inductor.reductionLayout must be "auto", "tree", "serial" or "RxL" (rows x lanes per ` +
      `workgroup, powers of two, at most 256 invocations, e.g. "4x16"), got '${value}'`,
  );
}
