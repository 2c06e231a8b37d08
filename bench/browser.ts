// `deno task bench --browser`: the same suite in headless Chromium through Playwright
// (playwright-core driving the system's Chromium; WebGPU there is Dawn on SwiftShader, another
// adapter than Deno's, so compare ratios within one run only). The suite is bundled with esbuild,
// served from 127.0.0.1 with the peers' files, and run in the page; rows come back as JSON.
import * as esbuild from "esbuild";
import { chromium } from "playwright-core";
import type { CliOptions } from "./main.ts";
import { bundleTfjs, CACHE, ensurePeers, MODULES } from "./setup.ts";
import type { SuiteResult } from "./suite.ts";
import { MODEL_URL } from "./browser_entry.ts";
import { SCHEMA } from "../src/config_schema.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const CHROMIUM_PATHS = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

const NPM_SPEC = /^npm:((?:@[^/@]+\/)?[^/@]+)@[^/]+(\/.*)?$/;

/** `npm:NAME@VERSION[/sub]` (the library's imports) resolved in bench/npm or the root's
 * node_modules. */
const npmSpecifiers: esbuild.Plugin = {
  name: "npm-specifiers",
  setup(b) {
    b.onResolve({ filter: /^npm:/ }, async (args) => {
      const m = NPM_SPEC.exec(args.path);
      if (!m) return { errors: [{ text: `unsupported npm specifier '${args.path}'` }] };
      const r = await b.resolve(m[1] + (m[2] ?? ""), { kind: args.kind, resolveDir: MODULES });
      return r.errors.length ? { errors: r.errors } : { path: r.path };
    });
  },
};

/** Bundles `entry` (a file under bench/) with the library into .bench-cache/browser/. */
async function bundlePage(entry: string): Promise<string> {
  const outfile = `${CACHE}/browser/${entry.replace(/\.ts$/, ".js")}`;
  try {
    await esbuild.build({
      entryPoints: [`${ROOT}/bench/${entry}`],
      outfile,
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      loader: { ".wgsl": "text" },
      nodePaths: [MODULES, `${ROOT}/node_modules`],
      plugins: [npmSpecifiers],
      logLevel: "silent",
    });
  } finally {
    await esbuild.stop();
  }
  return outfile;
}

const TYPES: Record<string, string> = {
  js: "text/javascript",
  mjs: "text/javascript",
  wasm: "application/wasm",
  html: "text/html",
  json: "application/json",
  map: "application/json",
};

const PAGE = `<!doctype html><meta charset="utf-8"><title>webgpu-inductor bench</title>
<script type="module">
import { run } from "/suite.js";
window.__run = run;
window.__ready = true;
</script>`;

function serve(files: Record<string, string>): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    let file: string | null = files[path] ?? null;
    if (!file && path.startsWith("/npm/") && !path.includes("..")) {
      file = `${MODULES}/${path.slice(5)}`;
    }
    // the bundled model of the llm-* rows (the page loads it by URL, as a user's page would)
    if (!file && path.startsWith(`${MODEL_URL}/`) && !path.includes("..")) {
      file = `${ROOT}/demo/tiny-llama/${path.slice(MODEL_URL.length + 1)}`;
    }
    const headers = {
      // cross-origin isolation: SharedArrayBuffer for onnxruntime-web's threads
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-embedder-policy": "require-corp",
      "cache-control": "no-store",
    };
    if (path === "/") {
      return new Response(PAGE, { headers: { ...headers, "content-type": "text/html" } });
    }
    if (path === "/favicon.ico") return new Response(null, { status: 204, headers });
    try {
      const body = await Deno.readFile(file!);
      const ext = file!.split(".").pop()!;
      return new Response(body, {
        headers: { ...headers, "content-type": TYPES[ext] ?? "application/octet-stream" },
      });
    } catch {
      return new Response("not found", { status: 404, headers });
    }
  });
}

async function findChromium(): Promise<string> {
  const env = Deno.env.get("CHROMIUM_PATH");
  for (const p of env ? [env] : CHROMIUM_PATHS) {
    if (await Deno.stat(p).then(() => true, () => false)) return p;
  }
  throw new Error(
    `no Chromium found (${CHROMIUM_PATHS.join(", ")}); install Debian's chromium ` +
      `(apt-get install chromium) or set CHROMIUM_PATH`,
  );
}

/** CPU ms (user + system, all threads) spent so far by Chromium's GPU process, where SwiftShader
 * runs the kernels (Linux /proc; 10 ms ticks). The per-kernel sweeps read it through the page's
 * `__gpuCpuMs` to time kernels by CPU rather than wall time on a machine shared with other jobs. */
export async function gpuProcessCpuMs(): Promise<number> {
  let ticks = 0;
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmd = await Deno.readTextFile(`/proc/${e.name}/cmdline`);
      if (!cmd.includes("--type=gpu-process")) continue;
      const stat = await Deno.readTextFile(`/proc/${e.name}/stat`);
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
    } catch { /* exited meanwhile */ }
  }
  return ticks * 10;
}

/** The config overrides set in `env` (the keys' environment variables, e.g.
 * WEBGPU_INDUCTOR_SUBMIT_BATCH_SIZE) as a URL query, so that the page's run takes the same
 * overrides as a Deno run would (the library reads them from the page's query); "" if none. */
export function configQuery(env: Record<string, string>): string {
  const q = new URLSearchParams();
  for (const k of SCHEMA) if (k.env && env[k.env] !== undefined) q.set(k.env, env[k.env]);
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** Opens `entry` (a bench/ module exporting `run(opts)`) in headless Chromium with WebGPU on
 * SwiftShader, calls `run(opts)` in the page and returns its result with the browser's
 * version. */
export async function runInPage<O, R>(
  entry: string,
  opts: O,
  log: (s: string) => void,
): Promise<{ result: R; browser: string }> {
  await ensurePeers(log);
  const executablePath = await findChromium();
  const [suite, tfjs] = [await bundlePage(entry), await bundleTfjs("browser")];
  const server = serve({ "/suite.js": suite, "/tfjs.js": tfjs });
  const browser = await chromium.launch({
    executablePath,
    args: ["--no-sandbox", "--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader"],
  });
  try {
    const page = await browser.newPage();
    page.on("console", (m) => log(`[page] ${m.text()}`));
    page.on("pageerror", (e) => log(`[page error] ${e.message}`));
    await page.exposeFunction("__gpuCpuMs", gpuProcessCpuMs);
    const query = configQuery(Deno.env.toObject());
    if (query) log(`page config overrides: ${query}`);
    await page.goto(`http://127.0.0.1:${server.addr.port}/${query}`);
    await page.waitForFunction(() => (globalThis as { __ready?: boolean }).__ready === true);
    const result = await page.evaluate(
      (x) => (globalThis as unknown as { __run: (o: unknown) => Promise<R> }).__run(x),
      opts as unknown,
    ) as R;
    const ua = await page.evaluate(() => navigator.userAgent);
    return { result, browser: ua.match(/Chrome\/[\d.]+/)?.[0] ?? ua };
  } finally {
    await browser.close();
    await server.shutdown();
  }
}

export async function runBrowser(o: CliOptions, log: (s: string) => void): Promise<SuiteResult> {
  const opts = { quick: o.quick, full: o.full, only: o.only, systems: o.systems };
  const { result, browser } = await runInPage<typeof opts, SuiteResult>(
    "browser_entry.ts",
    opts,
    log,
  );
  return { ...result, device: `${result.device}; ${browser}` };
}
