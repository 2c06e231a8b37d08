// Scheduler (upstream torch/_inductor/scheduler.py): scheduler nodes with read/write deps,
// mutation ordering, dead-node elimination, fusion rounds (vertical and horizontal, scored and
// cycle-checked), topological order, last-use analysis, and the graph partitioner.
// Split as upstream's passes run: scheduler_nodes.ts (nodes, dependencies), scheduler_fusion.ts
// (fusion, order, last uses), this file (the pass order and graph partitioning).
import { config } from "../config.ts";
import { type CustomOpDef, getCustomOp } from "../fx/custom_ops.ts";
import type { IRBuffer, LoweredGraph } from "./ir.ts";
import { FusionScheduler } from "./scheduler_fusion.ts";
import {
  customShouldPartitionFns,
  isMutation,
  type Partition,
  type PartitionSignature,
  type SchedulerNode,
  type SchedulerOptions,
} from "./scheduler_nodes.ts";

export {
  customShouldPartitionFns,
  isMutation,
  type KernelKind,
  kindOf,
  type Partition,
  type PartitionSignature,
  registerShouldPartitionRule,
  sanitize,
  type SchedulerNode,
  type SchedulerOptions,
} from "./scheduler_nodes.ts";

export class Scheduler extends FusionScheduler {
  constructor(graph: LoweredGraph, options: SchedulerOptions) {
    super(graph, options);
    this.createNodes();
    this.computeDeps();
    this.deadNodeElimination();
    if (options.mode === "fused" && config.bool("inductor.fusion")) this.fuseNodes();
    this.topologicalSort();
    this.computeLastUsage();
    this.nameKernels();
  }

  // ---- partitions -------------------------------------------------------------------------

  /** upstream should_partition (2.9.0, returning a reason): null when the node can be recorded
   * into a replayed partition. The per-op rule step is the 2.9.0 one (origin-node based);
   * patch B swaps in a name-based rule (vllm#26678). */
  shouldPartition(node: SchedulerNode): string | null {
    return shouldPartitionWith(node, originNodeRule);
  }

  /** upstream graph_partition: split where shouldPartition's answer flips. */
  graphPartition(): Partition[] {
    const parts: Partition[] = [];
    for (const n of this.nodes) {
      const reason = config.bool("inductor.graphPartition") || !config.bool("inductor.replay")
        ? this.shouldPartition(n)
        : null;
      const skip = reason !== null;
      const last = parts[parts.length - 1];
      if (last && last.skip === skip) last.nodes.push(n);
      else parts.push({ nodes: [n], skip, reason });
    }
    return parts;
  }

  /** Buffers a partition produces. */
  producedBy(p: Partition): Set<string> {
    const out = new Set<string>();
    for (const n of p.nodes) {
      // in-place writes produce nothing new: the written buffer comes from elsewhere
      for (const m of n.members) if (m.layout !== "none" && !isMutation(m)) out.add(m.name);
    }
    return out;
  }

  /** Names a partition reads or writes (through its nodes' deps and members). */
  touchedBy(p: Partition): Set<string> {
    const out = new Set<string>();
    for (const n of p.nodes) {
      for (const d of n.reads) out.add(d.name);
      for (const m of n.members) {
        out.add(m.name);
        if (m.def.kind === "fallback") { for (const t of m.def.mutated) out.add(t); }
      }
    }
    return out;
  }

  /** upstream get_graph_partition_signature, as ported from 2.9.0 (walks partitions in
   * reverse). The 2.9.0 version misses buffers freed in a partition that it never reads or
   * writes directly (an alias's storage); patch C (pytorch#165815) adds them. */
  getGraphPartitionSignature(partitions: Partition[]): PartitionSignature[] {
    return this.partitionSignatures(partitions, false);
  }

  partitionSignatures(partitions: Partition[], includeFreed: boolean): PartitionSignature[] {
    const sigs: PartitionSignature[] = [];
    let unmet = new Set<string>([...this.outputs].map((o) => this.realName(o)));
    const inputs = new Set(this.graph.inputs);
    for (let i = partitions.length - 1; i >= 0; i--) {
      const p = partitions[i];
      const produced = new Set([...this.producedBy(p)].map(this.realName));
      const returned = [...produced].filter((n) => unmet.has(n));
      const freed = new Set<string>();
      for (const n of p.nodes) for (const u of n.lastUsage) freed.add(u);
      const ins = new Set<string>();
      for (const name of this.touchedBy(p)) {
        const b = this.byName.get(name)!;
        // NoneLayout buffers are skipped unless a mutation resolves them to a real buffer
        const real = this.realName(name);
        if (b.layout === "none" && real === name) continue;
        if (!produced.has(real)) ins.add(real);
      }
      if (includeFreed) {
        for (const f of freed) {
          if (!produced.has(f) && (this.byName.has(f) || inputs.has(f))) ins.add(f);
        }
      }
      const dealloc = new Map([...ins].map((n) => [n, freed.has(n)] as const));
      // inputs that stay alive are returned too: a replayed partition keeps static addresses
      const outs = [...returned];
      for (const n of ins) if (!freed.has(n) && !outs.includes(n) && !p.skip) outs.push(n);
      sigs.push({
        inputs: [...ins],
        outputs: outs,
        inputDeallocation: dealloc,
        skipReplay: p.skip,
        constants: [],
      });
      unmet = new Set([...ins, ...[...unmet].filter((n) => !returned.includes(n))]);
    }
    return sigs.reverse();
  }

  /** Every kernel and why each boundary exists. */
  explain(): string {
    return this.nodes.map((n) =>
      `${n.name} [${n.kind}] ${n.members.map((m) => m.name).join(", ")} — ${n.reason}`
    ).join("\n");
  }
}

/** Stock methods, for tests that check a skipped patch left them untouched. */
export const STOCK_SCHEDULER = {
  shouldPartition: Scheduler.prototype.shouldPartition,
  getGraphPartitionSignature: Scheduler.prototype.getGraphPartitionSignature,
};

/** The per-op rule step of shouldPartition: a reason or null. */
export type PartitionRule = (b: IRBuffer, op: CustomOpDef) => string | null;

/** 2.9.0: a registered rule is called with the op's fx node, which must exist (pytorch#163310).
 * A custom op that only mutates its argument has none, hence the AssertionError of vllm#26678. */
export const originNodeRule: PartitionRule = (b, op) => {
  const rule = customShouldPartitionFns.get(op.name);
  if (!rule) return null;
  if (b.originNode === null) {
    throw new AssertionFailure(
      `assert ir_node.get_origin_node() is not None: custom op ${op.name} (${b.name}) has no ` +
        `origin node`,
    );
  }
  return rule(b.originNode) ? `custom partition rule for ${op.name}` : null;
};

/** The port's shouldPartition order (upstream 2.9.0): replay off, fused node (any member),
 * non-GPU op, device copy, (data-dependent shapes: none in our op set), replay-unsafe tag, and
 * last the per-op rule. */
export function shouldPartitionWith(node: SchedulerNode, rule: PartitionRule): string | null {
  if (!config.bool("inductor.replay")) return "replay is off: everything runs in call";
  for (const b of node.members) {
    if (b.def.kind !== "fallback") continue;
    const op = getCustomOp(b.def.op);
    if (!op) continue;
    if (!op.wgsl && op.aliasOf === undefined) {
      return `custom op ${op.name} runs on the host (a non-GPU op)`;
    }
    if (op.hostReadback) return `custom op ${op.name} copies device data to the host`;
    if (op.replayUnsafe) return `custom op ${op.name} is tagged replay-unsafe`;
    const r = rule(b, op);
    if (r) return r;
  }
  return null;
}

/** Python's AssertionError, as the 2.9.0 port raises it (patch B's upstream failure). */
export class AssertionFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}
