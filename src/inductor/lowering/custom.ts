// Custom ops (upstream torch/_inductor/lowering.py `fallback_handler` / ir.FallbackKernel, and
// ir.MutationOutput for the inputs they mutate in place): a FallbackKernel buffer per call.
import { UnsupportedOpError } from "../../errors.ts";
import type { Node } from "../../fx/graph.ts";
import { getOp } from "../../fx/registry.ts";
import type { FallbackArg } from "../ir.ts";
import { bufferBox, isPlainRead, type LoweringContext, type TBox } from "../lowering_context.ts";

/** Registered custom ops become FallbackKernels (upstream ir.FallbackKernel): inputs are
 * realized, each mutated argument gets a MutationOutput with NoneLayout. */
export function lowerCustom(gl: LoweringContext, node: Node, where: string): TBox | null {
  if (!node.target.includes("::")) {
    throw new UnsupportedOpError(`${where}: no lowering for op '${node.target}'`);
  }
  const mutatedIdx = customMutates(node);
  const aliasIdx = customAliasOf(node);
  const args: FallbackArg[] = node.args.map((a, i) => {
    if (a === null || typeof a !== "object" || Array.isArray(a)) return a as FallbackArg;
    let t = gl.box(a, where);
    if (mutatedIdx.includes(i) && !t.buffer && isPlainRead(t)) {
      throw new UnsupportedOpError(
        `${where}: argument ${i} ('${(a as Node).name}') is mutated in place and must be a ` +
          `buffer, not a view`,
      );
    }
    if (!t.buffer) {
      // a computed argument gets its own buffer; later readers of that fx node read it (and
      // see the mutation)
      t = gl.realize(t, null, a as Node);
      gl.env.set(a as Node, t);
    }
    return { buf: t.buffer! };
  });
  const mutated = mutatedIdx.map((i) => (args[i] as { buf: string }).buf);
  for (const m of mutated) gl.realizeReadersOf(m);
  const m = node.meta;
  const kernel = gl.addBuffer({
    shape: m ? [...m.shape] : [],
    dtype: m ? m.dtype : "f32",
    def: { kind: "fallback", op: node.target, args, kwargs: { ...node.kwargs }, mutated },
    layout: m ? (aliasIdx !== null ? "alias" : "fixed") : "none",
    target: aliasIdx !== null ? (args[aliasIdx] as { buf: string }).buf : null,
    // set only for a real (non-view) buffer result, as upstream's run_node does
    originNode: m && aliasIdx === null ? node.name : null,
  });
  for (const name of mutated) {
    const real = gl.buffers.find((b) => b.name === name)!;
    gl.addBuffer({
      shape: [...real.shape],
      dtype: real.dtype,
      def: { kind: "nop" },
      layout: "none",
      target: name,
      originNode: null,
    });
  }
  if (!m) return null;
  return bufferBox(kernel.name, kernel.shape, kernel.dtype);
}

function customMutates(node: Node): number[] {
  return getOp(node.target).mutates ?? [];
}
function customAliasOf(node: Node): number | null {
  return getOp(node.target).aliasOf ?? null;
}
