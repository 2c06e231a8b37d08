// The Llama model against PyTorch reference fixtures (tools/llama_reference.py: float64 math on
// the stored f32 weights, or on the same weights rounded to f16, full recompute per token):
// - test/fixtures/tiny-llama: the bundled demo/tiny-llama, 3 prompts, 48 greedy tokens each,
//   with the logits that chose every token, for f32 and f16 weights;
// - test/fixtures/llama-odd: a random-weight Llama of awkward sizes (hidden 72, 6 heads over 2 kv
//   heads, head_dim 12, 3 layers, MLP 100, vocab 97, untied head): logits of a 16-token forward
//   and 16 greedy tokens, f32 and f16 (its own F16 safetensors).
// Greedy ids must match token for token; logits within LOGITS_TOL of the reference.
import assert from "node:assert/strict";
import { type LlamaModel, loadLlama } from "../src/mod.ts";

/** |ours - reference| ≤ atol + rtol·|reference| for every logit. Our math is f32 (f16 weights are
 * widened exactly), so f16 weights get the same tolerance. */
const LOGITS_TOL = { atol: 1e-4, rtol: 1e-4 };

const ROOT = new URL("../", import.meta.url).pathname;

interface Rows {
  file: string;
  offset: number;
  rows: number;
  cols: number;
}

async function readRows(dir: string, r: Rows): Promise<Float32Array> {
  const bytes = await Deno.readFile(`${dir}/${r.file}`);
  const n = r.rows * r.cols;
  return new Float32Array(bytes.buffer.slice(r.offset, r.offset + n * 4));
}

/** Largest |a - b| / (atol + rtol·|b|) (≤ 1 passes) and the largest absolute error. */
function worst(a: ArrayLike<number>, b: ArrayLike<number>): { ratio: number; abs: number } {
  let ratio = 0, abs = 0;
  for (let i = 0; i < b.length; i++) {
    const e = Math.abs(a[i] - b[i]);
    abs = Math.max(abs, e);
    ratio = Math.max(ratio, e / (LOGITS_TOL.atol + LOGITS_TOL.rtol * Math.abs(b[i])));
  }
  return { ratio, abs };
}

async function greedy(m: LlamaModel, ids: number[], n: number) {
  const got: number[] = [];
  const logits: Float32Array[] = [];
  for await (
    const t of m.generate(ids, { maxTokens: n, temperature: 0, ignoreEos: true, logits: true })
  ) {
    got.push(t.id);
    logits.push(t.logits!);
  }
  return { got, logits };
}

const TINY = `${ROOT}test/fixtures/tiny-llama`;
const TINY_MODEL = `${ROOT}demo/tiny-llama`;

Deno.test({
  name: "fixtures: tiny-llama greedy tokens and logits equal PyTorch's (f32 and f16 weights)",
  async fn() {
    const ref = JSON.parse(await Deno.readTextFile(`${TINY}/reference.json`));
    for (const dtype of ["f32", "f16"] as const) {
      const m = await loadLlama(TINY_MODEL, { dtype, warmup: false });
      try {
        for (const c of ref.cases.filter((c: { weights: string }) => c.weights === dtype)) {
          const where = `${dtype} '${c.prompt}'`;
          assert.deepEqual(m.encode(c.prompt), c.input_ids, `${where}: prompt ids`);
          const { got, logits } = await greedy(m, c.input_ids, c.rows);
          assert.deepEqual(got, c.generated_ids, `${where}: greedy ids`);
          const want = await readRows(TINY, {
            file: c.logits_file,
            offset: c.byte_offset,
            rows: c.rows,
            cols: c.cols,
          });
          const all = new Float32Array(c.rows * c.cols);
          logits.forEach((l, i) => all.set(l, i * c.cols));
          const w = worst(all, want);
          console.log(
            `  ${where}: max |logit err| ${w.abs.toExponential(2)} (tol ratio ${
              w.ratio.toFixed(3)
            })`,
          );
          assert.ok(w.ratio <= 1, `${where}: logits off by ${w.abs} (ratio ${w.ratio})`);
        }
      } finally {
        await m.dispose();
      }
    }
  },
});

const ODD = `${ROOT}test/fixtures/llama-odd`;

Deno.test({
  name: "fixtures: llama-odd (hidden 72, GQA 3, 3 layers) forward and greedy equal PyTorch's",
  async fn() {
    const ref = JSON.parse(await Deno.readTextFile(`${ODD}/reference.json`));
    for (const c of ref.cases) {
      const dir = c.weights === "f16" ? `${ODD}/f16` : ODD;
      const m = await loadLlama(dir, { warmup: false, blockSize: 4 });
      try {
        assert.equal(m.weightDtype, c.weights, "weights stay in the file's dtype");
        const f = c.forward, g = c.greedy;
        const fwd = await m.forward(c.input_ids);
        const wf = worst(
          fwd,
          await readRows(ODD, {
            file: c.logits_file,
            offset: f.byte_offset,
            rows: f.rows,
            cols: f.cols,
          }),
        );
        console.log(`  ${c.weights} forward: max |logit err| ${wf.abs.toExponential(2)}`);
        assert.ok(wf.ratio <= 1, `${c.weights} forward logits off by ${wf.abs}`);
        const { got, logits } = await greedy(m, c.input_ids, g.rows);
        assert.deepEqual(got, g.generated_ids, `${c.weights}: greedy ids`);
        const all = new Float32Array(g.rows * g.cols);
        logits.forEach((l, i) => all.set(l, i * g.cols));
        const wg = worst(
          all,
          await readRows(ODD, {
            file: c.logits_file,
            offset: g.byte_offset,
            rows: g.rows,
            cols: g.cols,
          }),
        );
        console.log(`  ${c.weights} greedy: max |logit err| ${wg.abs.toExponential(2)}`);
        assert.ok(wg.ratio <= 1, `${c.weights} greedy logits off by ${wg.abs}`);
      } finally {
        await m.dispose();
      }
    }
  },
});
