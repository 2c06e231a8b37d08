// tools/export_torch.py as a command: a module it cannot map fails with one message listing every
// aten op with its node and module line, writing nothing; a good one writes a graph that loads.
// No GPU here (the parity runs are in torch_export_test.ts). Skipped, loudly, without torch.
import assert from "node:assert/strict";
import { graphFromJSON, readSafetensors } from "../src/mod.ts";
import { PY, ROOT, run, torchMissing } from "./torch_env.ts";

const OUT = `${ROOT}test/out/torch_export_cli`;
const ignore = (await torchMissing("the PyTorch export CLI tests")) !== null;

const cli = (factory: string, dir: string) =>
  run(PY, ["tools/export_torch.py", `test/torch_models.py:${factory}`, dir]);

Deno.test({
  name: "export CLI: unmappable ops, random ops and buffer updates are listed in one message",
  ignore,
  async fn() {
    const dirs = [`${OUT}/unsupported`, `${OUT}/mutating`];
    for (const d of dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
    const [bad, mut] = await Promise.all([cli("unsupported", dirs[0]), cli("mutating", dirs[1])]);
    const src = (await Deno.readTextFile(`${ROOT}test/torch_models.py`)).split("\n");
    const line = (s: string) => src.findIndex((l) => l.includes(s)) + 1;
    assert.equal(bad.code, 1, bad.stderr);
    const msg = bad.stderr.trim();
    assert(msg.startsWith("export_torch: 2 problem(s) mapping Unsupported"), msg);
    assert(!msg.includes("Traceback"), msg);
    for (
      const [op, node, code] of [
        ["aten.cumsum.default", "cumsum", "y = torch.cumsum(self.lin(x), dim=-1)"],
        ["aten.flip.default", "flip", "return torch.flip(y, dims=[0]) + 1"],
      ]
    ) {
      const want = `${op} at node '${node}' (test/torch_models.py:${line(code)} in forward: ` +
        `${code})`;
      assert(msg.includes(want), `expected "${want}" in:\n${msg}`);
    }
    // a buffer updated in forward, and dropout sampling in training mode
    assert.equal(mut.code, 1, mut.stderr);
    const m = mut.stderr.trim();
    assert(m.startsWith("export_torch: 2 problem(s) mapping Mutating"), m);
    const drop = `aten.bernoulli_.float at node 'bernoulli_' (test/torch_models.py:${
      line("return self.drop(x) + self.count")
    } in forward`;
    assert(m.includes(drop) && m.includes("random op (export the module in eval mode"), m);
    assert(m.includes("aten.copy_.default at node 'copy_'"), m);
    assert(m.includes("writes into 'count' in place"), m);
    for (const d of dirs) await assert.rejects(Deno.stat(d), `nothing is written in ${d}`);
  },
});

Deno.test({
  name: "export CLI writes graph.json, model.safetensors and export.json that load",
  ignore,
  async fn() {
    const dir = `${OUT}/mlp`;
    const r = await cli("mlp", dir);
    assert.equal(r.code, 0, r.stderr);
    assert(r.stdout.startsWith(`wrote ${dir}/graph.json`), r.stdout);
    const g = graphFromJSON(await Deno.readTextFile(`${dir}/graph.json`));
    const weights = readSafetensors(await Deno.readFile(`${dir}/model.safetensors`));
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/export.json`));
    const names = ["net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias", "net.4.weight"];
    for (const n of names) assert(n in weights, `${n} in model.safetensors`);
    assert.deepEqual(manifest.params, [...names, "net.4.bias"]);
    assert.deepEqual(g.placeholders().map((p) => p.name), [...names, "net.4.bias", "x"]);
    assert.deepEqual(manifest.inputs, [{ name: "x", shape: [6, 24], dtype: "f32" }]);
    assert.equal(g.outputs().length, 1);
  },
});
