// Per-kernel matmul tile-config sweep (bench/matmul_sweep.ts) in headless Chromium on
// SwiftShader, or with --deno on Deno's adapter. How SwiftShader's default tiles were chosen.
//
//   deno run -A bench/matmul_browser.ts [--deno] [--matmuls 1024] [--decoders 128]
//                                       [--only rg32x32x4-4x4,...] [--rounds N] [--json FILE]
import { runSweep, type SweepOptions, type SweepRow } from "./matmul_sweep.ts";

function parse(args: string[]): SweepOptions & { deno: boolean; json: string | null } {
  const o = {
    deno: false,
    json: null as string | null,
    matmuls: [1024],
    decoders: [128],
    only: [] as string[],
    rounds: 3,
  };
  for (let i = 0; i < args.length; i++) {
    const list = () => (args[++i] ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    if (args[i] === "--deno") o.deno = true;
    else if (args[i] === "--matmuls") o.matmuls = list().map(Number);
    else if (args[i] === "--decoders") o.decoders = list().map(Number);
    else if (args[i] === "--only") o.only = list();
    else if (args[i] === "--rounds") o.rounds = Number(args[++i]);
    else if (args[i] === "--json") o.json = args[++i];
    else throw new Error(`unknown argument '${args[i]}'`);
  }
  return o;
}

if (import.meta.main) {
  const o = parse(Deno.args);
  const opts: SweepOptions = {
    matmuls: o.matmuls,
    decoders: o.decoders,
    only: o.only,
    rounds: o.rounds,
  };
  const log = (s: string) => console.error(s);
  let res: { device: string; rows: SweepRow[] };
  if (o.deno) res = await runSweep(opts, log);
  else {
    const { runInPage } = await import("./browser.ts");
    const { result, browser } = await runInPage<SweepOptions, typeof res>(
      "matmul_sweep.ts",
      opts,
      log,
    );
    res = { ...result, device: `${result.device}; ${browser}` };
  }
  console.log(`device: ${res.device}`);
  if (o.json) await Deno.writeTextFile(o.json, JSON.stringify(res, null, 1) + "\n");
}
