// Shared test helpers: seeded randomness, NaN poisoning, tolerance checks against the reference.
import type { DType } from "../src/dtype.ts";
import type { TensorProxy } from "../src/fx/tracer.ts";

export { randomArray, rng } from "../src/random.ts";

/** A seed that differs per run unless TEST_SEED pins it. */
export function freshSeed(): number {
  const pinned = Deno.env.get("TEST_SEED");
  return pinned ? Number(pinned) : Math.floor(Math.random() * 2 ** 31);
}

export interface Tolerance {
  atol: number;
  rtol: number;
}

/** Throws with the first offending index, both values and the label when |a-e| > atol+rtol|e|.
 * NaN in `actual` where `expected` is finite (a poisoned element never written) always fails. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  label: string,
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length} != expected ${expected.length}`);
  }
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = Number(actual[i]);
    const e = Number(expected[i]);
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue;
    const err = Math.abs(a - e);
    if (!(err <= tol.atol + tol.rtol * Math.abs(e))) {
      throw new Error(
        `${label}: element ${i} is ${a}, expected ${e} (|err| ${err}, atol ${tol.atol}, rtol ${tol.rtol})`,
      );
    }
    worst = Math.max(worst, err);
  }
}

/** Like assertClose, with IEEE special values compared exactly: NaN must match NaN, ±inf must
 * match the same infinity, and with `zeroSign` a zero must have the expected sign (-0 vs 0).
 * Finite values are compared within `tol`. */
export function assertSameValues(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  label: string,
  opts: { zeroSign?: boolean } = {},
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length} != expected ${expected.length}`);
  }
  const show = (v: number) => (Object.is(v, -0) ? "-0" : String(v));
  for (let i = 0; i < actual.length; i++) {
    const a = Number(actual[i]);
    const e = Number(expected[i]);
    const fail = (why: string) => {
      throw new Error(`${label}: element ${i} is ${show(a)}, expected ${show(e)} (${why})`);
    };
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (Number.isNaN(e) !== Number.isNaN(a)) fail("NaN must match NaN");
      continue;
    }
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      if (a !== e) fail("infinities must match exactly");
      continue;
    }
    if (a === 0 && e === 0) {
      if (opts.zeroSign && !Object.is(a, e)) fail("sign of zero");
      continue;
    }
    if (!(Math.abs(a - e) <= tol.atol + tol.rtol * Math.abs(e))) {
      fail(`|err| ${Math.abs(a - e)}, atol ${tol.atol}, rtol ${tol.rtol}`);
    }
  }
}

/** A traced test function. */
export type Fn = (...xs: TensorProxy[]) => TensorProxy | TensorProxy[];

/** An input spec of a test graph. */
export interface Spec {
  shape: number[];
  dtype: DType;
}

/** An f32 input spec. */
export const f32 = (...shape: number[]): Spec => ({ shape, dtype: "f32" });

/** The tolerance for f32 results after reductions or matmuls. */
export const LOOSE: Tolerance = { atol: 1e-4, rtol: 1e-3 };

/** What a child Deno process did. */
export interface ChildRun {
  code: number;
  success: boolean;
  stdout: string;
  stderr: string;
}

/** Runs `deno run --no-lock ...args` in a child process with stdin closed (so a permission
 * prompt could not be answered) and `env` added to this process's environment. */
export async function runDeno(args: string[], env: Record<string, string> = {}): Promise<ChildRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-lock", ...args],
    env: { XDG_RUNTIME_DIR: "/tmp", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    success: out.success,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

/** Writes `src` to a temporary module and runs it with `flags` (see runDeno). */
export async function runDenoScript(
  src: string,
  flags: string[],
  env: Record<string, string> = {},
): Promise<ChildRun> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/child.ts`, src);
    return await runDeno([...flags, `${dir}/child.ts`], env);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The child's last stdout line as JSON; fails with its stderr when it did not succeed. */
// deno-lint-ignore no-explicit-any
export function lastJson(r: ChildRun): any {
  if (!r.success) throw new Error(`child process failed (exit ${r.code}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "");
}
