// Browser tests: playwright-core drives Debian's Chromium headless, with WebGPU on SwiftShader
// (CPU). The suite builds dist/ with build.ts, serves it on an ephemeral localhost port (WebGPU
// needs a secure origin), and checks in the page: the bundle loads and exports the public API,
// the init layer ran (patches, config), URL-query env overrides reach config.explain(), the
// self-test graphs match the float64 reference in eager and default mode (SwiftShader has
// subgroups and no shader-f16: subgroup reductions and emulated f16 run here, and the scalar
// reduction path again with subgroups off), the demo renders every panel, no console errors,
// and a browser without WebGPU shows #no-webgpu.
//
// Chromium: /usr/bin/chromium (or CHROMIUM_PATH). When missing, the setup installs Debian's
// package if running as root, and otherwise fails with the command to run: never skipped.
import assert from "node:assert/strict";
import { type Browser, chromium, type Page } from "playwright-core";
import { build, type BuildResult } from "../../build.ts";
import { type DemoServer, serve } from "../../demo/serve.ts";
import type { SelfTestReport } from "../../demo/selftest.ts";
import { CASES } from "../../demo/cases.ts";
import {
  appliedPatches,
  graphFromJSON,
  interpret,
  PORTED_FROM,
  writeSafetensors,
} from "../../src/mod.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const INSTALL = "apt-get update && apt-get install -y chromium";
const COMMON_ARGS = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
const WEBGPU_ARGS = [...COMMON_ARGS, "--enable-unsafe-webgpu", "--enable-unsafe-swiftshader"];
// Chromium 156 keeps navigator.gpu even with these; requestAdapter() then returns null.
const NO_WEBGPU_ARGS = [
  ...COMMON_ARGS,
  "--disable-gpu",
  "--disable-webgpu",
  "--disable-features=WebGPU",
];
const OUT = new URL("../out/browser/", import.meta.url).pathname;
const WAIT_MS = 150_000;

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function ensureChromium(): Promise<string> {
  if (await exists(CHROMIUM)) return CHROMIUM;
  if (CHROMIUM === "/usr/bin/chromium" && Deno.uid() === 0) {
    console.log(`browser tests: ${CHROMIUM} is missing; running \`${INSTALL}\``);
    const r = await new Deno.Command("bash", {
      args: ["-c", INSTALL],
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (r.success && await exists(CHROMIUM)) return CHROMIUM;
  }
  throw new Error(
    `browser tests need Chromium at ${CHROMIUM} and it is missing: run \`${INSTALL}\` as root ` +
      `(or set CHROMIUM_PATH to a Chromium binary)`,
  );
}

interface Problem {
  page: string;
  text: string;
}

/** Console errors and uncaught page errors, per browser, kept for the final assertion. */
function watch(page: Page, problems: Problem[]): void {
  page.on("console", (m) => {
    if (m.type() === "error") {
      problems.push({ page: page.url(), text: `console.error: ${m.text()}` });
    }
  });
  page.on("pageerror", (e) => problems.push({ page: page.url(), text: `uncaught: ${e.message}` }));
}

/** Waits for the page's `body[data-state]` to leave "loading"/"running". */
async function settle(page: Page): Promise<string> {
  await page.waitForFunction(
    () => ["done", "error"].includes(document.body?.dataset.state ?? ""),
    null,
    { timeout: WAIT_MS, polling: 100 },
  );
  return await page.evaluate(() => document.body.dataset.state!);
}

async function errorMessage(page: Page): Promise<string> {
  return await page.evaluate(() => document.getElementById("error-message")?.textContent ?? "");
}

async function selftest(page: Page, query: string): Promise<SelfTestReport> {
  await page.goto(`${server.url}/demo/selftest.html${query}`);
  const state = await settle(page);
  assert.equal(
    state,
    "done",
    `self-test page ended in state ${state}: ${await errorMessage(page)}`,
  );
  return await page.evaluate(() =>
    (globalThis as unknown as { __selftest: SelfTestReport }).__selftest
  );
}

/** graph.json (x @ W^T, relu), model.safetensors and export.json of a tiny export. */
function modelsInExport(w: Float32Array): Record<string, string | Uint8Array<ArrayBuffer>> {
  const graph = {
    format: "webgpu-inductor.graph",
    version: 1,
    nodes: [
      {
        name: "layers.0.fc.weight",
        op: "placeholder",
        args: [],
        kwargs: {},
        meta: { shape: [4, 8], dtype: "f32" },
      },
      { name: "x", op: "placeholder", args: [], kwargs: {}, meta: { shape: [3, 8], dtype: "f32" } },
      {
        name: "y",
        op: "call_function",
        target: "linear",
        args: [{ node: "x" }, { node: "layers.0.fc.weight" }],
        kwargs: {},
      },
      { name: "z", op: "call_function", target: "relu", args: [{ node: "y" }], kwargs: {} },
      { name: "output", op: "output", args: [[{ node: "z" }]], kwargs: {} },
    ],
  };
  const manifest = {
    format: "webgpu-inductor.torch-export",
    version: 1,
    params: ["layers.0.fc.weight"],
    constants: [],
  };
  return {
    "graph.json": JSON.stringify(graph),
    "export.json": JSON.stringify(manifest),
    "model.safetensors": writeSafetensors({
      "layers.0.fc.weight": { dtype: "f32", shape: [4, 8], data: w },
    }),
  };
}

let server: DemoServer;

Deno.test({
  name: "browser: bundle, init layer, self-test and demo in Chromium with WebGPU (SwiftShader)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const t0 = performance.now();
    const exe = await ensureChromium();
    const built: BuildResult = await build({ quiet: true });
    server = serve({ port: 0 });
    const problems: Problem[] = [];
    let browser: Browser | null = null;
    try {
      browser = await chromium.launch({ executablePath: exe, args: WEBGPU_ARGS });
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      watch(page, problems);

      await t.step("build: bundle, sourcemap, types entry and demo pages in dist/", () => {
        for (
          const f of [
            "webgpu-inductor.js",
            "webgpu-inductor.js.map",
            "webgpu-inductor.d.ts",
            "demo/index.html",
            "demo/app.js",
            "demo/selftest.html",
            "demo/selftest.js",
          ]
        ) assert.ok(built.files.includes(f), `dist/${f} missing (have ${built.files.join(", ")})`);
        assert.ok(built.gzipBytes > 0 && built.gzipBytes < built.bytes);
      });

      await t.step("the bundle loads as an ES module and exports the public API", async () => {
        await selftest(page, "?cases=none");
        const got = await page.evaluate(async (url) => {
          const m = await import(url);
          return { keys: Object.keys(m).sort(), ported: m.PORTED_FROM, compile: typeof m.compile };
        }, `${server.url}/webgpu-inductor.js`);
        const want = Object.keys(await import("../../src/mod.ts")).sort();
        assert.deepEqual(got.keys, want);
        assert.equal(got.ported, PORTED_FROM);
        assert.equal(got.compile, "function");
      });

      await t.step("models in: loadTorchExport fetches an export folder by URL", async () => {
        // an export folder as tools/export_torch.py writes it (dotted parameter names), served
        // from a second origin, loaded and run in the page through the bundle
        const x = Float32Array.from({ length: 3 * 8 }, (_, i) => Math.sin(i));
        const w = Float32Array.from({ length: 4 * 8 }, (_, i) => Math.cos(i) / 4);
        const files = modelsInExport(w);
        const want = interpret(graphFromJSON(files["graph.json"]), [w, x])[0];
        const ac = new AbortController();
        const side = Deno.serve({ port: 0, signal: ac.signal, onListen: () => {} }, (req) => {
          const body = files[new URL(req.url).pathname.replace(/^\/m\//, "")];
          const headers = { "access-control-allow-origin": "*" };
          return body === undefined
            ? new Response("not found", { status: 404, headers })
            : new Response(body, { headers });
        });
        try {
          const got = await page.evaluate(
            async ([url, dir, xs]) => {
              const m = await import(url);
              let loaded = 0;
              const { graph, params } = await m.loadTorchExport(dir, {
                onProgress: (n: number) => (loaded = n),
              });
              const cg = m.compile(graph, { params });
              const [y] = await cg.run([new Float32Array(xs)]);
              cg.dispose();
              return { y: Array.from(y as Float32Array), loaded, names: Object.keys(params) };
            },
            [
              `${server.url}/webgpu-inductor.js`,
              `http://127.0.0.1:${side.addr.port}/m/`,
              Array.from(x),
            ] as const,
          );
          assert.deepEqual(got.names, ["layers.0.fc.weight"]);
          assert.equal(got.loaded, (files["model.safetensors"] as Uint8Array).length);
          got.y.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-4, `y[${i}] ${v}`));
        } finally {
          ac.abort();
          await side.finished;
        }
      });

      await t.step("the init layer ran in the page: patches and init config", async () => {
        const r = await selftest(page, "?cases=none");
        assert.equal(r.patchesIsArray, true);
        assert.deepEqual(r.patches, appliedPatches(), "the page and Deno gate the same patches");
        assert.equal(r.portedFrom, PORTED_FROM);
        const src = (k: string) => r.entries.find((e) => e.key === k);
        assert.deepEqual(src("runtime.lazyProbe"), {
          key: "runtime.lazyProbe",
          value: true,
          source: "init",
        });
        assert.deepEqual(src("inductor.compileThreads"), {
          key: "inductor.compileThreads",
          value: 1,
          source: "init",
        });
        assert.match(r.explain, /inductor\.compileThreads\s+1\s+\(init\)/);
      });

      await t.step(
        "env overrides from the URL query and WEBGPU_INDUCTOR_ENV reach config",
        async () => {
          const r = await selftest(
            page,
            "?cases=none&WEBGPU_INDUCTOR_SUBMIT_BATCH_SIZE=7&TORCHINDUCTOR_COMPILE_THREADS=3",
          );
          assert.match(r.explain, /runtime\.submitBatchSize\s+7\s+\(env\)/);
          // setdefault semantics: the user's variable (an alias here) beats the init value
          assert.match(r.explain, /inductor\.compileThreads\s+3\s+\(env\)/);
          const p2 = await browser!.newPage();
          watch(p2, problems);
          await p2.addInitScript(() => {
            (globalThis as { WEBGPU_INDUCTOR_ENV?: unknown }).WEBGPU_INDUCTOR_ENV = {
              WEBGPU_INDUCTOR_ALLOW_BUFFER_REUSE: "0",
            };
          });
          await p2.goto(`${server.url}/demo/selftest.html?cases=none`);
          assert.equal(await settle(p2), "done");
          const explain = await p2.evaluate(() =>
            (globalThis as unknown as { __selftest: SelfTestReport }).__selftest.explain
          );
          assert.match(explain, /inductor\.allowBufferReuse\s+false\s+\(env\)/);
          await p2.close();
        },
      );

      await t.step(
        "ops and compiled graphs match the reference (eager and default, poisoned)",
        async () => {
          const r = await selftest(page, "");
          assert.ok(r.adapter, "no adapter reported");
          assert.equal(r.cases.length, CASES.length * 2);
          const bad = r.cases.filter((c) => !c.ok).map((c) =>
            `${c.name} (${c.mode}): ${c.error ?? JSON.stringify(c.outputs?.filter((o) => o.bad))}`
          );
          assert.deepEqual(bad, [], `on ${r.adapter}:\n${bad.join("\n")}`);
          // SwiftShader has subgroups and no shader-f16: long-row reductions use subgroup
          // operations and f16 tensors are stored as two halves per u32
          for (const c of r.cases.filter((c) => c.name === "nan_reductions" || c.name === "f16")) {
            assert.match(c.target ?? "", /reductions: subgroup operations/, c.name);
            assert.ok((c.subgroupKernels ?? 0) >= 1, `${c.name} (${c.mode}): no subgroup kernel`);
          }
          const f16 = r.cases.find((c) => c.name === "f16")!;
          assert.match(f16.target ?? "", /f16 storage: emulated \(two halves per u32/);
        },
      );

      await t.step(
        "with subgroups off (the scalar tree path) the reductions still match",
        async () => {
          const r = await selftest(
            page,
            "?cases=reductions,softmax,nan_reductions,f16&WEBGPU_INDUCTOR_SUBGROUPS=0",
          );
          assert.equal(r.cases.length, 8);
          const bad = r.cases.filter((c) => !c.ok).map((c) =>
            `${c.name} (${c.mode}): ${c.error ?? JSON.stringify(c.outputs?.filter((o) => o.bad))}`
          );
          assert.deepEqual(bad, [], bad.join("\n"));
          for (const c of r.cases) {
            assert.equal(c.subgroupKernels, 0, `${c.name} (${c.mode})`);
            assert.match(c.target ?? "", /reductions: workgroup tree/);
          }
        },
      );

      await t.step("the demo renders every panel for a small model", async () => {
        await page.goto(`${server.url}/demo/?model=vllm&size=tiny&runs=3`);
        const state = await settle(page);
        await Deno.mkdir(OUT, { recursive: true });
        await page.screenshot({ path: `${OUT}demo.png`, fullPage: true });
        assert.equal(state, "done", `demo ended in state ${state}: ${await errorMessage(page)}`);
        const dom = await page.evaluate(() => {
          const q = (s: string) => document.querySelectorAll(s).length;
          const text = (id: string) => document.getElementById(id)?.textContent ?? "";
          return {
            adapter: text("adapter"),
            kernels: q("#graph svg .node.kernel"),
            hosts: q("#graph svg .node.host"),
            edges: q("#graph svg .edge"),
            details: q('#kernels details.kernel[data-kind="kernel"]'),
            wgsl: [...document.querySelectorAll("#kernels pre.wgsl")].map((e) =>
              e.textContent ?? ""
            ),
            storages: q("#memory svg .storage"),
            total: text("memory-summary"),
            bars: q("#timings svg .bar"),
            maxAbs: [...document.querySelectorAll("#error td.max-abs")].map((e) =>
              Number(e.textContent)
            ),
            noWebgpuHidden: (document.getElementById("no-webgpu") as HTMLElement).hidden,
          };
        });
        assert.match(dom.adapter, /swiftshader/i);
        assert.ok(dom.kernels >= 3, `kernel boxes: ${dom.kernels}`);
        assert.equal(dom.hosts, 1, "the host readback step is drawn as a host box");
        assert.ok(dom.edges >= dom.kernels, `edges: ${dom.edges}`);
        assert.equal(dom.details, dom.kernels);
        assert.ok(dom.wgsl.length === dom.kernels && dom.wgsl.every((w) => w.includes("@compute")));
        assert.ok(dom.storages > 0);
        assert.match(dom.total, /total \d+(\.\d)? (B|KiB|MiB) \(\d+ bytes\) planned/);
        assert.equal(dom.bars, 7, "compile cold/warm and run for two modes, plus the reference");
        assert.equal(dom.maxAbs.length, 2);
        assert.ok(dom.maxAbs.every((e) => e < 1e-3), `max abs errors ${dom.maxAbs}`);
        assert.equal(dom.noWebgpuHidden, true);
      });

      await t.step("navigator.gpu missing: the demo shows #no-webgpu", async () => {
        const p3 = await browser!.newPage();
        watch(p3, problems);
        await p3.addInitScript(() => {
          Object.defineProperty(Navigator.prototype, "gpu", {
            get: () => undefined,
            configurable: true,
          });
        });
        await p3.goto(`${server.url}/demo/?size=tiny`);
        assert.equal(await settle(p3), "error");
        assert.equal(await p3.isVisible("#no-webgpu"), true);
        assert.equal(await p3.getAttribute("#no-webgpu", "data-reason"), "missing");
        assert.match(await errorMessage(p3), /WebGPU is not available/);
        await p3.close();
      });

      await t.step("no console errors or uncaught exceptions", () => {
        assert.deepEqual(problems, []);
      });
    } finally {
      await browser?.close();
    }

    await t.step("a browser without the WebGPU flags shows #no-webgpu", async () => {
      const b = await chromium.launch({ executablePath: exe, args: NO_WEBGPU_ARGS });
      try {
        const p = await b.newPage();
        const own: Problem[] = [];
        watch(p, own);
        await p.goto(`${server.url}/demo/?size=tiny`);
        assert.equal(await settle(p), "error");
        assert.equal(await p.isVisible("#no-webgpu"), true);
        assert.match(
          await p.textContent("#no-webgpu") ?? "",
          /WebGPU is not available in this browser/,
        );
        assert.equal(await p.getAttribute("#no-webgpu", "data-reason"), "no-adapter");
        assert.deepEqual(own, []);
      } finally {
        await b.close();
      }
    });
    await server.shutdown();
    console.log(`browser suite: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  },
});
