// `deno task bench:layouts`: device time of every reduction workload under each
// `inductor.reductionLayout` (bench/layout_sweep.ts), on Deno's adapter or, with --browser, in
// headless Chromium on SwiftShader. How the automatic per-adapter choice was measured.
//
//   deno task bench:layouts [--browser] [--quick] [--only NAME,…] [--layouts auto,serial,…]
//                           [--rounds N] [--json FILE]
import { median } from "./harness.ts";
import { DEFAULT_LAYOUTS, runSweep, type SweepRow } from "./layout_sweep.ts";

export interface LayoutCli {
  browser: boolean;
  quick: boolean;
  only: string[] | null;
  layouts: string[];
  rounds: number;
  json: string | null;
}

const USAGE = `usage: deno task bench:layouts [--browser] [--quick] [--only NAME,...]
                       [--layouts auto,serial,64x1x4,...] [--rounds N] [--json FILE]`;

export function parseLayoutArgs(args: string[]): LayoutCli {
  const o: LayoutCli = {
    browser: false,
    quick: false,
    only: null,
    layouts: DEFAULT_LAYOUTS,
    rounds: 5,
    json: null,
  };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].includes("=") ? args[i].split(/=(.*)/s, 2) : [args[i]];
    const value = () => {
      const v = inline ?? args[++i];
      if (!v) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    const list = () => value().split(",").map((s) => s.trim()).filter(Boolean);
    if (flag === "--browser") o.browser = true;
    else if (flag === "--quick") o.quick = true;
    else if (flag === "--only") o.only = list();
    else if (flag === "--layouts") o.layouts = list();
    else if (flag === "--json") o.json = value();
    else if (flag === "--rounds") {
      o.rounds = Number(value());
      if (!Number.isInteger(o.rounds) || o.rounds < 1) {
        throw new Error(`--rounds must be a positive integer\n${USAGE}`);
      }
    } else throw new Error(`unknown argument '${args[i]}'\n${USAGE}`);
  }
  return o;
}

/** One line per workload and layout: median ms, its ratio to "auto", the rounds' spread. */
export function formatSweep(rows: SweepRow[]): string {
  const out = ["workload             layout     dev ms  vs auto  rounds (ms)"];
  for (const r of rows) {
    const auto = rows.find((x) => x.workload === r.workload && x.layout === "auto");
    const vs = auto && r.rounds.length ? auto.device_ms / r.device_ms : NaN;
    const spread = r.rounds.map((t) => t.toFixed(1)).join(" ");
    out.push(
      `${r.workload.padEnd(20)} ${r.layout.padEnd(9)} ${
        (r.rounds.length ? median(r.rounds).toFixed(2) : "-").padStart(7)
      }  ${(Number.isNaN(vs) ? "" : vs.toFixed(2) + "x").padStart(7)}  ${r.note ?? spread}`,
    );
  }
  return out.join("\n");
}

async function main(): Promise<number> {
  const o = parseLayoutArgs(Deno.args);
  const log = (s: string) => console.error(s);
  const opts = { quick: o.quick, only: o.only, layouts: o.layouts, rounds: o.rounds };
  let res: { device: string; rows: SweepRow[] };
  if (o.browser) {
    const { runInPage } = await import("./browser.ts");
    const { result, browser } = await runInPage<typeof opts, typeof res>(
      "layouts_entry.ts",
      opts,
      log,
    );
    res = { ...result, device: `${result.device}; ${browser}` };
  } else res = await runSweep({ ...opts, log });
  console.log(`device: ${res.device}\n${formatSweep(res.rows)}`);
  if (o.json) await Deno.writeTextFile(o.json, JSON.stringify(res, null, 1) + "\n");
  return res.rows.some((r) => r.note?.startsWith("error")) ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    Deno.exit(2);
  }
}
