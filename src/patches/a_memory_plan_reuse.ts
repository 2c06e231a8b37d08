// Patch A — WrapperCodegen.memoryPlanReuse (pytorch#165514, applied by vLLM PR #26878 for torch
// == 2.9.0): in a partition's wrapper the trailing-line trim must keep the *partition's*
// outputs. 2.9.0 keeps the whole graph's, so a partition that ends by allocating a buffer it only
// returns (empty_like before a splitting op) loses that allocation: "undefined buffer" at the
// partition's return.
import { WrapperCodegen } from "../codegen/wrapper.ts";
import { registerPatch, swapMember } from "./index.ts";

const swap = swapMember(
  WrapperCodegen.prototype,
  "memoryPlanReuse",
  () =>
    function memoryPlanReuse(this: WrapperCodegen): void {
      const outputs = this.signature ? new Set(this.signature.outputs) : this.graphOutputNames();
      this.trimAndPlan(outputs);
    },
);

registerPatch({
  id: "A",
  target: "WrapperCodegen.memoryPlanReuse",
  range: "2.9.0",
  upstream: "pytorch#165514 (vllm#26878)",
  description: "keep a partition's own outputs when trimming trailing memory lines",
  apply: () => swap.apply(),
  revert: () => swap.revert(),
});
