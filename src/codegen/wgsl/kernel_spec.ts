// The kernel description codegen produces; defined in src/runtime/kernel_spec.ts (the runtime
// launches it), re-exported for the code generator's own files.
export * from "../../runtime/kernel_spec.ts";

/** Invocations per workgroup of a pointwise kernel. */
export const POINTWISE_WORKGROUP = 256;
