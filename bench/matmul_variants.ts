// Matmul kernel variants timed against each other on the default adapter: `ours` (what
// compile() makes), `baseline` (what another checkout makes, `--baseline DIR`), every autotune
// tile config through the template (`sh…`/`rg…`, `-p` pipelined), and raw-WGSL experiments
// (`reg…` register tiles, `st…` workgroup-memory staging, probes that hoist loads out of the k
// loop to split load from FMA time). Each result is checked against a float64 reference on 256
// sampled elements (probes excepted). Reports wall time and process CPU time per launch.
// `deno run -A bench/matmul_variants.ts [--shapes 512,1024,8x128x512] [--only a,b] [--reps 5]`
// A shape is `n` (n x n @ n x n) or `MxKxN`.
import process from "node:process";
import { compile, getDevice } from "../src/mod.ts";
import { targetInput, TILE_CONFIGS } from "../src/codegen/autotune.ts";
import { kernelTargetFor } from "../src/codegen/kernel_target.ts";
import { genMatmul, type MatmulConfig } from "../src/codegen/wgsl/matmul.ts";
import type { TextureShape } from "../src/runtime/kernel_spec.ts";

const h = await getDevice();
const dev = h.device;

export interface Variant {
  wgsl: string;
  grid: [number, number, number];
  /** A timing probe: its result is not checked. */
  probe?: boolean;
  /** Bindings 0 (A) and 1 (B) read as rgba32float textures (texel = four consecutive elements
   * of a row) instead of storage buffers. */
  textures?: [boolean, boolean];
  /** compile()'s texture bindings (KernelBinding.texture): copied from A's and B's buffers
   * before every dispatch, as the runtime does. */
  copied?: (TextureShape | undefined)[];
}
type Gen = (m: number, k: number, n: number) => Variant | null;

const HEAD = `@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> C: array<vec4<f32>>;
`;

type Compile = typeof compile;
/** What compile() makes for a @ b on this adapter (prepared in the timing loop). */
const compiled = (c: Compile): Gen => (m, k, n) => {
  const cg = c((a, b) => a.matmul(b), { inputs: [{ shape: [m, k] }, { shape: [k, n] }] });
  return { wgsl: "", grid: [0, 0, 0], cg } as unknown as Variant;
};
const ours = compiled(compile);
/** compile() with its matmul operands forced to textures or to storage buffers. */
const oursWith = (textures: "on" | "off"): Gen => (m, k, n) => {
  const cg = compile((a, b) => a.matmul(b), {
    inputs: [{ shape: [m, k] }, { shape: [k, n] }],
    config: { "inductor.matmulTextures": textures },
  });
  return { wgsl: "", grid: [0, 0, 0], cg } as unknown as Variant;
};
/** What compile()'s template makes with tile config `cfg` (as autotuning would try it). */
const withConfig = (cfg: MatmulConfig): Gen => (m, k, n) => {
  const cg = compile((a, b) => a.matmul(b), { inputs: [{ shape: [m, k] }, { shape: [k, n] }] });
  for (const w of [cg.program.main, ...cg.program.partitions.values()]) {
    const l = w.lines.find((x) => x.op === "kernel" && x.node.kind === "matmul");
    if (!l || l.op !== "kernel") continue;
    try {
      const spec = genMatmul(targetInput(w, l, kernelTargetFor(h)), cfg);
      return { wgsl: spec.wgsl, grid: spec.workgroups as [number, number, number] };
    } catch (e) {
      console.log(`config ${JSON.stringify(cfg)} at ${m}x${k}x${n}: ${(e as Error).message}`);
      return null;
    }
  }
  return null;
};
const configs = Object.fromEntries(
  TILE_CONFIGS.map((c) => [
    `${
      c.kind === "shared" ? "sh" : "rg"
    }${c.tileM}x${c.tileN}x${c.tileK}-${c.threadM}x${c.threadN}${c.pipelined ? "-p" : ""}`,
    withConfig(c),
  ]),
);
// `--baseline DIR`: also time the kernel another checkout of the project generates
const baselineDir = Deno.args.includes("--baseline")
  ? Deno.args[Deno.args.indexOf("--baseline") + 1]
  : "";
const baseline: Gen | null = baselineDir
  ? compiled((await import(`${baselineDir}/src/mod.ts`)).compile as Compile)
  : null;

/** Register tile per invocation: tm rows x tn columns (tn a multiple of 4), k stepped by 4 with
 * vec4 loads of A along k and of B along n. Workgroup wx x wy invocations. `group`: grouped
 * tile order (Triton GROUP_M): consecutive workgroups walk `group` row-tiles down before moving
 * right, so the B panels they read are shared. */
function regTile(
  tm: number,
  tn: number,
  wx: number,
  wy: number,
  group = 0,
  probe: "" | "noA" | "noB" | "none" | "wgB" | "wgAB" = "",
  /** SIMD lanes (x) take different rows and share columns (B loads at one address). */
  lanesOnRows = false,
  /** k steps of four per loop iteration. */
  unrollQ = 1,
  accMajor = false,
): Gen {
  return (m, k, n) => {
    const tileM = tm * (lanesOnRows ? wx : wy), tileN = tn * (lanesOnRows ? wy : wx);
    if (m % tileM || n % tileN || k % 4) return null;
    const gx = n / tileN, gy = m / tileM;
    const kq = k / 4, nq = n / 4;
    const L: string[] = [HEAD];
    if (probe === "wgB" || probe === "wgAB") {
      L.push(
        `var<workgroup> WB: array<vec4<f32>, 4096>;`,
        `var<workgroup> WA: array<vec4<f32>, 4096>;`,
      );
    }
    L.push(`@compute @workgroup_size(${wx}, ${wy})`);
    L.push(
      `fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {`,
    );
    if (group > 0) {
      // linear id -> (row tile, col tile), groups of `group` row tiles
      L.push(`  let pid = wid.x + wid.y * ${gx}u;`);
      L.push(`  let per = ${group * gx}u;`);
      L.push(`  let g0 = (pid / per) * ${group}u;`);
      L.push(`  let gs = min(${gy}u - g0, ${group}u);`);
      L.push(`  let ty = g0 + (pid % per) % gs;`);
      L.push(`  let tx = (pid % per) / gs;`);
    } else L.push(`  let ty = wid.y;`, `  let tx = wid.x;`);
    const [ly, lx] = lanesOnRows ? ["lid.x", "lid.y"] : ["lid.y", "lid.x"];
    L.push(`  let r0 = ty * ${tileM}u + ${ly} * ${tm}u;`);
    L.push(`  let c0 = tx * ${tileN / 4}u + ${lx} * ${tn / 4}u;`);
    for (let i = 0; i < tm; i++) {
      for (let j = 0; j < tn / 4; j++) L.push(`  var acc${i}_${j} = vec4<f32>(0.0);`);
    }
    if (probe === "wgB" || probe === "wgAB") {
      L.push(`  let li = lid.y * ${wx}u + lid.x;`);
      L.push(`  for (var i = li; i < 4096u; i = i + ${wx * wy}u) { WB[i] = A[i]; WA[i] = B[i]; }`);
      L.push(`  workgroupBarrier();`);
    }
    // probes (wrong results, timing only): one operand loaded once outside the k loop
    const aLoads = [], bLoads = [];
    for (let i = 0; i < tm; i++) {
      aLoads.push(
        probe === "wgAB"
          ? `let a${i} = WA[((r0 + ${i}u) * 64u + q) % 4096u];`
          : `let a${i} = A[(r0 + ${i}u) * ${kq}u + ${
            probe === "noA" || probe === "none" ? "0u" : "q"
          }];`,
      );
    }
    for (let kk = 0; kk < 4; kk++) {
      for (let j = 0; j < tn / 4; j++) {
        const q = probe === "noB" || probe === "none" ? "0u" : "q";
        bLoads.push(
          probe === "wgB" || probe === "wgAB"
            ? `let b${kk}_${j} = WB[(q * 4u + ${kk}u) % 64u * 64u + (c0 + ${j}u) % 64u];`
            : `let b${kk}_${j} = B[(${q} * 4u + ${kk}u) * ${nq}u + c0 + ${j}u];`,
        );
      }
    }
    const hoistA = probe === "noA" || probe === "none",
      hoistB = probe === "noB" || probe === "none";
    if (hoistA) L.push(...aLoads.map((l) => "  " + l));
    if (hoistB) L.push(...bLoads.map((l) => "  " + l));
    const body: string[] = [];
    if (!hoistA) body.push(...aLoads);
    if (!hoistB) body.push(...bLoads);
    const fma = (kk: number, i: number, j: number) =>
      `acc${i}_${j} = fma(vec4<f32>(a${i}.${"xyzw"[kk]}), b${kk}_${j}, acc${i}_${j});`;
    if (accMajor) {
      // each accumulator's four k steps together: one spill load and store per four FMAs
      for (let i = 0; i < tm; i++) {
        for (let j = 0; j < tn / 4; j++) for (let kk = 0; kk < 4; kk++) body.push(fma(kk, i, j));
      }
    } else {
      for (let kk = 0; kk < 4; kk++) {
        for (let i = 0; i < tm; i++) for (let j = 0; j < tn / 4; j++) body.push(fma(kk, i, j));
      }
    }
    const uq = kq % unrollQ === 0 ? unrollQ : 1;
    L.push(`  for (var q0 = 0u; q0 < ${kq}u; q0 = q0 + ${uq}u) {`);
    for (let u = 0; u < uq; u++) {
      L.push(`    {`, `      let q = q0 + ${u}u;`, ...body.map((l) => "      " + l), `    }`);
    }
    L.push(`  }`);
    for (let i = 0; i < tm; i++) {
      for (let j = 0; j < tn / 4; j++) {
        L.push(`  C[(r0 + ${i}u) * ${nq}u + c0 + ${j}u] = acc${i}_${j};`);
      }
    }
    L.push(`}`);
    return { wgsl: L.join("\n"), grid: [gx, gy, 1], probe: probe !== "" };
  };
}

/** Operand tiles staged through workgroup memory per k-chunk of `tk` (vec4 copies), then a
 * tm x tn register tile per invocation read from workgroup memory: workgroup loads skip the
 * bounds checks lavapipe puts on every storage-buffer load. */
function staged(
  tm: number,
  tn: number,
  wx: number,
  wy: number,
  tk: number,
  unrollChunk = true,
): Gen {
  return (m, k, n) => {
    const tileM = tm * wy, tileN = tn * wx, lanes = wx * wy;
    if (m % tileM || n % tileN || k % tk || tk % 4) return null;
    const gx = n / tileN, gy = m / tileM;
    const kq = k / 4, nq = n / 4, tq = tk / 4, tnq = tileN / 4;
    const aVecs = tileM * tq, bVecs = tk * tnq;
    const L: string[] = [HEAD];
    L.push(`var<workgroup> SA: array<vec4<f32>, ${aVecs}>;`);
    L.push(`var<workgroup> SB: array<vec4<f32>, ${bVecs}>;`);
    L.push(`@compute @workgroup_size(${wx}, ${wy})`);
    L.push(
      `fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {`,
    );
    L.push(`  let li = lid.y * ${wx}u + lid.x;`);
    L.push(`  let rt = wid.y * ${tileM}u;`, `  let ct = wid.x * ${tnq}u;`);
    for (let i = 0; i < tm; i++) {
      for (let j = 0; j < tn / 4; j++) L.push(`  var acc${i}_${j} = vec4<f32>(0.0);`);
    }
    L.push(`  for (var k0 = 0u; k0 < ${kq}u; k0 = k0 + ${tq}u) {`);
    for (let e = 0; e < aVecs; e += lanes) {
      L.push(
        `    { let e = li + ${e}u; SA[e] = A[(rt + e / ${tq}u) * ${kq}u + k0 + e % ${tq}u]; }`,
      );
    }
    for (let e = 0; e < bVecs; e += lanes) {
      L.push(
        `    { let e = li + ${e}u; SB[e] = B[(k0 * 4u + e / ${tnq}u) * ${nq}u + ct + e % ${tnq}u]; }`,
      );
    }
    L.push(`    workgroupBarrier();`);
    const body = (q: string) => {
      const out: string[] = [];
      for (let i = 0; i < tm; i++) {
        out.push(`let a${i} = SA[(lid.y * ${tm}u + ${i}u) * ${tq}u + ${q}];`);
      }
      for (let kk = 0; kk < 4; kk++) {
        for (let j = 0; j < tn / 4; j++) {
          out.push(
            `let b${kk}_${j} = SB[(${q} * 4u + ${kk}u) * ${tnq}u + lid.x * ${tn / 4}u + ${j}u];`,
          );
        }
      }
      for (let kk = 0; kk < 4; kk++) {
        for (let i = 0; i < tm; i++) {
          for (let j = 0; j < tn / 4; j++) {
            out.push(
              `acc${i}_${j} = fma(vec4<f32>(a${i}.${"xyzw"[kk]}), b${kk}_${j}, acc${i}_${j});`,
            );
          }
        }
      }
      return out;
    };
    if (unrollChunk) {
      for (let q = 0; q < tq; q++) {
        L.push(
          `    {`,
          ...body(`${q}u`).map((l) => "      " + l),
          `    }`,
        );
      }
    } else {
      L.push(
        `    for (var q = 0u; q < ${tq}u; q = q + 1u) {`,
        ...body("q").map((l) => "      " + l),
        `    }`,
      );
    }
    L.push(`    workgroupBarrier();`, `  }`);
    for (let i = 0; i < tm; i++) {
      for (let j = 0; j < tn / 4; j++) {
        L.push(
          `  C[(rt + lid.y * ${tm}u + ${i}u) * ${nq}u + ct + lid.x * ${
            tn / 4
          }u + ${j}u] = acc${i}_${j};`,
        );
      }
    }
    L.push(`}`);
    return { wgsl: L.join("\n"), grid: [gx, gy, 1] };
  };
}

/** Like regTile (accumulator-major k steps, lanes along columns), but A and/or B read through
 * rgba32float textures: llvmpipe fetches texels for all SIMD lanes as straight-line gathers,
 * where a storage load is a per-lane loop with a branch and a bounds check per component.
 * `uniformA`: a timing probe whose A address depends on the workgroup only (uniform across the
 * SIMD lanes), to see whether llvmpipe loads it once and broadcasts it. */
function texTile(
  tm: number,
  tn: number,
  wx: number,
  wy: number,
  texA: boolean,
  texB: boolean,
  uniformA = false,
  /** Timing probe: the operand loads hoisted out of the k loop (the FMA and spill floor). */
  hoist: boolean | "A" | "B" = false,
  /** Read-only storage textures instead of sampled ones. */
  storageTex = false,
): Gen {
  return (m, k, n) => {
    const tileM = tm * wy, tileN = tn * wx;
    if (m % tileM || n % tileN || k % 64 || n % 64) return null;
    const gx = n / tileN, gy = m / tileM;
    const kq = k / 4, nq = n / 4;
    const L: string[] = [
      texA && storageTex
        ? `@group(0) @binding(0) var A: texture_storage_2d<rgba32float, read>;`
        : texA
        ? `@group(0) @binding(0) var A: texture_2d<f32>;`
        : `@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;`,
      texB && storageTex
        ? `@group(0) @binding(1) var B: texture_storage_2d<rgba32float, read>;`
        : texB
        ? `@group(0) @binding(1) var B: texture_2d<f32>;`
        : `@group(0) @binding(1) var<storage, read> B: array<vec4<f32>>;`,
      `@group(0) @binding(2) var<storage, read_write> C: array<vec4<f32>>;`,
      `@compute @workgroup_size(${wx}, ${wy})`,
      `fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {`,
      `  let r0 = wid.y * ${tileM}u + lid.y * ${tm}u;`,
      `  let ra = ${uniformA ? `wid.y * ${tileM}u` : "r0"};`,
      `  let c0 = wid.x * ${tileN / 4}u + lid.x * ${tn / 4}u;`,
    ];
    for (let i = 0; i < tm; i++) {
      for (let j = 0; j < tn / 4; j++) L.push(`  var acc${i}_${j} = vec4<f32>(0.0);`);
    }
    const loopA: string[] = [], loopB: string[] = [];
    for (let i = 0; i < tm; i++) {
      loopA.push(
        texA
          ? `    let a${i} = textureLoad(A, vec2<u32>(q, ra + ${i}u)${storageTex ? "" : ", 0"});`
          : `    let a${i} = A[(ra + ${i}u) * ${kq}u + q];`,
      );
    }
    for (let kk = 0; kk < 4; kk++) {
      for (let j = 0; j < tn / 4; j++) {
        loopB.push(
          texB
            ? `    let b${kk}_${j} = textureLoad(B, vec2<u32>(c0 + ${j}u, q * 4u + ${kk}u)${
              storageTex ? "" : ", 0"
            });`
            : `    let b${kk}_${j} = B[(q * 4u + ${kk}u) * ${nq}u + c0 + ${j}u];`,
        );
      }
    }
    // hoisted loads read at a fixed k (the timing probes)
    const outA = hoist === true || hoist === "A", outB = hoist === true || hoist === "B";
    if (outA || outB) L.push(`  { let q = wid.x;`, ...(outA ? loopA : []), ...(outB ? loopB : []));
    L.push(`  for (var q = 0u; q < ${kq}u; q = q + 1u) {`);
    L.push(...(outA ? [] : loopA), ...(outB ? [] : loopB));
    for (let i = 0; i < tm; i++) {
      for (let j = 0; j < tn / 4; j++) {
        for (let kk = 0; kk < 4; kk++) {
          L.push(
            `    acc${i}_${j} = fma(vec4<f32>(a${i}.${"xyzw"[kk]}), b${kk}_${j}, acc${i}_${j});`,
          );
        }
      }
    }
    L.push(`  }`);
    if (outA || outB) L.push(`  }`);
    for (let i = 0; i < tm; i++) {
      for (let j = 0; j < tn / 4; j++) {
        L.push(`  C[(r0 + ${i}u) * ${nq}u + c0 + ${j}u] = acc${i}_${j};`);
      }
    }
    L.push(`}`);
    return {
      wgsl: L.join("\n"),
      grid: [gx, gy, 1],
      probe: uniformA || hoist !== false,
      textures: [texA, texB],
    };
  };
}

const VARIANTS: Record<string, Gen> = {
  ...(baseline ? { baseline } : {}),
  ...configs,
  "st8x16-k16": staged(8, 16, 8, 8, 16),
  "st8x16-k32": staged(8, 16, 8, 8, 32),
  "st8x8-k16": staged(8, 8, 8, 8, 16),
  "st4x8-k16": staged(4, 8, 8, 8, 16),
  "st8x16-k16-4x4": staged(8, 16, 4, 4, 16),
  ours,
  "ours-tex": oursWith("on"),
  "ours-buf": oursWith("off"),
  "reg8x16": regTile(8, 16, 8, 8),
  "reg8x8": regTile(8, 8, 8, 8),
  "reg16x8": regTile(16, 8, 8, 8),
  "reg16x16": regTile(16, 16, 8, 8),
  "reg16x16-4x4": regTile(16, 16, 4, 4),
  "reg16x32-4x4": regTile(16, 32, 4, 4),
  "reg32x16-4x4": regTile(32, 16, 4, 4),
  "reg8x32-8x4": regTile(8, 32, 4, 8),
  "reg16x8-4x8": regTile(16, 8, 8, 4),
  "reg8x16-g8": regTile(8, 16, 8, 8, 8),
  "reg8x16-T": regTile(8, 16, 8, 8, 0, "", true),
  "reg16x8-T": regTile(16, 8, 8, 8, 0, "", true),
  "reg8x8-T": regTile(8, 8, 8, 8, 0, "", true),
  "reg4x16-T": regTile(4, 16, 8, 8, 0, "", true),
  "reg8x16-noA": regTile(8, 16, 8, 8, 0, "noA"),
  "reg8x16-none": regTile(8, 16, 8, 8, 0, "none"),
  "reg8x16-none-u4": regTile(8, 16, 8, 8, 0, "none", false, 4),
  "reg4x8-none-u4": regTile(4, 8, 8, 8, 0, "none", false, 4),
  "reg8x16-u2": regTile(8, 16, 8, 8, 0, "", false, 2),
  "reg8x16-acc": regTile(8, 16, 8, 8, 0, "", false, 1, true),
  "reg16x16-acc": regTile(16, 16, 8, 8, 0, "", false, 1, true),
  "reg8x16-T-acc": regTile(8, 16, 8, 8, 0, "", true, 1, true),
  "reg16x32-acc": regTile(16, 32, 4, 8, 0, "", false, 1, true),
  "reg32x16-acc": regTile(32, 16, 8, 4, 0, "", false, 1, true),
  "reg32x32-acc": regTile(32, 32, 4, 4, 0, "", false, 1, true),
  "reg16x16-acc-T": regTile(16, 16, 8, 8, 0, "", true, 1, true),
  "reg16x16-acc-g4": regTile(16, 16, 8, 8, 4, "", false, 1, true),
  "reg16x8-acc": regTile(16, 8, 8, 8, 0, "", false, 1, true),
  "reg16x16-acc-8x1": regTile(16, 16, 8, 1, 0, "", false, 1, true),
  "reg16x16-acc-8x1-col": regTile(16, 16, 8, 1, 1 << 20, "", false, 1, true),
  "reg16x16-acc-8x1-g8": regTile(16, 16, 8, 1, 8, "", false, 1, true),
  "reg16x16-acc-col": regTile(16, 16, 8, 8, 1 << 20, "", false, 1, true),
  "reg8x16-acc-4x8": regTile(8, 16, 4, 8, 0, "", false, 1, true),
  "reg8x16-u4": regTile(8, 16, 8, 8, 0, "", false, 4),
  "reg4x8-u4": regTile(4, 8, 8, 8, 0, "", false, 4),
  "reg8x16-wgB": regTile(8, 16, 8, 8, 0, "wgB"),
  "reg8x16-wgAB": regTile(8, 16, 8, 8, 0, "wgAB"),
  "reg4x8-none": regTile(4, 8, 8, 8, 0, "none"),
  "reg4x8": regTile(4, 8, 8, 8),
  "reg4x4-none": regTile(4, 4, 8, 8, 0, "none"),
  "reg8x16-noB": regTile(8, 16, 8, 8, 0, "noB"),
  "buf16x16": texTile(16, 16, 8, 8, false, false),
  "buf16x16-uniA": texTile(16, 16, 8, 8, false, false, true),
  "tex16x16": texTile(16, 16, 8, 8, true, true),
  "tex16x16-hoist": texTile(16, 16, 8, 8, true, true, false, true),
  "tex16x16-hoistA": texTile(16, 16, 8, 8, true, true, false, "A"),
  "tex16x16-hoistB": texTile(16, 16, 8, 8, true, true, false, "B"),
  "buf16x16-hoist": texTile(16, 16, 8, 8, false, false, false, true),
  "tex16x16-A": texTile(16, 16, 8, 8, true, false),
  "tex16x16-B": texTile(16, 16, 8, 8, false, true),
  "tex8x16": texTile(8, 16, 8, 8, true, true),
  "tex8x8": texTile(8, 8, 8, 8, true, true),
  "tex4x8": texTile(4, 8, 8, 8, true, true),
  "tex16x8": texTile(16, 8, 8, 8, true, true),
  "tex16x32": texTile(16, 32, 4, 8, true, true),
  "tex32x16": texTile(32, 16, 8, 4, true, true),
  "stex16x16": texTile(16, 16, 8, 8, true, true, false, false, true),
  "stex32x16": texTile(32, 16, 8, 4, true, true, false, false, true),
  "stex16x32": texTile(16, 32, 4, 8, true, true, false, false, true),
  "stex8x16": texTile(8, 16, 8, 8, true, true, false, false, true),
  "stex16x16-hoist": texTile(16, 16, 8, 8, true, true, false, true, true),
  "tex32x16-8x8": texTile(32, 16, 8, 8, true, true),
  "tex32x8": texTile(32, 8, 8, 4, true, true),
  "tex24x16": texTile(24, 16, 8, 4, true, true),
};

// ---------------------------------------------------------------------------------------------

function arg(name: string, dflt: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : dflt;
}
const shapes = arg("shapes", "512,1024").split(",").map((s) => {
  const p = s.split("x").map(Number);
  return p.length === 1 ? [p[0], p[0], p[0]] : p;
});
const only = arg("only", "");
const reps = Number(arg("reps", "5"));
const names = only ? only.split(",") : Object.keys(VARIANTS);
const unknown = names.filter((x) => !(x in VARIANTS));
if (unknown.length) {
  throw new Error(`unknown variants ${unknown} (known: ${Object.keys(VARIANTS)})`);
}

function rand(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}
function buf(data: Float32Array | number, usage = 0): GPUBuffer {
  const size = typeof data === "number" ? data : data.byteLength;
  const b = dev.createBuffer({
    size,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | usage,
  });
  if (typeof data !== "number") dev.queue.writeBuffer(b, 0, data);
  return b;
}
async function readBack(b: GPUBuffer, bytes: number): Promise<Float32Array> {
  const r = dev.createBuffer({
    size: bytes,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = dev.createCommandEncoder();
  enc.copyBufferToBuffer(b, 0, r, 0, bytes);
  dev.queue.submit([enc.finish()]);
  await r.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(r.getMappedRange().slice(0));
  r.unmap();
  r.destroy();
  return out;
}

/** The runtime's copy of a buffer into a texture binding (Stream.copyBufferToTexture). */
function copyIntoTexture(
  enc: GPUCommandEncoder,
  src: GPUBuffer,
  t: GPUTexture,
  shape: TextureShape,
  bytes: number,
): void {
  const texels = bytes / 16, full = Math.floor(texels / shape.width);
  const rest = texels - full * shape.width, bytesPerRow = shape.width * 16;
  if (full) {
    enc.copyBufferToTexture({ buffer: src, bytesPerRow }, { texture: t }, [shape.width, full]);
  }
  if (rest) {
    enc.copyBufferToTexture(
      { buffer: src, offset: full * bytesPerRow, bytesPerRow },
      { texture: t, origin: [0, full] },
      [rest, 1],
    );
  }
}

interface Prepared {
  name: string;
  /** Wall ms and process CPU ms (lavapipe's worker threads are threads of this process, so
   * CPU time measures the kernel's work even while other jobs share the cores). */
  run: (count: number) => Promise<[number, number]>;
}

for (const [m, k, n] of shapes) {
  const a = rand(m * k, 1), b = rand(k * n, 2);
  const ga = buf(a), gb = buf(b), gc = buf(m * n * 4);
  // the operands as rgba32float textures (a texel: four consecutive elements of a row), made
  // on first use by a texture variant
  const textures: GPUTexture[] = [];
  const asTexture = (src: GPUBuffer, rows: number, cols: number) => {
    const t = dev.createTexture({
      size: [cols / 4, rows],
      format: "rgba32float",
      usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING |
        GPUTextureUsage.COPY_DST,
    });
    const enc = dev.createCommandEncoder();
    enc.copyBufferToTexture({ buffer: src, bytesPerRow: cols * 4 }, { texture: t }, [
      cols / 4,
      rows,
    ]);
    dev.queue.submit([enc.finish()]);
    textures.push(t);
    return t;
  };
  let ta: GPUTexture | null = null, tb: GPUTexture | null = null;
  const texA = () => ta ??= asTexture(ga, m, k);
  const texB = () => tb ??= asTexture(gb, k, n);
  const prepared: Prepared[] = [];
  for (const name of names) {
    let v = VARIANTS[name](m, k, n) as Variant & { cg?: ReturnType<typeof compile> };
    if (!v) continue;
    if (v.cg) {
      await v.cg.prepare();
      const spec = v.cg.kernelSpecs().find((s) => s.wgsl.includes("fma("))!;
      v = {
        wgsl: spec.wgsl,
        grid: spec.workgroups as [number, number, number],
        copied: spec.bindings.map((b) => b.texture),
      };
    }
    const module = dev.createShaderModule({ code: v.wgsl });
    const pipeline = await dev.createComputePipelineAsync({
      layout: "auto",
      compute: { module, entryPoint: "main" },
    });
    const tex = v.textures ?? [false, false];
    // compile()'s texture bindings: textures of its shape, filled before every dispatch
    const copied = (v.copied ?? []).map((shape, i) => {
      if (!shape) return null;
      const t = dev.createTexture({
        size: [shape.width, shape.rows],
        format: "rgba32float",
        usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
      });
      textures.push(t);
      return { t, shape, src: i === 0 ? ga : gb, bytes: (i === 0 ? m * k : k * n) * 4 };
    });
    const bind = dev.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        {
          binding: 0,
          resource: copied[0]?.t.createView() ?? (tex[0] ? texA().createView() : { buffer: ga }),
        },
        {
          binding: 1,
          resource: copied[1]?.t.createView() ?? (tex[1] ? texB().createView() : { buffer: gb }),
        },
        { binding: 2, resource: { buffer: gc } },
      ],
    });
    const copies = copied.filter((c) => c !== null);
    const grid = v.grid;
    const run = async (count: number): Promise<[number, number]> => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const enc = dev.createCommandEncoder();
      let pass = enc.beginComputePass();
      for (let i = 0; i < count; i++) {
        if (copies.length) {
          pass.end();
          for (const c of copies) copyIntoTexture(enc, c.src, c.t, c.shape, c.bytes);
          pass = enc.beginComputePass();
        }
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bind);
        pass.dispatchWorkgroups(...grid);
      }
      pass.end();
      dev.queue.submit([enc.finish()]);
      await dev.queue.onSubmittedWorkDone();
      const c1 = process.cpuUsage(c0);
      return [performance.now() - t0, (c1.user + c1.system) / 1000];
    };
    // correctness: sampled elements against a float64 reference
    dev.queue.writeBuffer(gc, 0, new Float32Array(m * n).fill(NaN));
    await run(1);
    const c = await readBack(gc, m * n * 4);
    let worst = 0;
    for (let s = 0; s < 256; s++) {
      const i = (s * 7919) % m, j = (s * 104729 + 13) % n;
      let ref = 0, mag = 0;
      for (let q = 0; q < k; q++) {
        ref += a[i * k + q] * b[q * n + j];
        mag += Math.abs(a[i * k + q] * b[q * n + j]);
      }
      const err = Math.abs(c[i * n + j] - ref) / (mag + 1e-30);
      worst = Number.isNaN(err) ? Infinity : Math.max(worst, err);
    }
    if (!v.probe && !(worst < 1e-5)) {
      console.log(`${name} ${m}x${k}x${n}: WRONG (worst relative error ${worst})`);
      continue;
    }
    prepared.push({ name, run });
  }
  // interleaved repetitions of (c launches + wait) − (1 launch + wait), over c − 1: the wait's
  // fixed cost (~11 ms in Deno, with milliseconds of jitter) cancels; c is raised until the
  // difference spans ~200 ms (on a GPU a launch takes microseconds)
  const flop = 2 * m * k * n;
  const counts = new Map<string, number>();
  for (const p of prepared) {
    await p.run(1);
    let c = 4;
    for (;;) {
      const [one] = await p.run(1);
      const [many] = await p.run(c);
      const span = many - one;
      if (span >= 200 || c >= 8192) break;
      c = Math.min(8192, Math.max(2 * c, Math.ceil((300 * c) / Math.max(span, 0.01))));
    }
    counts.set(p.name, c);
  }
  const times = new Map<string, number[]>(prepared.map((p) => [p.name, []]));
  const cpus = new Map<string, number[]>(prepared.map((p) => [p.name, []]));
  for (let r = 0; r < reps; r++) {
    for (const p of prepared) {
      const c = counts.get(p.name)!;
      const [wall1, cpu1] = await p.run(1);
      const [wall, cpu] = await p.run(c);
      times.get(p.name)!.push(Math.max(wall - wall1, 1e-6) / (c - 1));
      cpus.get(p.name)!.push(Math.max(cpu - cpu1, 1e-6) / (c - 1));
    }
  }
  const med = (x: number[]) => x.sort((p, q) => p - q)[x.length >> 1];
  for (const p of prepared) {
    const t = times.get(p.name)!.sort((x, y) => x - y), cpu = med(cpus.get(p.name)!);
    console.log(
      `${`${m}x${k}x${n}`.padEnd(14)} ${p.name.padEnd(16)} wall median ${
        med(t).toFixed(3).padStart(9)
      } ms` +
        ` [${t[0].toFixed(2)}..${t[t.length - 1].toFixed(2)}] ${
          (flop / t[0] / 1e6).toFixed(2)
        } GFLOP/s best;` +
        ` cpu ${cpu.toFixed(3).padStart(9)} ms (${(flop / cpu / 1e6).toFixed(2)} GFLOP/cpu-s)`,
    );
  }
  for (const x of [ga, gb, gc, ...textures]) x.destroy();
}
