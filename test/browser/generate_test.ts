// The demo page's Generate panel in Chromium (WebGPU on SwiftShader): it loads the bundled tiny
// Llama from dist/demo/tiny-llama/, generates greedy tokens for a prompt, and must produce the
// same ids as Deno (lavapipe) for the same prompt, with the decode step's partition graph drawn.
import assert from "node:assert/strict";
import { type Browser, chromium } from "playwright-core";
import { build } from "../../build.ts";
import { type DemoServer, serve } from "../../demo/serve.ts";
import { loadLlama } from "../../src/mod.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const ARGS = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--enable-unsafe-webgpu",
  "--enable-unsafe-swiftshader",
];
const MODEL = new URL("../../demo/tiny-llama/", import.meta.url).pathname;
const PROMPT = "The secret of a happy life is";
const TOKENS = 6;
const OUT = new URL("../out/browser/", import.meta.url).pathname;

Deno.test({
  name: "browser: the Generate panel streams the same greedy tokens as Deno",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    if (!await Deno.stat(CHROMIUM).then(() => true, () => false)) {
      throw new Error(
        `browser tests need Chromium at ${CHROMIUM}: run \`apt-get install -y chromium\` as root`,
      );
    }
    // Deno's answer first
    const m = await loadLlama(MODEL, { warmup: false });
    const want: number[] = [];
    for await (const t of m.generate(PROMPT, { maxTokens: TOKENS, temperature: 0 })) {
      want.push(t.id);
    }
    const promptIds = m.lastGeneration!.promptIds;
    await m.dispose();

    // its own dist: the other browser test file builds and serves dist/ at the same time
    // (deno test --parallel), and build() starts by removing its outdir
    const outdir = new URL("../out/dist-generate", import.meta.url).pathname;
    await build({ quiet: true, outdir });
    const server: DemoServer = serve({ port: 0, root: outdir });
    let browser: Browser | null = null;
    const problems: string[] = [];
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
      const page = await browser.newPage();
      page.on("pageerror", (e) => problems.push(e.message));
      page.on("console", (msg) => {
        if (msg.type() === "error") problems.push(msg.text());
      });
      const q = new URLSearchParams({
        // keep the compile demo beside it small
        model: "softmax",
        size: "tiny",
        mode: "default",
        runs: "1",
        generate: "1",
        prompt: PROMPT,
        max_tokens: String(TOKENS),
        temperature: "0",
      });
      await page.goto(`${server.url}/demo/?${q}`);
      await page.waitForFunction(
        () => ["done", "error"].includes(document.getElementById("generate")?.dataset.state ?? ""),
        null,
        { timeout: 240_000, polling: 200 },
      );
      const got = await page.evaluate(() => {
        const out = document.getElementById("generate-output")!;
        return {
          state: document.getElementById("generate")!.dataset.state,
          status: document.getElementById("generate-status")!.textContent,
          ids: JSON.parse(out.dataset.ids ?? "[]"),
          promptIds: JSON.parse(out.dataset.promptIds ?? "[]"),
          text: out.textContent,
          stats: document.getElementById("generate-stats")!.textContent,
          graph: document.getElementById("generate-graph")!.innerHTML.length,
          progress: (document.getElementById("generate-progress") as HTMLProgressElement).value,
        };
      });
      await Deno.mkdir(OUT, { recursive: true });
      await page.locator("#generate").screenshot({ path: `${OUT}generate.png` });
      assert.equal(got.state, "done", `panel ended in ${got.state}: ${got.status}`);
      assert.deepEqual(got.promptIds, promptIds, "the page tokenizes the prompt as Deno does");
      assert.deepEqual(got.ids, want, "greedy tokens in Chromium equal Deno's");
      assert.ok(got.text?.startsWith(PROMPT));
      assert.match(got.stats ?? "", /tokens\/s .* kernels per decode step .* partitions/);
      assert.ok(got.graph > 0, "the decode step's partition graph is drawn");
      assert.equal(got.progress, 1);
      assert.deepEqual(problems, []);
    } finally {
      await browser?.close();
      await server.shutdown();
    }
  },
});
