// The demo page's "Generate" panel: loads the bundled tiny Llama (dist/demo/tiny-llama/, with a
// progress bar while the weights download and the step graphs compile), streams generated text
// with tokens/s, and draws the decode step's partition graph (replayed partitions between the
// paged attention ops). URL query: generate=1 starts at once; prompt, max_tokens, temperature,
// seed fill the form. `#generate[data-state]` is idle, loading, generating, done or error;
// `#generate-output[data-ids]` holds the generated ids (the browser test reads them).
import { type LlamaModel, loadLlama, type LoadProgress } from "../src/mod.ts";
import { analyze } from "./analysis.ts";
import { $, query } from "./page.ts";
import { esc, graphSvg } from "./render.ts";

const MODEL_URL = new URL("tiny-llama/", location.href);
let model: Promise<LlamaModel> | null = null;

function setPanelState(s: "idle" | "loading" | "generating" | "done" | "error"): void {
  $("generate").dataset.state = s;
}

function progress(p: LoadProgress): void {
  const bar = $("generate-progress") as HTMLProgressElement;
  const status = $("generate-status");
  switch (p.phase) {
    case "download":
      // downloading is the first half of the bar, compiling the second
      bar.value = p.total ? 0.5 * (p.loaded / p.total) : 0.25;
      status.textContent = `downloading ${p.file}: ${(p.loaded / 1e6).toFixed(1)} MB`;
      break;
    case "upload":
      bar.value = 0.5;
      status.textContent = `weights on the GPU (${p.tensors} tensors)`;
      break;
    case "compile":
    case "prepare":
      bar.value = 0.5 + 0.5 * ((p.done + (p.phase === "prepare" ? 0 : 0.5)) / p.total);
      status.textContent = p.phase === "compile"
        ? `compiling the ${p.tokens}-token step (${p.done + 1}/${p.total})`
        : `kernels ready for the ${p.tokens}-token step`;
      break;
    case "ready":
      bar.value = 1;
      status.textContent = "model ready";
  }
}

async function generate(form: HTMLFormElement): Promise<void> {
  const f = new FormData(form);
  const prompt = String(f.get("prompt") ?? "");
  const maxTokens = Math.max(1, Math.min(256, Number(f.get("max_tokens")) || 48));
  const temperature = Math.max(0, Number(f.get("temperature")) || 0);
  const seedRaw = String(f.get("seed") ?? "");
  const seed = seedRaw === "" ? undefined : Number(seedRaw);
  const button = form.querySelector("button")!;
  button.disabled = true;
  const out = $("generate-output");
  try {
    if (!model) {
      setPanelState("loading");
      model = loadLlama(MODEL_URL, { warmup: [1, 16], onLoadProgress: progress });
      model.catch(() => (model = null));
    }
    const m = await model;
    setPanelState("generating");
    out.textContent = "";
    const promptSpan = document.createElement("span");
    promptSpan.className = "prompt";
    promptSpan.textContent = prompt;
    out.append(promptSpan);
    const ids: number[] = [];
    const t0 = performance.now();
    for await (const t of m.generate(prompt, { maxTokens, temperature, seed })) {
      ids.push(t.id);
      out.append(t.text);
      $("generate-stats").textContent = `${ids.length} tokens, ${
        (ids.length / ((performance.now() - t0) / 1000)).toFixed(1)
      } tokens/s`;
    }
    out.dataset.ids = JSON.stringify(ids);
    out.dataset.promptIds = JSON.stringify(m.lastGeneration!.promptIds);
    const r = m.lastGeneration!;
    const s = m.decodeStats;
    $("generate-stats").innerHTML = `prefill ${r.promptIds.length} tokens: <b>${
      r.prefillTokensPerS.toFixed(0)
    }</b> tokens/s · decode ${r.decodeSteps} steps: <b class="decode-rate">${
      r.decodeTokensPerS.toFixed(1)
    }</b> tokens/s · ${s.kernels} kernels per decode step · ${s.partitions} partitions (${s.replayablePartitions} replayed) · finish: ${
      esc(r.finishReason)
    }`;
    const g = m.runner.graph(m.runner.bucketFor(1));
    $("generate-graph").innerHTML = graphSvg(analyze(g));
    setPanelState("done");
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    $("generate-status").textContent = `${err.name}: ${err.message}`;
    setPanelState("error");
  } finally {
    button.disabled = false;
  }
}

function init(): void {
  const form = $("generate-form") as HTMLFormElement;
  const q = query();
  for (const k of ["prompt", "max_tokens", "temperature", "seed"]) {
    const v = q.get(k);
    const input = form.elements.namedItem(k) as HTMLInputElement | null;
    if (v !== null && input) input.value = v;
  }
  form.onsubmit = (ev) => {
    ev.preventDefault();
    generate(form);
  };
  setPanelState("idle");
  if (q.get("generate") === "1") generate(form);
}

init();
