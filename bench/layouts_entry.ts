// The page side of `deno task bench:layouts --browser`: bench/browser.ts bundles this file with
// the library and calls `run` in headless Chromium.
import { runSweep, type SweepOptions, type SweepRow } from "./layout_sweep.ts";

export function run(
  o: Omit<SweepOptions, "log">,
): Promise<{ device: string; rows: SweepRow[] }> {
  return runSweep({ ...o, log: (s) => console.log(s) });
}
