// The gelu kernel's WGSL variants (bench/pointwise_sweep.ts) timed in headless Chromium on
// SwiftShader, or with --deno on Deno's adapter: where a CPU rasterizer spends a pointwise
// kernel's time (memory floor, index math, erf form, invocation shape).
//
//   deno run -A bench/pointwise_browser.ts [--deno] [--rows 4096] [--cols 4096]
//                                          [--only base,copy,...] [--rounds N] [--span MS] [--json FILE]
import {
  formatPointwiseRow,
  type PointwiseRow,
  type PointwiseSweepOptions,
  runPointwiseSweep,
} from "./pointwise_sweep.ts";

function parse(args: string[]): PointwiseSweepOptions & { deno: boolean; json: string | null } {
  const o = {
    deno: false,
    json: null as string | null,
    rows: 4096,
    cols: 4096,
    only: [] as string[],
    rounds: 3,
    spanMs: 150,
  };
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--deno") o.deno = true;
    else if (args[i] === "--rows") o.rows = Number(args[++i]);
    else if (args[i] === "--cols") o.cols = Number(args[++i]);
    else if (args[i] === "--only") {
      o.only = (args[++i] ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    } else if (args[i] === "--rounds") o.rounds = Number(args[++i]);
    else if (args[i] === "--span") o.spanMs = Number(args[++i]);
    else if (args[i] === "--json") o.json = args[++i];
    else throw new Error(`unknown argument '${args[i]}'`);
  }
  return o;
}

if (import.meta.main) {
  const o = parse(Deno.args);
  const opts: PointwiseSweepOptions = {
    rows: o.rows,
    cols: o.cols,
    only: o.only,
    rounds: o.rounds,
    spanMs: o.spanMs,
  };
  const log = (s: string) => console.error(s);
  let res: { device: string; rows: PointwiseRow[] };
  if (o.deno) res = await runPointwiseSweep(opts, log);
  else {
    const { runInPage } = await import("./browser.ts");
    const { result, browser } = await runInPage<PointwiseSweepOptions, typeof res>(
      "pointwise_sweep.ts",
      opts,
      log,
    );
    res = { ...result, device: `${result.device}; ${browser}` };
  }
  console.log(`device: ${res.device}`);
  for (const r of res.rows) console.log(formatPointwiseRow(r));
  if (o.json) await Deno.writeTextFile(o.json, JSON.stringify(res, null, 1) + "\n");
}
