// How patches B and C install Scheduler methods, as vLLM's `_update_scheduler` does: the patched
// method is put on the class each time a scheduler is about to be built (lazily, not at import).
import { GraphLowering } from "../inductor/lowering.ts";
import type { Scheduler, SchedulerOptions } from "../inductor/scheduler.ts";
import { type Swap, swapMember } from "./index.ts";

/** A swap of GraphLowering.updateScheduler that applies `onScheduler` before building. */
export function onSchedulerBuild(onScheduler: Swap): Swap {
  return swapMember(
    GraphLowering.prototype,
    "updateScheduler",
    (original) =>
      function updateScheduler(this: GraphLowering, options: SchedulerOptions): Scheduler {
        if (!onScheduler.applied) onScheduler.apply();
        return original.call(this, options);
      },
  );
}
