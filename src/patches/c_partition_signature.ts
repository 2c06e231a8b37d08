// Patch C — Scheduler.getGraphPartitionSignature (pytorch#165815, vLLM PR #27139; torch ==
// 2.9.0). A buffer freed in a partition (its last use is there, e.g. through an alias such as a
// dtype view) but never read or written there directly was not a partition input, so its
// producer never returned it and the free hit a name not in scope. The fix makes every freed
// buffer produced earlier an input (deallocated there), so the producing partition returns it.
// Installed, like B, when a scheduler is about to be built.
import { type Partition, type PartitionSignature, Scheduler } from "../inductor/scheduler.ts";
import { registerPatch, swapMember } from "./index.ts";
import { onSchedulerBuild } from "./scheduler_hook.ts";

function getGraphPartitionSignature(
  this: Scheduler,
  partitions: Partition[],
): PartitionSignature[] {
  return this.partitionSignatures(partitions, true);
}

const onScheduler = swapMember(
  Scheduler.prototype,
  "getGraphPartitionSignature",
  () => getGraphPartitionSignature,
);
const onLowering = onSchedulerBuild(onScheduler);

registerPatch({
  id: "C",
  target: "GraphLowering.updateScheduler -> Scheduler.getGraphPartitionSignature",
  range: "2.9.0",
  upstream: "pytorch#165815 (vllm PR #27139)",
  description: "buffers freed in a partition but produced earlier become its inputs",
  apply: () => onLowering.apply(),
  revert() {
    onLowering.revert();
    onScheduler.revert();
  },
});
