// What the scheduler asks of a kernel code generator (upstream: Scheduler.get_backend(device)
// returns a BaseScheduling whose can_fuse / codegen_node the scheduler calls). The scheduler
// generates a trial kernel to decide whether a fusion is legal (binding count, codegen limits)
// and the kernel of each scheduled node; codegen (src/codegen/wgsl/generate.ts) implements this,
// and compile.ts installs it, so that inductor never imports codegen.
import { CompileError } from "../errors.ts";
import type { IRBuffer } from "./ir.ts";
import type { KernelSpec } from "../runtime/kernel_spec.ts";

/** A group of IR buffers to compile into one kernel. */
export interface KernelGroup {
  name: string;
  members: IRBuffer[];
  /** Members whose values leave the kernel (graph outputs, read by other kernels, mutations). */
  stores: Set<string>;
  buffer(name: string): IRBuffer;
  /** Storage a buffer name lives in (aliases and mutations resolve to the real buffer). */
  storage(name: string): string;
}

/** The code generator as the scheduler sees it. */
export interface KernelBackend {
  /** The kernel for `group`; throws a CompileError (message "kernel trial: …" for a trial)
   * when the group cannot be one kernel. */
  generateKernel(group: KernelGroup): KernelSpec;
}

let installed: KernelBackend | null = null;

/** Makes `backend` the one schedulers use unless their options name another. */
export function installKernelBackend(backend: KernelBackend): void {
  installed = backend;
}

/** The installed backend; a CompileError when none is (import src/compile.ts or src/mod.ts). */
export function kernelBackend(): KernelBackend {
  if (!installed) {
    throw new CompileError(
      "no kernel backend installed: the scheduler needs codegen (import src/compile.ts, which " +
        "installs the WGSL backend, or pass SchedulerOptions.backend)",
    );
  }
  return installed;
}
