// Scheduler (upstream torch/_inductor/scheduler.py): scheduler nodes with read/write deps,
// mutation ordering, dead-node elimination, fusion rounds (vertical and horizontal, scored and
// cycle-checked), topological order, last-use analysis, and the graph partitioner.
import { config } from "../config.ts";
import { gpuBytes, numel } from "../dtype.ts";
import { CompileError } from "../errors.ts";
import { type CustomOpDef, getCustomOp } from "../fx/custom_ops.ts";
import { bufferReads, type Dep } from "./dependencies.ts";
import type { IRBuffer, LoweredGraph, MatmulDef } from "./ir.ts";
import { type KernelBackend, kernelBackend, type KernelGroup } from "./kernel_backend.ts";
import type { KernelSpec } from "../runtime/kernel_spec.ts";
import { exprDepth, MAX_EXPR_DEPTH } from "./value_expr.ts";

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

export class Scheduler {
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
  #nodeOf = new Map<string, SchedulerNode>();
  #ancestorMemo = new Map<SchedulerNode, Set<SchedulerNode>>();

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
    this.createNodes();
    this.computeDeps();
    this.deadNodeElimination();
    if (options.mode === "fused" && config.bool("inductor.fusion")) this.fuseNodes();
    this.topologicalSort();
    this.computeLastUsage();
    this.nameKernels();
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
        this.#trial([...last.members, b]) === null
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
    for (const n of this.nodes) for (const m of n.members) this.#nodeOf.set(m.name, n);
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
        const w = lastWriter.get(s) ?? this.#nodeOf.get(s);
        if (w && w !== n) n.deps.add(w);
        // a read through an alias (aten::view_dtype) also waits for the op that makes the
        // alias: the program binds the alias's name only after that op, and the writer of the
        // storage then cannot fuse with the reader (the path through the alias op is a cycle)
        for (let a = this.byName.get(d.name); a?.layout === "alias" && a.target;) {
          const p = this.#nodeOf.get(a.name);
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
  #backend(): KernelBackend {
    return this.options.backend ?? kernelBackend();
  }

  #trial(members: IRBuffer[]): string | null {
    let spec: KernelSpec;
    try {
      spec = this.#backend().generateKernel(this.groupInput("trial", members));
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

  #ancestors(
    n: SchedulerNode,
    memo = new Map<SchedulerNode, Set<SchedulerNode>>(),
  ): Set<SchedulerNode> {
    const hit = memo.get(n);
    if (hit) return hit;
    const out = new Set<SchedulerNode>();
    memo.set(n, out);
    for (const d of n.deps) {
      out.add(d);
      for (const a of this.#ancestors(d, memo)) out.add(a);
    }
    return out;
  }

  /** upstream will_fusion_create_cycle: a path a -> X -> b (or b -> X -> a) through another
   * node would put X both before and after the fused node. */
  willFusionCreateCycle(a: SchedulerNode, b: SchedulerNode): boolean {
    // ancestors are memoised across a fusion round and forgotten after each fusion
    const memo = this.#ancestorMemo;
    for (const [x, y] of [[a, b], [b, a]]) {
      for (const d of y.deps) {
        if (d === x) continue;
        if (this.#ancestors(d, memo).has(x)) return true;
      }
    }
    return false;
  }

  #bytes(name: string): number {
    const b = this.byName.get(name)!;
    return numel(b.shape) * gpuBytes(b.dtype);
  }

  /** upstream score_fusion: (same kind of loop, shared bytes, proximity). */
  scoreFusion(a: SchedulerNode, b: SchedulerNode): [number, number, number] {
    const aOut = new Set(a.members.map((m) => m.name));
    const aReads = new Set(a.reads.map((d) => d.name));
    let shared = 0;
    const seen = new Set<string>();
    for (const d of b.reads) {
      if (seen.has(d.name)) continue;
      seen.add(d.name);
      if (aOut.has(d.name) || aReads.has(d.name)) shared += this.#bytes(d.name);
    }
    const sameKind = a.kind === b.kind ? 1 : 0;
    return [sameKind + (shared > 0 ? 1 : 0), shared, -Math.abs(b.order - a.order)];
  }

  /** Why `a` and `b` cannot fuse, or null (upstream can_fuse + can_fuse_vertical). */
  canFuse(a: SchedulerNode, b: SchedulerNode): string | null {
    for (const n of [a, b]) {
      if (n.kind === "fallback") {
        return `custom op ${(n.members[0].def as { op: string }).op} runs as its own step`;
      }
      if (n.kind === "nop") return `${n.members[0].name} is an allocation only`;
      if (n.members.some((m) => m.target)) {
        return `${n.members[0].name} writes another buffer in place`;
      }
    }
    if (a.members.length + b.members.length > config.int("inductor.maxFusionSize")) {
      return `fusion would exceed inductor.maxFusionSize (${config.int("inductor.maxFusionSize")})`;
    }
    const vertical = b.deps.has(a) || a.deps.has(b);
    const mmA = a.members.filter((m) => m.def.kind === "matmul");
    const mmB = b.members.filter((m) => m.def.kind === "matmul");
    if (mmA.length && mmB.length) {
      const da = mmA[0].def as MatmulDef, db = mmB[0].def as MatmulDef;
      if (vertical) return "the second matmul reads the first one's output from memory";
      if (!config.bool("inductor.horizontalMatmul")) return "horizontal matmul fusion is off";
      if (da.a.key !== db.a.key || da.batch !== db.batch || da.m !== db.m || da.k !== db.k) {
        return "matmuls with different A operands are separate templates";
      }
    } else if (mmB.length) {
      return "matmul templates read their operands from memory (no prologue fusion across kernels)";
    } else if (mmA.length && b.members.some((m) => m.def.kind === "reduction")) {
      return "a reduction cannot join a matmul template's epilogue";
    } else if (mmA.length && !vertical) {
      return "only consumers of a matmul fuse into its epilogue";
    }
    if (!vertical) {
      const [, shared] = this.scoreFusion(a, b);
      if (shared === 0) return "no shared memory (horizontal fusion needs a common read)";
    }
    if (this.willFusionCreateCycle(a, b)) {
      return "fusion would create a cycle through another kernel";
    }
    // a bound on how deeply the fused kernel nests inlined ops (lowering.ts realizes past it)
    const depth = [...a.members, ...b.members].reduce((t, m) => t + bodyDepth(m), 0);
    if (depth > MAX_EXPR_DEPTH) {
      return `the fused kernel would nest up to ${depth} ops (more than ${MAX_EXPR_DEPTH})`;
    }
    return this.#trial([...a.members, ...b.members]);
  }

  /** upstream fuse_nodes: up to 10 rounds; candidates ranked by score, fused greedily. */
  fuseNodes(): void {
    for (let round = 0; round < 10; round++) {
      const candidates: [SchedulerNode, SchedulerNode, [number, number, number]][] = [];
      const pos = new Map(this.nodes.map((n, i) => [n, i]));
      for (const b of this.nodes) {
        for (const a of this.nodes) {
          if (a === b || pos.get(a)! >= pos.get(b)! || pos.get(b)! - pos.get(a)! > 64) continue;
          const s = this.scoreFusion(a, b);
          if (s[1] === 0 && !b.deps.has(a)) continue;
          candidates.push([a, b, s]);
        }
      }
      candidates.sort((x, y) => y[2][0] - x[2][0] || y[2][1] - x[2][1] || y[2][2] - x[2][2]);
      const gone = new Set<SchedulerNode>();
      let fused = 0;
      for (const [a, b] of candidates) {
        if (gone.has(a) || gone.has(b)) continue;
        const why = this.canFuse(a, b);
        if (why) {
          this.rejected.set(`${a.members[0].name}|${b.members[0].name}`, why);
          continue;
        }
        this.#fuse(a, b);
        this.#ancestorMemo.clear();
        gone.add(b);
        fused++;
      }
      if (fused === 0) break;
      this.topologicalSort();
    }
  }

  #fuse(a: SchedulerNode, b: SchedulerNode): void {
    a.members = [...a.members, ...b.members].sort((x, y) => this.#pos(x) - this.#pos(y));
    a.kind = a.members.some((m) => m.def.kind === "matmul")
      ? "matmul"
      : a.members.some((m) => m.def.kind === "reduction")
      ? "reduction"
      : "pointwise";
    const internal = new Set(a.members.map((m) => m.name));
    a.reads = [...a.reads, ...b.reads].filter((d) => !internal.has(d.name));
    for (const d of b.deps) if (d !== a) a.deps.add(d);
    a.deps.delete(b);
    a.order = Math.min(a.order, b.order);
    for (const m of b.members) this.#nodeOf.set(m.name, a);
    this.nodes = this.nodes.filter((n) => n !== b);
    for (const n of this.nodes) {
      if (n.deps.delete(b) && n !== a) n.deps.add(a);
    }
  }

  #pos(b: IRBuffer): number {
    return this.graph.buffers.indexOf(b);
  }

  /** Deterministic topological order: ready nodes by lowering position. */
  topologicalSort(): void {
    const remaining = new Set(this.nodes);
    const out: SchedulerNode[] = [];
    while (remaining.size) {
      let best: SchedulerNode | null = null;
      for (const n of remaining) {
        if ([...n.deps].some((d) => remaining.has(d))) continue;
        if (!best || n.order < best.order) best = n;
      }
      if (!best) throw new CompileError("scheduler: dependency cycle between kernels");
      out.push(best);
      remaining.delete(best);
    }
    this.nodes = out;
  }

  /** Buffers a node uses, following aliases to the storage they view (upstream
   * used_or_aliased_buffer_names), mapped to real (storage) names. */
  usedOrAliased(n: SchedulerNode): Set<string> {
    const names = new Set<string>();
    const add = (name: string) => {
      names.add(this.realName(name));
      const b = this.byName.get(name);
      if (b?.layout === "alias" && b.target) add(b.target);
    };
    for (const d of n.reads) add(d.name);
    for (const m of n.members) {
      if (m.layout !== "none") add(m.name);
      if (m.layout === "alias" && m.target) add(m.target);
    }
    return names;
  }

  /** Buffers that exist in memory: stored by their kernel, inputs, custom-op results and
   * allocations (fused-away intermediates are kernel-internal: upstream removed_buffers). */
  materialized(): Set<string> {
    const out = new Set<string>(this.graph.inputs);
    for (const n of this.nodes) {
      const stores = this.storesFor(n.members);
      for (const m of n.members) {
        if (m.layout === "none") continue;
        if (stores.has(m.name) || m.def.kind === "fallback" || m.def.kind === "nop") {
          out.add(this.realName(m.name));
        }
      }
    }
    return out;
  }

  /** upstream compute_last_usage: walk backwards from the graph outputs. */
  computeLastUsage(): void {
    const live = this.materialized();
    const future = new Set<string>();
    const keep = (name: string) => {
      future.add(this.realName(name));
      const b = this.byName.get(name)!;
      if (b.layout === "alias" && b.target) keep(b.target);
    };
    for (const o of this.outputs) keep(o);
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i];
      const used = [...this.usedOrAliased(n)].filter((u) => live.has(u));
      n.lastUsage = new Set(used.filter((u) => !future.has(u)));
      for (const u of n.lastUsage) future.add(u);
    }
  }

  nameKernels(): void {
    this.nodes.forEach((n, i) => {
      const origin = n.members.find((m) => m.origins.length)?.origins[0] ?? n.members[0].name;
      n.name = `k${i}_${sanitize(origin)}`;
      if (!n.reason) n.reason = this.#boundaryReason(n);
    });
  }

  #boundaryReason(n: SchedulerNode): string {
    if (n.kind === "fallback") return `custom op ${(n.members[0].def as { op: string }).op}`;
    if (n.kind === "nop") return "allocation only";
    const first = n.members[0].name;
    for (const d of n.deps) {
      const why = this.rejected.get(`${d.members[0].name}|${first}`) ??
        [...this.rejected.entries()].find(([k]) => {
          const [x, y] = k.split("|");
          return d.members.some((m) => m.name === x) && n.members.some((m) => m.name === y);
        })?.[1];
      if (why) return `not fused with ${d.name}: ${why}`;
    }
    return n.deps.size ? "no fusion candidate accepted" : "reads only graph inputs";
  }

  /** Kernel sources for every generated node, in order. */
  kernelFor(n: SchedulerNode): KernelSpec {
    return this.#backend().generateKernel(this.groupInput(n.name, n.members));
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

/** Nesting depth of a buffer's loop bodies (0 for buffers without one). */
function bodyDepth(b: IRBuffer): number {
  const d = b.def;
  if (d.kind === "pointwise" || d.kind === "reduction") return exprDepth(d.body);
  if (d.kind === "matmul") return exprDepth(d.a) + exprDepth(d.b) + exprDepth(d.epilogue);
  return 0;
}

/** An in-place write into another buffer (copy_, MutationOutput); aliases are not. */
export function isMutation(b: IRBuffer): boolean {
  return b.target !== null && b.layout !== "alias";
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
