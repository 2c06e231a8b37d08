// Scheduler: groups IR buffers into kernels (upstream torch/_inductor/scheduler.py). This file
// holds the scheduler nodes, their read/write sets and the eager grouping (one kernel per fx
// op); fusion rounds build on the same nodes.
import { numel } from "../dtype.ts";
import type { IRBuffer, ReductionDef } from "./ir.ts";
import type { LoweredGraph } from "./lowering.ts";
import { loadsOf } from "./value_expr.ts";

export type KernelKind = "pointwise" | "reduction" | "matmul" | "fallback" | "nop";

export interface SchedulerNode {
  /** Kernel name: k<index>_<first origin>. */
  name: string;
  kind: KernelKind;
  members: IRBuffer[];
  /** Why a kernel boundary precedes this node (explain()). */
  reason: string;
}

/** Buffer names a buffer's computation reads. */
export function readsOf(b: IRBuffer): string[] {
  const d = b.def;
  const names = new Set<string>();
  const add = (e: Parameters<typeof loadsOf>[0]) => {
    for (const l of loadsOf(e).values()) names.add(l.buf);
  };
  switch (d.kind) {
    case "pointwise":
    case "reduction":
      add(d.body);
      break;
    case "matmul":
      add(d.a);
      add(d.b);
      add(d.epilogue);
      break;
    case "fallback":
      for (const a of d.args) {
        if (a && typeof a === "object" && "buf" in a) names.add((a as { buf: string }).buf);
      }
      break;
  }
  return [...names];
}

export function kindOf(b: IRBuffer): KernelKind | null {
  switch (b.def.kind) {
    case "pointwise":
      return "pointwise";
    case "reduction":
      return "reduction";
    case "matmul":
      return "matmul";
    case "fallback":
      return "fallback";
    case "nop":
      // a MutationOutput (NoneLayout) marks a mutation; it has no kernel and no storage
      return b.layout === "none" ? null : "nop";
    case "input":
      return null;
  }
}

/** Can pointwise/reduction `b` join a kernel whose members are `group` (same iteration frame)? */
export function sameFrame(group: IRBuffer[], b: IRBuffer): boolean {
  const red = group.find((m) => m.def.kind === "reduction")?.def as ReductionDef | undefined;
  const d = b.def;
  if (d.kind === "reduction") {
    if (red) {
      return red.spaceShape.join() === d.spaceShape.join() && red.space.join() === d.space.join();
    }
    // a reduction joins a pointwise group whose members all live in its source space
    return group.every((m) =>
      m.def.kind === "pointwise" && m.def.ranges.join() === d.spaceShape.join()
    );
  }
  if (d.kind !== "pointwise") return false;
  if (red) {
    const nonOne = (s: number[]) => s.filter((x) => x !== 1).join();
    return d.ranges.join() === red.spaceShape.join() || nonOne(d.ranges) === nonOne(red.ranges);
  }
  const first = group[0].def;
  return first.kind === "pointwise" && numel(first.ranges) === numel(d.ranges);
}

/** Eager schedule: the buffers one fx node lowered to form one kernel when they share a frame
 * (softmax's max, sum and output are one kernel); nothing is fused across fx nodes. */
export function scheduleEager(g: LoweredGraph): SchedulerNode[] {
  const out: SchedulerNode[] = [];
  let cur: { origin: string; members: IRBuffer[]; kind: KernelKind } | null = null;
  const close = () => {
    if (cur) {
      out.push({
        name: `k${out.length}_${sanitize(cur.origin)}`,
        kind: cur.kind,
        members: cur.members,
        reason: "eager mode: one kernel per op",
      });
    }
    cur = null;
  };
  for (const b of g.buffers) {
    const kind = kindOf(b);
    if (!kind) continue;
    const origin = b.origins[0] ?? b.name;
    const fusable = (kind === "pointwise" || kind === "reduction") && cur !== null &&
      (cur.kind === "pointwise" || cur.kind === "reduction") && cur.origin === origin &&
      !b.target && !cur.members.some((m) => m.target) && sameFrame(cur.members, b);
    if (fusable) {
      cur!.members.push(b);
      if (kind === "reduction") cur!.kind = "reduction";
      continue;
    }
    close();
    cur = { origin, members: [b], kind };
  }
  close();
  return out;
}

export function sanitize(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, "_");
}
