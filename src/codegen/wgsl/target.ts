// What kernels are generated for. compile() runs before any device is known and generates for
// COMPILE_TARGET; prepare() regenerates every kernel for the adapter it got (see
// src/codegen/kernel_target.ts), and explain() prints the target with the kernels that run.

export type F16Storage = "native" | "emulated";

/** Which implementation an adapter is, where codegen tunes for one specifically. */
export type AdapterFlavour = "swiftshader" | "other";

export interface KernelTarget {
  /** The adapter the kernels were chosen for (its description), or the compile-time marker. */
  adapter: string;
  /** "native": `enable f16;` and `array<f16>` (needs `shader-f16`); "emulated": two halves per
   * `u32`, f32 math (see f16_storage.ts). */
  f16: F16Storage;
  /** Reductions combine partial results with subgroup operations (the `subgroups` feature). */
  subgroups: boolean;
  /** Matmul template flavour: workgroup-memory tiles (GPUs) or register tiles (CPU adapters). */
  matmulKind: "shared" | "register";
  /** Largest workgroup of a workgroup-per-row reduction. */
  reductionWorkgroup: number;
  /** Adapter class reduction layouts are chosen for (reduction_layout.ts). */
  adapterClass: "cpu" | "gpu";
  /** "swiftshader": Chromium's CPU WebGPU (Dawn on SwiftShader), whose JIT runs four invocations
   * as SIMD lanes and favours other register tiles than lavapipe (matmul_config.ts). */
  adapterFlavour: AdapterFlavour;
  /** Four-element vector loads and stores where the innermost dimension allows. */
  vectorize: boolean;
  /** Matmul operands read as textures (lavapipe; see texture_operands.ts). */
  matmulTextures: "auto" | "on" | "off";
}

/** The target compile() generates for: no adapter yet. */
export const COMPILE_TARGET: KernelTarget = {
  adapter: "none (compile time, before prepare() picks kernels for an adapter)",
  f16: "native",
  subgroups: false,
  matmulKind: "shared",
  reductionWorkgroup: 256,
  adapterClass: "gpu",
  adapterFlavour: "other",
  vectorize: true,
  matmulTextures: "off",
};

/** One line saying which adapter and which code paths a set of kernels was generated for. */
export function describeTarget(t: KernelTarget): string {
  const f16 = t.f16 === "native"
    ? "native (shader-f16)"
    : "emulated (two halves per u32, f32 math; no shader-f16)";
  return `adapter: ${t.adapter}; f16 storage: ${f16}; reductions: ${
    t.subgroups ? "subgroup operations" : "workgroup tree (no subgroups)"
  }, workgroup <= ${t.reductionWorkgroup}, layouts for a ${t.adapterClass} adapter; vec4 ${
    t.vectorize ? "loads and stores" : "off"
  }; matmul template: ${t.matmulKind}${
    t.matmulTextures === "off" ? "" : `, operands as textures: ${t.matmulTextures}`
  }`;
}
