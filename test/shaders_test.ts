// shaders/: the generated module matches the .wgsl files (deno task gen:shaders rewrites it),
// slots are checked when filled, and every shader's instantiation compiles on the adapter.
import assert from "node:assert/strict";
import { compile } from "../src/mod.ts";
import { selectKernels, targetInput, TILE_CONFIGS } from "../src/codegen/autotune.ts";
import { genMatmul, type MatmulConfig } from "../src/codegen/wgsl/matmul.ts";
import { COMPILE_TARGET } from "../src/codegen/wgsl/target.ts";
import type { TensorProxy } from "../src/fx/tracer.ts";
import { F16_BITS_HELPERS } from "../src/codegen/wgsl/f16_storage.ts";
import {
  fillShader,
  fillTemplate,
  shaderSlots,
  templateSections,
} from "../src/codegen/wgsl/shader_template.ts";
import { type ShaderName, SHADERS } from "../src/codegen/wgsl/shaders.generated.ts";
import { CompileError } from "../src/errors.ts";
import { OPAQUE_ZERO_INIT, SPECIAL_FLOAT_DECLS, useHelper } from "../src/codegen/wgsl/ieee.ts";
import { ATTENTION_OP } from "../src/custom_ops/attention.ts";
import { ROWS_KERNEL_MIN } from "../src/custom_ops/paged_attention.ts";
import { RESHAPE_AND_CACHE_OP } from "../src/custom_ops/reshape_and_cache.ts";
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
  assert.ok(files.has("ieee/relu"), "subfolders are read, named folder/file");
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

Deno.test("fillShader: sections, and lists of lines at the slot's indentation", () => {
  const text = "a {{X}}\n  {{LINES}}\n{{#ON}}\non\n{{/ON}}\n{{^ON}}\n  off {{Y}}\n{{/ON}}\nz";
  const fill = (slots: Record<string, string | number | boolean | string[]>) =>
    fillTemplate("t", text, slots).join("\n");
  assert.equal(fill({ X: 1, LINES: ["p", "q"], ON: true }), "a 1\n  p\n  q\non\nz");
  // a slot inside a dropped section needs no value; an empty list removes its line
  assert.equal(fill({ X: 1, LINES: [], ON: false, Y: "y" }), "a 1\n  off y\nz");
  assert.equal(fill({ X: 1, LINES: "r", ON: true }), "a 1\n  r\non\nz");
  const bad = (slots: Record<string, string | number | boolean | string[]>, msg: RegExp) =>
    assert.throws(() => fill(slots), (e) => e instanceof CompileError && msg.test(e.message));
  bad({ X: 1, LINES: [], ON: "yes" }, /t: section \{\{#ON\}\} needs true or false/);
  bad({ X: ["1"], LINES: [], ON: true }, /slot \{\{X\}\} takes lines, so it must stand alone/);
  bad({ X: 1, LINES: [], ON: false }, /slot \{\{Y\}\} has no value/);
  assert.throws(() => fillTemplate("t", "{{#A}}\nx", { A: true }), /never closed/);
  assert.throws(() => fillTemplate("t", "{{#A}}\n{{/B}}", { A: true }), /closes no open/);
  // every shader's sections are balanced and every marker fillable
  for (const name of Object.keys(SHADERS) as ShaderName[]) {
    const sections = new Set(templateSections(SHADERS[name]));
    for (const on of [true, false]) {
      const slots = Object.fromEntries(
        shaderSlots(name).map((k) => [k, sections.has(k) ? on : "1"]),
      );
      assert.doesNotMatch(fillShader(name, slots), /\{\{/, name);
    }
  }
});

type MatmulFn = (...xs: TensorProxy[]) => TensorProxy | TensorProxy[];
/** Matmul graphs that between them reach every flavour and part of the templates: tails in m,
 * n and k (k of 3: no unrolled main loop), a fused epilogue, paired and side-by-side matmuls,
 * a batch past 65535 workgroups (the folded grid), and n of 128 (16x16 vec4 tiles). */
const MATMUL_GRAPHS: [MatmulFn, number[][]][] = [
  [(a, b) => a.matmul(b), [[70, 30], [30, 70]]],
  [(a, b) => a.matmul(b), [[40, 3], [3, 40]]],
  [(a, b, c) => a.matmul(b).add(c).relu(), [[64, 32], [32, 64], [64]]],
  [(x, w1, w3) => x.matmul(w1).silu().mul(x.matmul(w3)), [[64, 32], [32, 64], [32, 64]]],
  [(x, a, b) => [x.matmul(a), x.matmul(b).relu()], [[20, 32], [32, 48], [32, 16]]],
  [(a, b) => a.matmul(b), [[70000, 2, 4], [70000, 4, 2]]],
  [(a, b, c) => a.matmul(b).add(c), [[136, 32], [32, 128], [128]]],
];

/** Tile configs no shape chooses, rendered for every MATMUL_GRAPHS kernel: the smallest
 * pipelined autotune config, 32x40 tiles of 80 invocations whose slices are not a multiple of
 * the workgroup (PARTIAL tile loads and stores), with and without pipelining, and the 16x16
 * vec4 register tile. */
const EXTRA_CONFIGS: MatmulConfig[] = [
  TILE_CONFIGS.find((c) => c.pipelined && c.tileM === 64 && c.tileN === 64)!,
  { kind: "shared", tileM: 32, tileN: 40, tileK: 12, threadM: 4, threadN: 4 },
  { kind: "shared", tileM: 32, tileN: 40, tileK: 12, threadM: 4, threadN: 4, pipelined: true },
  TILE_CONFIGS.find((c) => c.kind === "register" && c.threadM === 16 && c.threadN === 16)!,
];

let matmulKernels: string[] | undefined;
/** Every matmul kernel of MATMUL_GRAPHS for the shared and the register template, with the
 * chosen configs and with EXTRA_CONFIGS. */
function matmulModules(): string[] {
  if (matmulKernels) return matmulKernels;
  matmulKernels = [];
  for (const [fn, shapes] of MATMUL_GRAPHS) {
    const cg = compile(fn, { inputs: shapes.map((shape) => ({ shape })) });
    for (const matmulKind of ["shared", "register"] as const) {
      const target = { ...COMPILE_TARGET, matmulKind };
      const chosen = selectKernels(cg.program, target);
      for (const [line, spec] of chosen) {
        if (line.node.kind === "matmul") matmulKernels.push(spec.wgsl);
      }
    }
    for (const w of [cg.program.main, ...cg.program.partitions.values()]) {
      for (const l of w.lines) {
        if (l.op !== "kernel" || l.node.kind !== "matmul") continue;
        for (const cfg of EXTRA_CONFIGS) {
          matmulKernels.push(genMatmul(targetInput(w, l, COMPILE_TARGET), cfg).wgsl);
        }
      }
    }
  }
  return matmulKernels;
}

/** The matmul kernels filled from template `name`, checked to cover its variants. */
function matmulInstantiations(name: ShaderName): string[] {
  const all = matmulModules();
  const pipelined = all.filter((m) => m.includes("let kp = 0u;"));
  const shared = all.filter((m) => m.includes("workgroupBarrier()") && !pipelined.includes(m));
  const vec4 = all.filter((m) => m.includes("for (var kq = 0u;"));
  const register = all.filter((m) => !m.includes("workgroupBarrier()") && !vec4.includes(m));
  const pick = (mods: string[], ...variants: RegExp[]) => {
    for (const v of variants) assert.ok(mods.some((m) => v.test(m)), `${name}: no ${v}`);
    return mods;
  };
  switch (name) {
    case "matmul_shared":
      return pick(shared, /let wlin/, /tileB1/);
    case "matmul_shared_pipelined":
      return pick(pipelined, /let wlin/, /pb1_0 = val;/, /if \(lid \+ \d+u < \d+u\) \{ tile/);
    case "matmul_register":
      return pick(register, /var k0 = 0u/, /var k1 = /, /let wlin/);
    case "matmul_register_vec4":
      // (16x16 tiles: acc0_15_15, each accumulator's four k steps together)
      return pick(vec4, /silu|exp/, /acc0_15_15 = fma\(a15_3, b0_15_3, acc0_15_15\);\n\s*\}/);
    case "matmul_shared_tile_load":
      // stores to workgroup memory, whole and PARTIAL, and (pipelined) to registers
      return pick(
        [...shared, ...pipelined],
        /\{ tileA\[ea0\] = val; \}/,
        /\{ tileB0\[eb0_0\] = val; \}/,
        /if \(ea\d+ < \d+u\) \{ tileA\[ea\d+\] = val; \}/,
        /pa0 = val;/,
      );
    case "matmul_tile_origin":
      // the folded grid (unfolded from a linear id) and the plain one, in every flavour
      return pick(all, /let wlin/, /let b = wid\.z;/);
    default:
      return pick(all, /let om = /, /else if \(on < \d+u\) \{|else \{/);
  }
}

/** A call of each IEEE helper in shaders/ieee/ on f32 operands `a`, `b` (as an f32). */
const IEEE_CALLS: Record<string, string> = {
  "ieee/special_floats": "bitcast<f32>(F32_POS_INF_BITS | OPAQUE_ZERO) + " +
    "bitcast<f32>(F32_NEG_INF_BITS) * bitcast<f32>(F32_NAN_BITS)",
  "ieee/is_nan": "select(0.0, 1.0, is_nan_f32(a))",
  "ieee/is_nonfinite": "select(0.0, 1.0, is_nonfinite_f32(a))",
  "ieee/relu": "relu_f32(a)",
  "ieee/maximum": "maximum_f32(a, b)",
  "ieee/minimum": "minimum_f32(a, b)",
  "ieee/argmax_takes": "select(0.0, 1.0, argmax_takes_f32(a, 1u, b, 2u))",
  "ieee/tanh": "tanh_f32(a)",
  "ieee/sqrt": "sqrt_f32(a)",
  "ieee/log": "log_f32(a)",
  "ieee/sin": "sin_f32(a)",
  "ieee/cos": "cos_f32(a)",
  "ieee/pow": "pow_f32(a, b)",
  "ieee/to_i32": "f32(f32_to_i32(a))",
  "ieee/to_u32": "f32(f32_to_u32(a))",
};

/** A module declaring IEEE helper `name` (and the helpers it needs) and calling it. */
function ieeeModule(name: ShaderName): string {
  const call = IEEE_CALLS[name];
  assert.ok(call, `test/shaders_test.ts: no call for ${name}`);
  const helpers = new Set<string>();
  if (name !== "ieee/special_floats") useHelper(helpers, SHADERS[name]);
  return `${SPECIAL_FLOAT_DECLS}
${[...helpers].join("\n")}
@group(0) @binding(0) var<storage, read_write> t0: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  ${OPAQUE_ZERO_INIT} // reads t0's length, as in generated kernels
  let a = t0[gid.x];
  let b = t0[gid.x + 1u];
  t0[gid.x] = ${call};
}`;
}

/** Paged attention kernels through the attention op (q, k, v, out, caches, block table, seq
 * lens, query starts): `rows` query rows (tokens × heads) choose the kernel. */
function pagedModules(targets: CustomKernelTarget[], rows: number): string[] {
  const op = getCustomOp(ATTENTION_OP)!;
  const out: string[] = [];
  const Hq = 4, Hkv = 2, T = rows / Hq, S = 2;
  for (const target of targets) {
    for (const [dt, cd, D] of [["f32", "f32", 8], ["f16", "f16", 8], ["f32", "f16", 7]] as const) {
      const args = [
        { shape: [T, Hq, D], dtype: dt },
        { shape: [T, Hkv, D], dtype: dt },
        { shape: [T, Hkv, D], dtype: dt },
        { shape: [T, Hq, D], dtype: dt },
        { shape: [6, 4, Hkv, D], dtype: cd },
        { shape: [6, 4, Hkv, D], dtype: cd },
        { shape: [S, 3], dtype: "i32" },
        { shape: [S], dtype: "i32" },
        { shape: [S + 1], dtype: "i32" },
      ] as unknown as MetaArg[];
      for (const causal of [true, false]) {
        out.push(op.wgsl!(args, { scale: null, causal }, target)!.wgsl);
      }
    }
  }
  return out;
}

/** One or more complete WGSL modules instantiating each shader (entry point `main`). */
function instantiations(name: ShaderName, hasF16: boolean): string[] {
  const targets: CustomKernelTarget[] = [{ f16: "emulated", f16Helpers: F16_BITS_HELPERS }];
  if (hasF16) targets.push({ f16: "native", f16Helpers: F16_BITS_HELPERS });
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
    case "paged_attention": {
      const mods = pagedModules(targets, 8);
      // the workgroup kernel: one workgroup per row, keys split over its invocations
      for (const m of mods) assert.match(m, /local_invocation_index/);
      return mods;
    }
    case "paged_attention_sequence":
      // both kernels start with it
      return [...pagedModules(targets, 8), ...pagedModules(targets, ROWS_KERNEL_MIN)];
    case "paged_attention_rows": {
      const mods = pagedModules(targets, ROWS_KERNEL_MIN);
      for (const m of mods) assert.doesNotMatch(m, /var<workgroup>/);
      return mods;
    }
    case "reshape_and_cache": {
      const op = getCustomOp(RESHAPE_AND_CACHE_OP)!;
      const out: string[] = [];
      for (const target of targets) {
        for (const [dt, cd] of [["f32", "f32"], ["f16", "f16"], ["f32", "f16"], ["f16", "f32"]]) {
          const args = [
            { shape: [3, 2, 8], dtype: dt },
            { shape: [3, 2, 8], dtype: dt },
            { shape: [4, 4, 2, 8], dtype: cd },
            { shape: [4, 4, 2, 8], dtype: cd },
            { shape: [3], dtype: "i32" },
          ] as unknown as MetaArg[];
          out.push(op.wgsl!(args, {}, target)!.wgsl);
        }
      }
      return out;
    }
    case "matmul_shared":
    case "matmul_shared_pipelined":
    case "matmul_register":
    case "matmul_register_vec4":
    case "matmul_shared_tile_load":
    case "matmul_tile_origin":
    case "matmul_output_element":
      return matmulInstantiations(name);
    case "ieee/special_floats":
    case "ieee/is_nan":
    case "ieee/is_nonfinite":
    case "ieee/relu":
    case "ieee/maximum":
    case "ieee/minimum":
    case "ieee/argmax_takes":
    case "ieee/tanh":
    case "ieee/sqrt":
    case "ieee/log":
    case "ieee/sin":
    case "ieee/cos":
    case "ieee/pow":
    case "ieee/to_i32":
    case "ieee/to_u32":
      return [ieeeModule(name)];
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
