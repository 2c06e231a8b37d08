// shaders/: the generated module matches the .wgsl files (deno task gen:shaders rewrites it),
// slots are checked when filled, and every shader's instantiation compiles on the adapter.
import assert from "node:assert/strict";
import "../src/mod.ts";
import { F16_BITS_HELPERS } from "../src/codegen/wgsl/f16_storage.ts";
import { fillShader, shaderSlots } from "../src/codegen/wgsl/shader_template.ts";
import { type ShaderName, SHADERS } from "../src/codegen/wgsl/shaders.generated.ts";
import { CompileError } from "../src/errors.ts";
import { ATTENTION_OP } from "../src/custom_ops/attention.ts";
import { type CustomKernelTarget, getCustomOp } from "../src/fx/custom_ops.ts";
import type { MetaArg } from "../src/fx/op_def.ts";
import { getDevice } from "../src/runtime/device.ts";
import { getPipeline } from "../src/runtime/pipeline_cache.ts";
import {
  GENERATED_PATH,
  readShaderFiles,
  renderShadersModule,
  shaderBody,
} from "../tools/gen_shaders.ts";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("shaders.generated.ts is in sync with shaders/*.wgsl (run deno task gen:shaders)", async () => {
  const files = await readShaderFiles(`${ROOT}shaders`);
  assert.ok(files.size >= 2, "shaders/ holds the hand-written kernels");
  const want = renderShadersModule(files);
  const have = await Deno.readTextFile(`${ROOT}${GENERATED_PATH}`);
  assert.equal(have, want, `${GENERATED_PATH} is stale: run deno task gen:shaders`);
  assert.deepEqual(Object.keys(SHADERS).sort(), [...files.keys()].sort());
});

Deno.test("shaderBody drops the leading comment header and one final newline", () => {
  assert.equal(shaderBody("// a\n// b\nfn f() {}\n"), "fn f() {}");
  assert.equal(shaderBody("fn f() {}\n// tail\n"), "fn f() {}\n// tail");
});

Deno.test("fillShader: every slot needs a value, every value a slot", () => {
  const slots = shaderSlots("attention");
  assert.ok(slots.includes("LOAD_Q") && slots.includes("STORE"), slots.join(","));
  const full = Object.fromEntries(slots.map((s) => [s, "1"]));
  assert.doesNotMatch(fillShader("attention", full), /\{\{/);
  const { STORE: _, ...missing } = full;
  assert.throws(
    () => fillShader("attention", missing),
    (e) => e instanceof CompileError && /slot \{\{STORE\}\} has no value/.test(e.message),
  );
  assert.throws(
    () => fillShader("attention", { ...full, NOPE: 1 }),
    (e) => e instanceof CompileError && /no slot \{\{NOPE\}\}/.test(e.message),
  );
  assert.equal(fillShader("f16_bits", {}), SHADERS.f16_bits);
});

/** One or more complete WGSL modules instantiating each shader (entry point `main`). */
function instantiations(name: ShaderName, hasF16: boolean): string[] {
  switch (name) {
    case "f16_bits":
      return [`${F16_BITS_HELPERS}
@group(0) @binding(0) var<storage, read_write> x: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  x[gid.x] = f32_to_f16_bits(f16_bits_to_f32(x[gid.x]) * 2.0);
}`];
    case "attention": {
      const op = getCustomOp(ATTENTION_OP)!;
      const out: string[] = [];
      const targets: CustomKernelTarget[] = [{ f16: "emulated", f16Helpers: F16_BITS_HELPERS }];
      if (hasF16) targets.push({ f16: "native", f16Helpers: F16_BITS_HELPERS });
      for (const target of targets) {
        for (const [dtype, D] of [["f32", 8], ["f16", 8], ["f16", 7]] as const) {
          const m = { shape: [2, 5, D], dtype };
          const args = [m, m, m, m] as unknown as MetaArg[];
          for (const causal of [true, false]) {
            out.push(op.wgsl!(args, { scale: null, causal }, target)!.wgsl);
          }
        }
      }
      return out;
    }
  }
}

Deno.test("every shader's instantiation compiles on the adapter", async () => {
  const h = await getDevice();
  for (const name of Object.keys(SHADERS) as ShaderName[]) {
    const modules = instantiations(name, h.hasF16);
    assert.ok(modules.length > 0, name);
    for (const [i, wgsl] of modules.entries()) {
      const pipeline = await getPipeline(h, { name: `shader_${name}_${i}`, wgsl });
      assert.ok(pipeline, `${name} #${i}`);
    }
  }
});
