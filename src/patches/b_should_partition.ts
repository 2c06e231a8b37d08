// Patch B — Scheduler.shouldPartition, installed through GraphLowering.updateScheduler
// (vllm#26678, PR #26735; torch == 2.9.0). 2.9.0 consults a registered per-op rule through the
// op's origin fx node and asserts it exists; a custom op that mutates an argument and returns
// nothing (vllm::unified_attention_with_output) has none, so scheduling dies with an
// AssertionError. The patch matches custom ops by name against
// `inductor.customShouldPartitionOps` (a config entry 2.9.0 lacks, injected here as vLLM injects
// `custom_should_partition_ops`), and never touches the origin node. Like vLLM it is installed
// lazily: each time a scheduler is about to be built, the patched method is put on the class.
import { config } from "../config.ts";
import {
  customShouldPartitionFns,
  type PartitionRule,
  Scheduler,
  type SchedulerNode,
  shouldPartitionWith,
} from "../inductor/scheduler.ts";
import { registerPatch, swapMember } from "./index.ts";
import { onSchedulerBuild } from "./scheduler_hook.ts";

export const CUSTOM_PARTITION_KEY = "inductor.customShouldPartitionOps";

/** Match `ns::op` or `ns::op.overload` against the configured names (pytorch#166458). */
const nameRule: PartitionRule = (_b, op) => {
  const names = config.has(CUSTOM_PARTITION_KEY) ? config.strings(CUSTOM_PARTITION_KEY) : [];
  // the first vLLM version of this patch partitioned on any op with a registered rule
  if (
    names.includes(op.name) || names.includes(`${op.name}.default`) ||
    customShouldPartitionFns.has(op.name)
  ) {
    return `${op.name} is listed in ${CUSTOM_PARTITION_KEY}`;
  }
  return null;
};

function shouldPartition(this: Scheduler, node: SchedulerNode): string | null {
  return shouldPartitionWith(node, nameRule);
}

const onScheduler = swapMember(Scheduler.prototype, "shouldPartition", () => shouldPartition);
const onLowering = onSchedulerBuild(onScheduler);

registerPatch({
  id: "B",
  target: "GraphLowering.updateScheduler -> Scheduler.shouldPartition",
  range: "2.9.0",
  upstream: "vllm#26678 (vllm PR #26735, pytorch#166458)",
  description: "match custom ops by name for partitioning, without the origin fx node",
  apply() {
    if (!config.has(CUSTOM_PARTITION_KEY)) {
      config.registerKey({
        key: CUSTOM_PARTITION_KEY,
        type: "string[]",
        default: [],
        env: "WEBGPU_INDUCTOR_CUSTOM_SHOULD_PARTITION_OPS",
        doc: "Custom ops (ns::op or ns::op.overload) that split the graph into partitions.",
      });
    }
    onLowering.apply();
  },
  revert() {
    onLowering.revert();
    onScheduler.revert();
    if (config.has(CUSTOM_PARTITION_KEY)) config.unregisterKey(CUSTOM_PARTITION_KEY);
  },
});
