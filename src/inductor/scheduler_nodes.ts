// Scheduler nodes and their dependencies (upstream torch/_inductor/scheduler.py: SchedulerNode,
// Scheduler.create_scheduler_node, compute_dependencies, dead_node_elimination): one node per
// kernel-to-be, its reads and writes, mutation ordering, and the kernel group a set of members
// forms (the scheduler asks codegen for trial kernels through inductor/kernel_backend.ts).
import { config } from "../config.ts";
import { CompileError } from "../errors.ts";
import { getCustomOp } from "../fx/custom_ops.ts";
import { bufferReads, type Dep } from "./dependencies.ts";
import type { IRBuffer, LoweredGraph } from "./ir.ts";
import { type KernelBackend, kernelBackend, type KernelGroup } from "./kernel_backend.ts";
import type { KernelSpec } from "../runtime/kernel_spec.ts";
import { exprDepth } from "./value_expr.ts";

export type KernelKind = "pointwise" | "reduction" | "matmul" | "fallback" | "nop";

export interface SchedulerNode {
  /** Kernel name once scheduled (k<i>_<origin>); "op<i>" before. */
  name: string;
  kind: KernelKind;
  /** IR buffers computed by this node, in order (a fallback also owns its MutationOutputs). */
  members: IRBuffer[];
  /** Position of the first member in lowering order (ties in topological sort). */
  order: number;
  /** Reads of buffers produced outside this node. */
  reads: Dep[];
  /** Nodes that must run before this one (data, mutation and weak deps). */
  deps: Set<SchedulerNode>;
  /** Buffers whose last use is this node (upstream compute_last_usage). */
  lastUsage: Set<string>;
  /** Why a kernel boundary separates this node from its producers (explain()). */
  reason: string;
}

export interface SchedulerOptions {
  /** eager: one kernel per fx op; fused: fusion rounds. */
  mode: "eager" | "fused";
  /** Most storage bindings a fused kernel may take (the adapter's
   * maxStorageBuffersPerShaderStage; 8 is WebGPU's guaranteed minimum). */
  bindingLimit?: number;
  /** The code generator asked for trial and final kernels (default: the one compile.ts
   * installs, src/inductor/kernel_backend.ts). */
  backend?: KernelBackend;
}

/** A run of scheduler nodes that share one answer from shouldPartition. */
export interface Partition {
  nodes: SchedulerNode[];
  /** Replay-unsafe: runs inline in `call`, not as a recorded partition (upstream skip_cudagraph). */
  skip: boolean;
  /** Why the partition is unsafe (the first node's reason), or null. */
  reason: string | null;
}

/** upstream GraphPartitionSignature. */
export interface PartitionSignature {
  inputs: string[];
  outputs: string[];
  /** Input name -> freed inside this partition. */
  inputDeallocation: Map<string, boolean>;
  skipReplay: boolean;
  constants: string[];
}

export function kindOf(b: IRBuffer): KernelKind | null {
  switch (b.def.kind) {
    case "pointwise":
    case "reduction":
    case "matmul":
    case "fallback":
      return b.def.kind;
    case "nop":
      // a MutationOutput (NoneLayout) belongs to the custom op that writes it
      return b.layout === "none" ? null : "nop";
    case "input":
      return null;
  }
}

export function sanitize(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, "_");
}

/** Registered per-op partition rules (upstream `_custom_should_partition_fns`, experimental in
 * 2.9.0, pytorch#163310). The 2.9.0 port consults them through the op's origin fx node. */
export const customShouldPartitionFns = new Map<string, (node: string) => boolean>();

export function registerShouldPartitionRule(
  op: string,
  rule: (node: string) => boolean = () => true,
) {
  customShouldPartitionFns.set(op.replace(/\.default$/, ""), rule);
}

/** Nesting depth of a buffer's loop bodies (0 for buffers without one). */
export function bodyDepth(b: IRBuffer): number {
  const d = b.def;
  if (d.kind === "pointwise" || d.kind === "reduction") return exprDepth(d.body);
  if (d.kind === "matmul") return exprDepth(d.a) + exprDepth(d.b) + exprDepth(d.epilogue);
  return 0;
}

/** An in-place write into another buffer (copy_, MutationOutput); aliases are not. */
export function isMutation(b: IRBuffer): boolean {
  return b.target !== null && b.layout !== "alias";
}

/** The scheduler's graph of nodes and dependencies; Scheduler (scheduler.ts) runs the passes. */
export class SchedulerNodes {
  nodes: SchedulerNode[] = [];
  readonly byName: Map<string, IRBuffer>;
  readonly outputs: Set<string>;
  /** buffer -> storage it lives in (aliases and MutationOutputs resolve to the real buffer). */
  readonly storage: (name: string) => string;
  /** buffer -> the name holding its value (upstream mutation_real_name: MutationOutputs and
   * in-place writes resolve to the mutated buffer; aliases keep their own name). */
  readonly realName: (name: string) => string;
  /** Rejected fusions: "n1|n2" -> reason (explain()). */
  readonly rejected = new Map<string, string>();
  readonly bindingLimit: number;
  protected readonly nodeOf = new Map<string, SchedulerNode>();

  constructor(readonly graph: LoweredGraph, readonly options: SchedulerOptions) {
    this.byName = new Map(graph.buffers.map((b) => [b.name, b]));
    this.outputs = new Set(graph.outputs);
    const resolve = (name: string): string => {
      const b = this.byName.get(name);
      if (!b) throw new CompileError(`unknown buffer '${name}'`);
      if ((b.layout === "alias" || b.layout === "none") && b.target) return resolve(b.target);
      if (b.def.kind === "pointwise" && b.target) return resolve(b.target);
      return name;
    };
    this.storage = resolve;
    const real = (name: string): string => {
      const b = this.byName.get(name);
      if (!b) throw new CompileError(`unknown buffer '${name}'`);
      if (b.layout === "none" && b.target) return real(b.target);
      if (b.def.kind === "pointwise" && b.target) return real(b.target);
      return name;
    };
    this.realName = real;
    this.bindingLimit = options.bindingLimit ?? 8;
  }

  // ---- nodes and dependencies -------------------------------------------------------------

  createNodes(): void {
    const eager = this.options.mode === "eager" || !config.bool("inductor.fusion");
    let order = 0;
    for (const b of this.graph.buffers) {
      order++;
      const kind = kindOf(b);
      const last = this.nodes[this.nodes.length - 1];
      if (!kind) {
        if (b.layout === "none" && last?.kind === "fallback") last.members.push(b);
        continue;
      }
      // eager: the buffers one fx op lowered to form one kernel when they share a frame
      // (softmax's max, sum and output)
      if (
        eager && last && (kind === "pointwise" || kind === "reduction") &&
        (last.kind === "pointwise" || last.kind === "reduction") &&
        last.members[0].origins[0] === b.origins[0] && b.origins[0] !== undefined &&
        !b.target && !last.members.some((m) => m.target) &&
        this.trialFusion([...last.members, b]) === null
      ) {
        last.members.push(b);
        if (kind === "reduction") last.kind = "reduction";
        continue;
      }
      this.nodes.push({
        name: `op${this.nodes.length}`,
        kind,
        members: [b],
        order,
        reads: [],
        deps: new Set(),
        lastUsage: new Set(),
        reason: eager
          ? (this.options.mode === "eager"
            ? "eager mode: one kernel per op"
            : "fusion is off (inductor.fusion=false)")
          : "",
      });
    }
    for (const n of this.nodes) for (const m of n.members) this.nodeOf.set(m.name, n);
  }

  /** Data deps through storages, in lowering order: a read depends on the last writer of the
   * storage; a write depends on the previous writer and (weakly) on every reader since. */
  computeDeps(): void {
    const lastWriter = new Map<string, SchedulerNode>();
    const readersSince = new Map<string, Set<SchedulerNode>>();
    for (const n of this.nodes) {
      const internal = new Set(n.members.map((m) => m.name));
      n.reads = n.members.flatMap(bufferReads).filter((d) => !internal.has(d.name));
      for (const d of n.reads) {
        const s = this.storage(d.name);
        const w = lastWriter.get(s) ?? this.nodeOf.get(s);
        if (w && w !== n) n.deps.add(w);
        // a read through an alias (aten::view_dtype) also waits for the op that makes the
        // alias: the program binds the alias's name only after that op, and the writer of the
        // storage then cannot fuse with the reader (the path through the alias op is a cycle)
        for (let a = this.byName.get(d.name); a?.layout === "alias" && a.target;) {
          const p = this.nodeOf.get(a.name);
          if (p && p !== n) n.deps.add(p);
          a = this.byName.get(a.target);
        }
        let set = readersSince.get(s);
        if (!set) readersSince.set(s, set = new Set());
        set.add(n);
      }
      for (const s of this.writesOf(n)) {
        const prev = lastWriter.get(s);
        if (prev && prev !== n) n.deps.add(prev);
        for (const r of readersSince.get(s) ?? []) if (r !== n) n.deps.add(r); // WeakDep
        readersSince.set(s, new Set());
        lastWriter.set(s, n);
      }
    }
  }

  /** Storages a node writes: its own buffers and the targets of its mutations. */
  writesOf(n: SchedulerNode): Set<string> {
    const out = new Set<string>();
    for (const m of n.members) {
      if (m.layout === "alias") continue;
      out.add(this.storage(m.name));
      if (m.def.kind === "fallback") { for (const t of m.def.mutated) out.add(this.storage(t)); }
    }
    return out;
  }

  #hasSideEffects(n: SchedulerNode): boolean {
    if (n.kind === "nop") return true; // allocation-only nodes are left to the wrapper's trim
    for (const m of n.members) {
      if (m.target && m.layout !== "alias") return true;
      if (m.def.kind === "fallback") {
        const op = getCustomOp(m.def.op);
        if (m.def.mutated.length || op?.replayUnsafe || op?.hostReadback) return true;
      }
    }
    return false;
  }

  /** upstream dead_node_elimination: drop nodes nothing reads (reverse walk, to a fixpoint). */
  deadNodeElimination(): void {
    let changed = true;
    while (changed) {
      changed = false;
      const used = new Set<string>(this.outputs);
      for (const n of this.nodes) for (const d of n.reads) used.add(d.name);
      for (let i = this.nodes.length - 1; i >= 0; i--) {
        const n = this.nodes[i];
        if (this.#hasSideEffects(n)) continue;
        if (n.members.some((m) => used.has(m.name) || used.has(this.storage(m.name)))) continue;
        this.nodes.splice(i, 1);
        for (const o of this.nodes) o.deps.delete(n);
        changed = true;
      }
    }
  }

  // ---- fusion -----------------------------------------------------------------------------

  /** Members of a candidate group that must be stored (read outside it, outputs, mutations). */
  storesFor(members: IRBuffer[]): Set<string> {
    const inGroup = new Set(members.map((m) => m.name));
    const stored = new Set<string>();
    for (const m of members) {
      // kernel values (a matmul too: read only by its own epilogue it stays in registers) are
      // stored only when something outside the kernel needs them
      const kernelValue = m.def.kind === "pointwise" || m.def.kind === "reduction" ||
        m.def.kind === "matmul";
      if (this.outputs.has(m.name) || m.target || !kernelValue) stored.add(m.name);
    }
    for (const n of this.nodes) {
      for (const d of n.reads) {
        if (inGroup.has(d.name) && !n.members.some((x) => inGroup.has(x.name))) stored.add(d.name);
      }
    }
    return stored;
  }

  groupInput(name: string, members: IRBuffer[]): KernelGroup {
    return {
      name,
      members,
      stores: this.storesFor(members),
      buffer: (n) => this.byName.get(n)!,
      storage: this.realName,
    };
  }

  /** Generate the candidate kernel; null when it is legal, else the reason it is not. */
  protected kernelBackend(): KernelBackend {
    return this.options.backend ?? kernelBackend();
  }

  protected trialFusion(members: IRBuffer[]): string | null {
    let spec: KernelSpec;
    try {
      spec = this.kernelBackend().generateKernel(this.groupInput("trial", members));
    } catch (e) {
      if (e instanceof CompileError) return e.message.replace(/^kernel trial: /, "");
      throw e;
    }
    if (spec.bindings.length > this.bindingLimit) {
      return `a fused kernel would bind ${spec.bindings.length} storage buffers, over the ` +
        `adapter's limit of ${this.bindingLimit}`;
    }
    return null;
  }
}
