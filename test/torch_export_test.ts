// Models exported by real PyTorch (tools/export_torch.py, run by /usr/bin/python3) and run by us
// in default and eager modes, compared with PyTorch's own outputs on the same random inputs.
// Needs Debian's python3-torch (CI installs it); without it these tests are skipped, loudly.
import assert from "node:assert/strict";
import {
  compile,
  DTypeError,
  GraphError,
  InputError,
  loadTorchExport,
  readSafetensors,
  ShapeError,
  type TorchExport,
  writeSafetensors,
} from "../src/mod.ts";
import { assertClose, freshSeed, type Tolerance } from "./helpers.ts";
import { PY, ROOT, run, torchMissing } from "./torch_env.ts";

const OUT = `${ROOT}test/out/torch_export`;
/** f32 on both sides; sums and matmuls associate differently on the GPU than in torch's CPU
 * kernels (measured on lavapipe: max abs error 4e-6 on GPT-2 logits, 3e-7 elsewhere). */
const TOL: Tolerance = { atol: 5e-5, rtol: 1e-4 };
const ignore = (await torchMissing("the PyTorch export parity tests")) !== null;

const seed = freshSeed();
let exported: Promise<Record<string, unknown>> | null = null;
/** Runs the helper once: exports every model and saves torch's outputs (reference.safetensors). */
function exportAll(): Promise<Record<string, unknown>> {
  exported ??= (async () => {
    const r = await run(PY, ["test/torch_export_helper.py", OUT, String(seed)]);
    if (r.code !== 0) {
      throw new Error(`torch_export_helper.py failed (exit ${r.code}):\n${r.stderr}`);
    }
    return JSON.parse(r.stdout.trim().split("\n").pop()!);
  })();
  return exported;
}

async function reference(model: string) {
  return readSafetensors(await Deno.readFile(`${OUT}/${model}/reference.safetensors`));
}

async function parity(model: string, exp: TorchExport) {
  const ref = await reference(model);
  for (const mode of ["default", "eager"] as const) {
    const cg = compile(exp.graph, { params: exp.params, mode });
    try {
      const inputs = cg.inputSpecs.map((_, i) => ref[`input.${i}`].data);
      const outs = await cg.run(inputs);
      assert.equal(outs.length, Object.keys(ref).filter((k) => k.startsWith("output.")).length);
      outs.forEach((o, i) =>
        assertClose(o, ref[`output.${i}`].data, TOL, `${model} ${mode} output ${i} (seed ${seed})`)
      );
    } finally {
      cg.dispose();
    }
  }
}

// zoo: many small ops the three models do not use (see test/torch_models.py)
for (const model of ["gpt2", "llama", "mlp", "zoo"]) {
  Deno.test({
    name: `PyTorch ${model} export matches torch's outputs in default and eager modes`,
    ignore,
    async fn() {
      await exportAll();
      const exp = await loadTorchExport(`${OUT}/${model}`);
      try {
        await parity(model, exp);
      } finally {
        for (const t of Object.values(exp.params)) t.dispose();
      }
    },
  });
}

Deno.test({
  name:
    "export: placeholders by fully qualified name, every param and buffer saved, ties, constants",
  ignore,
  async fn() {
    await exportAll();
    const exp = await loadTorchExport(`${OUT}/gpt2`);
    try {
      const m = exp.manifest!;
      assert.deepEqual(m.aliases, { "lm_head.weight": "wte.weight" });
      assert.deepEqual(m.inputs, [{ name: "idx", shape: [2, 8], dtype: "i32" }]);
      const names = exp.graph.placeholders().map((p) => p.name);
      for (const n of ["wte.weight", "h.0.c_attn.weight", "h.0.ln_1.bias", "ln_f.weight"]) {
        assert(names.includes(n), `placeholder ${n} in ${names}`);
        assert(n in exp.params, n);
      }
      // the folded position ids (arange, int64 -> i32) and causal mask (bias[:T, :T] == 0)
      assert.deepEqual(m.constants, ["_constant.0", "_constant.1"]);
      assert.deepEqual([...(await exp.params["_constant.0"].read())], [0, 1, 2, 3, 4, 5, 6, 7]);
      assert.equal(exp.params["_constant.1"].dtype, "bool");
      const saved = readSafetensors(await Deno.readFile(`${OUT}/gpt2/model.safetensors`));
      // every parameter and buffer, the folded-away mask buffer 'h.0.bias' included
      for (const n of ["wte.weight", "wpe.weight", "h.0.bias", "h.0.mlp_proj.bias", "ln_f.bias"]) {
        assert(n in saved, `${n} in model.safetensors`);
      }
      assert(!("lm_head.weight" in saved), "a tied weight is saved once, under its first name");
      const cg = compile(exp.graph, { params: exp.params });
      assert.deepEqual(cg.inputSpecs, [{ name: "idx", shape: [2, 8], dtype: "i32" }]);
      cg.dispose();
      const llama = JSON.parse(await Deno.readTextFile(`${OUT}/llama/export.json`));
      // torch 1.13's fake tensors cannot trace repeat_interleave; the exporter says so
      assert(
        llama.notes.some((n: string) => n.startsWith("traced with real tensors")),
        llama.notes,
      );
      const zoo = JSON.parse(await Deno.readTextFile(`${OUT}/zoo/export.json`));
      assert(zoo.notes.includes("bfloat16 is computed as f32"), zoo.notes);
      const lsaved = readSafetensors(await Deno.readFile(`${OUT}/llama/model.safetensors`));
      assert("inv_freq" in lsaved, "non-persistent buffers are saved too");
    } finally {
      for (const t of Object.values(exp.params)) t.dispose();
    }
  },
});

Deno.test({
  name: "loadTorchExport over HTTP (fetch, the browser's path) runs the same",
  ignore,
  async fn() {
    await exportAll();
    const dir = `${OUT}/mlp`;
    const ac = new AbortController();
    const server = Deno.serve({ port: 0, signal: ac.signal, onListen: () => {} }, async (req) => {
      try {
        return new Response(await Deno.readFile(`${dir}${new URL(req.url).pathname}`));
      } catch {
        return new Response("not found", { status: 404 });
      }
    });
    try {
      let bytes = 0;
      const exp = await loadTorchExport(new URL(`http://localhost:${server.addr.port}/`), {
        onProgress: (n) => (bytes = n),
      });
      assert.equal(bytes, (await Deno.stat(`${dir}/model.safetensors`)).size);
      try {
        await parity("mlp", exp);
      } finally {
        for (const t of Object.values(exp.params)) t.dispose();
      }
    } finally {
      ac.abort();
      await server.finished;
    }
  },
});

Deno.test({
  name:
    "loadTorchExport: mismatched, missing and malformed files are errors naming file and tensor",
  ignore,
  async fn() {
    await exportAll();
    const dir = await Deno.makeTempDir({ prefix: "torch_export_test" });
    try {
      for (const f of ["graph.json", "export.json"]) {
        await Deno.copyFile(`${OUT}/mlp/${f}`, `${dir}/${f}`);
      }
      const saved = readSafetensors(await Deno.readFile(`${OUT}/mlp/model.safetensors`));
      const write = (rec: typeof saved) =>
        Deno.writeFile(`${dir}/model.safetensors`, writeSafetensors(rec));
      const w = saved["net.0.weight"];
      await write({ ...saved, "net.0.weight": { ...w, shape: [w.shape[1], w.shape[0]] } });
      await assert.rejects(
        loadTorchExport(dir),
        (x: Error) =>
          x instanceof ShapeError &&
          x.message.includes(`${dir}/model.safetensors: tensor 'net.0.weight' has shape [24, 48]`),
      );
      await write({
        ...saved,
        "net.2.bias": { dtype: "i32", shape: [48], data: new Int32Array(48) },
      });
      await assert.rejects(
        loadTorchExport(dir),
        (x: Error) => x instanceof DTypeError && x.message.includes("tensor 'net.2.bias' is i32"),
      );
      const { ["net.4.bias"]: _gone, ...rest } = saved;
      await write(rest);
      await assert.rejects(
        loadTorchExport(dir),
        (x: Error) =>
          x instanceof InputError &&
          x.message.includes(`${dir}/model.safetensors has no tensor 'net.4.bias'`),
      );
      await Deno.writeTextFile(`${dir}/graph.json`, '{"format": "webgpu-inductor.graph"}');
      await assert.rejects(
        loadTorchExport(dir),
        (x: Error) => x instanceof GraphError && x.message.startsWith(`${dir}/graph.json: `),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
