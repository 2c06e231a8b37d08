// Kernel generation dispatch: one fused group of IR buffers -> one WGSL kernel.
import type { KernelBackend } from "../../inductor/kernel_backend.ts";
import { CompileError } from "../../errors.ts";
import type { GroupInput } from "./kernel_context.ts";
import type { KernelSpec } from "./kernel_spec.ts";
import { genMatmul } from "./matmul.ts";
import { genPointwise } from "./pointwise.ts";
import { genReduction } from "./reduction.ts";

export type GroupKind = "pointwise" | "reduction" | "matmul";

export function groupKind(g: GroupInput): GroupKind {
  if (g.members.some((m) => m.def.kind === "matmul")) return "matmul";
  if (g.members.some((m) => m.def.kind === "reduction")) return "reduction";
  return "pointwise";
}

export function generateKernel(g: GroupInput): KernelSpec {
  for (const m of g.members) {
    const k = m.def.kind;
    if (k !== "pointwise" && k !== "reduction" && k !== "matmul") {
      throw new CompileError(`kernel ${g.name}: ${m.name} (${k}) cannot be generated as WGSL`);
    }
  }
  switch (groupKind(g)) {
    case "matmul":
      return genMatmul(g);
    case "reduction":
      return genReduction(g);
    case "pointwise":
      return genPointwise(g);
  }
}

/** The WGSL code generator as the scheduler's kernel backend (src/inductor/kernel_backend.ts). */
export const WGSL_BACKEND: KernelBackend = { generateKernel };
