// WrapperCodegen (upstream torch/_inductor/codegen/wrapper.py): the printable program. The main
// wrapper (`call`) runs replay-unsafe partitions inline and calls each replayable partition,
// which gets a SubgraphWrapperCodegen of its own with the partition's signature. Memory lines
// (Allocate, FreeIfNotReused, Reuse) are planned by memoryPlanReuse.
import { customKernelSpec } from "./wgsl/custom.ts";
import type { KernelSpec } from "./wgsl/kernel_spec.ts";
import { getCustomOp } from "../fx/custom_ops.ts";
import { config } from "../config.ts";
import { gpuBytes, numel, shapeStr } from "../dtype.ts";
import type { IRBuffer } from "../inductor/ir.ts";
import type {
  Partition,
  PartitionSignature,
  Scheduler,
  SchedulerNode,
} from "../inductor/scheduler.ts";

export type ProgramLine =
  /** AllocateLine */
  | { op: "alloc"; buf: string }
  /** FreeIfNotReusedLine; `reused` once the planner hands the storage to a later allocation.
   * `pool: false` for names whose storage is not ours to reuse (inputs, aliases). */
  | { op: "free"; buf: string; reused: boolean; pool: boolean }
  /** ReuseLine: `next` takes `prev`'s storage. */
  | { op: "reuse"; prev: string; next: string }
  /** NullLine: a planning line that turned out to do nothing. */
  | { op: "null"; was: string }
  | { op: "kernel"; node: SchedulerNode; spec: KernelSpec }
  /** A custom op: a host step, or (view-like ops) an alias binding. */
  | { op: "custom"; node: SchedulerNode; buf: IRBuffer }
  | { op: "enter" }
  | { op: "exit" }
  /** A call of a replayable partition from `call`. */
  | { op: "partition"; index: number; sig: PartitionSignature };

export function isMemoryLine(l: ProgramLine): boolean {
  return l.op === "alloc" || l.op === "free" || l.op === "reuse";
}

function lineBuf(l: ProgramLine): string | null {
  switch (l.op) {
    case "alloc":
    case "free":
      return l.buf;
    case "reuse":
      return l.next;
    default:
      return null;
  }
}

/** upstream MemoryPlanningState: free lines pooled by reuse key. */
class PlanningState {
  readonly pools = new Map<string, Extract<ProgramLine, { op: "free" }>[]>();
  pop(key: string) {
    return this.pools.get(key)?.pop();
  }
  push(key: string, line: Extract<ProgramLine, { op: "free" }>) {
    let p = this.pools.get(key);
    if (!p) this.pools.set(key, p = []);
    p.push(line);
  }
}

export class WrapperCodegen {
  lines: ProgramLine[] = [];
  /** Names allocated (or received) in this wrapper. */
  readonly allocated = new Set<string>();
  constructor(
    readonly name: string,
    readonly sched: Scheduler,
    /** For a partition's wrapper: its signature (upstream SubgraphPythonWrapperCodegen). */
    readonly signature: PartitionSignature | null = null,
  ) {
    if (signature) { for (const i of signature.inputs) this.allocated.add(i); }
    else for (const i of sched.graph.inputs) this.allocated.add(i);
  }

  /** upstream V.graph.get_output_names(): the names the whole graph returns. */
  graphOutputNames(): Set<string> {
    return new Set([...this.sched.outputs].map((o) => this.sched.realName(o)));
  }

  /** Byte size and reuse key of a buffer: (dtype-size bucket, byte size, alignment). */
  reuseKey(name: string): string {
    const b = this.sched.byName.get(name)!;
    return `${gpuBytes(b.dtype)}:${numel(b.shape) * gpuBytes(b.dtype)}:${ALIGN}`;
  }

  /** Emit a node: allocations of what it stores, the launch, then frees of its last uses. */
  codegenNode(n: SchedulerNode): void {
    const s = this.sched;
    const stores = s.storesFor(n.members);
    for (const m of n.members) {
      const real = s.realName(m.name);
      if (m.layout !== "fixed" || real !== m.name) continue;
      if (!stores.has(m.name) && m.def.kind !== "nop" && m.def.kind !== "fallback") continue;
      if (this.allocated.has(m.name)) continue;
      this.allocated.add(m.name);
      this.lines.push({ op: "alloc", buf: m.name });
    }
    if (n.kind === "fallback") {
      const buf = n.members[0];
      const op = buf.def.kind === "fallback" ? getCustomOp(buf.def.op) : null;
      if (op?.wgsl && buf.layout !== "alias") {
        const spec = customKernelSpec(n.name, buf, (x) => s.byName.get(x)!, s.realName);
        this.lines.push({ op: "kernel", node: n, spec });
      } else this.lines.push({ op: "custom", node: n, buf });
    } else if (n.kind !== "nop") this.lines.push({ op: "kernel", node: n, spec: s.kernelFor(n) });
    for (const name of [...n.lastUsage].sort()) {
      const b = s.byName.get(name);
      // graph inputs and a partition's inputs belong to the caller: never pooled for reuse
      const input = s.graph.inputs.includes(name) ||
        (this.signature?.inputs.includes(name) ?? false);
      const pool = !!b && b.layout === "fixed" && !input;
      this.lines.push({ op: "free", buf: name, reused: false, pool });
    }
  }

  /** upstream memory_plan_reuse (2.9.0): drop trailing planning lines that do not concern the
   * outputs, then plan reuse in one forward pass with a stack of planning states. In 2.9.0 the
   * outputs are the whole graph's even in a partition's wrapper (patch A, pytorch#165514). */
  memoryPlanReuse(): void {
    const outputs = this.graphOutputNames();
    this.trimAndPlan(outputs);
  }

  trimAndPlan(outputs: Set<string>): void {
    while (this.lines.length) {
      const last = this.lines[this.lines.length - 1];
      const buf = lineBuf(last);
      if (!isMemoryLine(last) || buf === null || outputs.has(buf)) break;
      this.lines.pop();
    }
    // with memory planning (upstream memory_plan) the runtime packs every allocation into
    // arenas by lifetime, which subsumes same-size reuse
    if (!config.bool("inductor.allowBufferReuse") || config.bool("inductor.memoryPlanning")) return;
    const states = [new PlanningState()];
    this.lines = this.lines.map((l) => {
      const st = states[states.length - 1];
      switch (l.op) {
        case "enter":
          states.push(new PlanningState());
          return l;
        case "exit":
          states.pop();
          return l;
        case "free":
          if (l.pool) st.push(this.reuseKey(l.buf), l);
          return l;
        case "alloc": {
          const prev = st.pop(this.reuseKey(l.buf));
          if (!prev) return l;
          prev.reused = true;
          return { op: "reuse", prev: prev.buf, next: l.buf };
        }
        default:
          return l;
      }
    });
  }

  /** The names this wrapper returns. */
  returns(): string[] {
    return this.signature
      ? this.signature.outputs
      : [...this.sched.outputs].map(this.sched.realName);
  }

  print(): string {
    const args = this.signature ? this.signature.inputs : this.sched.graph.inputs;
    const out = [`def ${this.name}(${args.join(", ")}):`];
    for (const l of this.lines) out.push(`    ${printLine(l, this.sched)}`);
    out.push(`    return (${this.returns().join(", ")})`);
    return out.join("\n");
  }
}

/** Byte alignment of reuse keys (every storage binding offset is a multiple of this). */
export const ALIGN = 256;

export function printLine(l: ProgramLine, s: Scheduler): string {
  switch (l.op) {
    case "alloc": {
      const b = s.byName.get(l.buf)!;
      return `${l.buf} = empty(${shapeStr(b.shape)}, ${b.dtype})`;
    }
    case "free":
      return l.reused ? `# ${l.buf} reused` : `del ${l.buf}`;
    case "reuse":
      return `${l.next} = ${l.prev}; del ${l.prev}  # reuse`;
    case "null":
      return `# (removed ${l.was})`;
    case "kernel": {
      const args = l.spec.bindings.map((b) => (b.access === "read" ? b.storage : `${b.storage}!`));
      return `${l.spec.name}(${args.join(", ")})  # grid ${shapeStr(l.spec.workgroups)}`;
    }
    case "custom": {
      const d = l.buf.def;
      if (d.kind !== "fallback") return `# ${l.buf.name}`;
      const args = d.args.map((a) =>
        a && typeof a === "object" && "buf" in a ? (a as { buf: string }).buf : JSON.stringify(a)
      );
      const lhs = l.buf.layout === "none" ? "" : `${l.buf.name} = `;
      return `${lhs}${d.op}(${args.join(", ")})`;
    }
    case "enter":
      return "# enter subgraph";
    case "exit":
      return "# exit subgraph";
    case "partition": {
      const del = l.sig.inputs.filter((i) => l.sig.inputDeallocation.get(i));
      const outs = l.sig.outputs.join(", ");
      return `(${outs}${l.sig.outputs.length === 1 ? "," : ""}) = partition_${l.index}(${
        l.sig.inputs.join(", ")
      })${del.length ? `; del ${del.join(", ")}` : ""}`;
    }
  }
}

export interface Program {
  main: WrapperCodegen;
  /** Replayable partitions' wrappers, by partition index. */
  partitions: Map<number, WrapperCodegen>;
  partitionList: Partition[];
  signatures: PartitionSignature[];
}

/** upstream _codegen_partitions: skip partitions inline in call, replayable ones in their own
 * wrappers called from call. Without partitioning everything is one `call`. */
export function codegenProgram(sched: Scheduler): Program {
  const main = new WrapperCodegen("call", sched);
  const partitionList = sched.graphPartition();
  // graph_partition off: no partition functions; replay off: shouldPartition says yes to every
  // node, so everything runs in call
  const usePartitions = config.bool("inductor.graphPartition") &&
    partitionList.some((p) => !p.skip);
  const signatures = usePartitions ? sched.getGraphPartitionSignature(partitionList) : [];
  const partitions = new Map<number, WrapperCodegen>();
  if (!usePartitions) {
    for (const n of sched.nodes) main.codegenNode(n);
  } else {
    partitionList.forEach((p, i) => {
      const sig = signatures[i];
      if (p.skip) {
        for (const n of p.nodes) main.codegenNode(n);
        return;
      }
      const w = new WrapperCodegen(`partition_${i}`, sched, sig);
      for (const n of p.nodes) w.codegenNode(n);
      // names that became kernel-internal never leave the partition
      partitions.set(i, w);
      main.lines.push({ op: "partition", index: i, sig });
      for (const o of sig.outputs) main.allocated.add(o);
    });
  }
  for (const w of partitions.values()) w.memoryPlanReuse();
  main.memoryPlanReuse();
  return { main, partitions, partitionList, signatures };
}

/** The stock method, for tests that check a skipped patch left it untouched. */
export const STOCK_MEMORY_PLAN_REUSE = WrapperCodegen.prototype.memoryPlanReuse;

export function printProgram(p: Program): string {
  const parts = [...p.partitions.values()].map((w) => w.print());
  return [...parts, p.main.print()].join("\n\n");
}
