// Pointwise kernels on CPU adapters: each invocation loops over several rows (the outermost
// frame dimension, a fixed stride of rows apart) so that what does not depend on the row — the
// loads of per-column operands (gelu(x * a + b)'s a and b), their index math — is computed once
// per invocation instead of once per row.
//
// Measured (bench/pointwise_browser.ts, gelu(x * a + b) on [4096, 4096], a and b per column;
// 2 shared cores, medians of 5 interleaved rounds, wall ms per launch): SwiftShader (Chromium
// 156) default 488 (320-521), 8 rows per invocation with a and b hoisted 280 (188-319), a copy
// of x 187; the same loop with nothing hoisted 131 vs 131 at [1024, 4096] (no gain: the loads
// are the cost — SwiftShader gathers every storage access lane by lane). lavapipe 128 (103-150)
// vs 97 (65-111). GPUs keep one row per invocation (not measured there).

/** Rows per invocation. */
export const ROW_LOOP_ROWS = 8;
/** Invocations the loop must leave (both cores of a small CPU busy, SIMD lanes filled). */
export const ROW_LOOP_MIN_INVOCATIONS = 8192;

/** Rows per invocation for a pointwise frame (dimension 0 is looped over; `vd` is the vector
 * dimension): ROW_LOOP_ROWS on a CPU adapter where dimension 0 splits evenly and enough
 * invocations remain, else 1. */
export function rowLoopRows(
  adapterClass: "cpu" | "gpu" | undefined,
  frame: readonly number[],
  vd: number,
): number {
  if (adapterClass !== "cpu" || frame.length < 2 || vd === 0) return 1;
  const rows = ROW_LOOP_ROWS;
  if (frame[0] % rows !== 0) return 1;
  const units = frame.reduce((a, b) => a * b, 1);
  return units / rows >= ROW_LOOP_MIN_INVOCATIONS ? rows : 1;
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/g;
const LET = /^let ([A-Za-z_][A-Za-z0-9_]*) = (.*);(\s*\/\/.*)?$/;

/** Splits a kernel body's lines into those that do not depend on the row (hoisted before the
 * loop) and the rest (the loop body), keeping each part in order. A line is hoisted only when it
 * is a `let` whose expression names no row-dependent value (`rowVars`, or a `let` kept in the
 * loop) and reads no writable binding (`writable`: a store in an earlier row could change what
 * it reads, as in an in-place op). Anything else (stores, `var`s, `if`s) stays in the loop. */
export function splitRowInvariant(
  lines: readonly string[],
  rowVars: readonly string[],
  writable: ReadonlySet<string>,
): { hoisted: string[]; loop: string[] } {
  const variant = new Set(rowVars);
  const hoisted: string[] = [], loop: string[] = [];
  for (const line of lines) {
    const m = LET.exec(line.trim());
    const names = m ? m[2].match(IDENT) ?? [] : [];
    if (m && !names.some((n) => variant.has(n) || writable.has(n))) hoisted.push(line);
    else {
      if (m) variant.add(m[1]);
      const v = /^var ([A-Za-z_][A-Za-z0-9_]*)/.exec(line.trim());
      if (v) variant.add(v[1]);
      loop.push(line);
    }
  }
  return { hoisted, loop };
}
