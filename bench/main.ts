// `deno task bench`: ours (fused + replay, fused without replay, eager) against tfjs-webgpu,
// jax-js (jit and eager) and onnxruntime-web (webgpu EP), all on this runtime's WebGPU adapter in
// one run. Prints a table; see README.md "Benchmarks" for the columns.
//
//   deno task bench [--quick | --full] [--only NAME,…] [--systems NAME,…] [--json FILE] [--device-info]
//                   [--no-peers] [--browser]
import { formatTable, type Row } from "./harness.ts";
import { denoLoader, ensurePeers } from "./setup.ts";
import { PEER_SYSTEMS, runSuite, type SuiteResult } from "./suite.ts";

export interface CliOptions {
  quick: boolean;
  full: boolean;
  only: string[] | null;
  systems: string[] | null;
  json: string | null;
  deviceInfo: boolean;
  browser: boolean;
}

const USAGE = `usage: deno task bench [--quick | --full] [--only NAME,...] [--systems NAME,...]
                       [--no-peers] [--json FILE] [--device-info] [--browser]
  --quick        small sizes, few repetitions (a smoke run)
  --full         also matmul-2048 (tens of seconds per call on a CPU adapter)
  --only         workloads by name or family: matmul-1024, matmul, gelu, decoder, decoder4, dispatch,
                 llm (llm-prefill-128, llm-decode: the bundled Llama, tokens/s)
  --systems      ours, ours-noreplay, ours-eager, tfjs-webgpu, jax-js, jax-js-eager, ort-web;
                 ours-plainread (ours without staged reads) only when named
  --no-peers     our three columns only
  --json FILE    also write the rows as one JSON array
  --device-info  print the adapter and exit
  --browser      run the same suite in Chromium (Playwright, playwright-core + system Chromium)`;

export function parseArgs(args: string[]): CliOptions {
  const o: CliOptions = {
    quick: false,
    full: false,
    only: null,
    systems: null,
    json: null,
    deviceInfo: false,
    browser: false,
  };
  const list = (v: string | undefined, flag: string) => {
    if (!v) throw new Error(`${flag} needs a value\n${USAGE}`);
    return v.split(",").map((s) => s.trim()).filter(Boolean);
  };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].includes("=") ? args[i].split(/=(.*)/s, 2) : [args[i]];
    const value = () => inline ?? args[++i];
    switch (flag) {
      case "--quick":
        o.quick = true;
        break;
      case "--full":
        o.full = true;
        break;
      case "--only":
        o.only = list(value(), flag);
        break;
      case "--systems":
        o.systems = list(value(), flag);
        break;
      case "--no-peers":
        o.systems = ["ours", "ours-noreplay", "ours-eager"];
        break;
      case "--json":
        o.json = value() ?? null;
        if (!o.json) throw new Error(`--json needs a file\n${USAGE}`);
        break;
      case "--device-info":
        o.deviceInfo = true;
        break;
      case "--browser":
        o.browser = true;
        break;
      case "-h":
      case "--help":
        console.log(USAGE);
        Deno.exit(0);
        break;
      default:
        throw new Error(`unknown argument '${args[i]}'\n${USAGE}`);
    }
  }
  return o;
}

export function report(res: SuiteResult, where: string): string {
  const lines = [
    `webgpu-inductor bench (${where}); device: ${res.device}`,
    ...Object.entries(res.peers).map(([k, v]) => `  ${k}: ${v}`),
    "",
    formatTable(res.rows),
    "",
    `h2h ms: host to host, weights resident (made once), activations uploaded, output read ` +
    `back. all-up ms: the same with every input uploaded (where weights matter).`,
    `dev ms: device time per call = (N calls + 1 sync - 1 call + 1 sync) / (N - 1), every input ` +
    `resident, outputs on the device; the sync reads the last output back. 1call ms: one call ` +
    `+ that sync. replay ms (ours): cg.timeDevice, the kernels alone, same method.`,
    `GFLOP/s, GB/s from dev ms. best/ours: the fastest peer's time / ours in that column ` +
    `(above 1: ours faster). kern/subm: dispatches and submits in one call.`,
    `llm-*: the bundled Llama, ms per step host to host (ids up, last logits read back, greedy ` +
    `argmax on the host); tok/s = tokens per step / that; err: prefill logits vs ours forward.`,
    `${res.rows.filter((r) => r.ok).length}/${res.rows.length} rows ok; ` +
    `${(res.ms / 1000).toFixed(0)} s.`,
  ];
  return lines.join("\n");
}

export async function writeJson(file: string, rows: Row[]): Promise<void> {
  await Deno.writeTextFile(file, JSON.stringify(rows, null, 1) + "\n");
}

async function main(): Promise<number> {
  const o = parseArgs(Deno.args);
  const log = (s: string) => console.error(s);
  if (o.deviceInfo) {
    const { getDevice } = await import("../src/mod.ts");
    const h = await getDevice();
    console.log(
      `device: ${h.info}; shader-f16 ${h.hasF16}; features ${[...h.features].join(", ")}`,
    );
    return 0;
  }
  if (o.browser) {
    const { runBrowser } = await import("./browser.ts");
    const res = await runBrowser(o, log);
    console.log(report(res, "Chromium"));
    if (o.json) await writeJson(o.json, res.rows);
    return oursFailed(res.rows);
  }
  const usesPeers = !o.systems || o.systems.some((s) => PEER_SYSTEMS.includes(s));
  if (usesPeers) await ensurePeers(log, o.systems ?? undefined);
  const res = await runSuite({
    quick: o.quick,
    full: o.full,
    only: o.only,
    systems: o.systems,
    load: denoLoader(),
    log,
    llmModel: new URL("../demo/tiny-llama", import.meta.url).pathname,
  });
  console.log(report(res, `Deno ${Deno.version.deno}`));
  if (o.json) await writeJson(o.json, res.rows);
  return oursFailed(res.rows);
}

/** Exit status: 1 when one of our rows failed (a wrong result is a failure); peers that cannot
 * run are reported in their rows and do not fail the run. */
function oursFailed(rows: Row[]): number {
  return rows.some((r) => !r.ok && !PEER_SYSTEMS.includes(r.system)) ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    Deno.exit(2);
  }
}
