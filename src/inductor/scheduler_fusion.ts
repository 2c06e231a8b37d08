// Fusion (upstream torch/_inductor/scheduler.py: Scheduler.fuse_nodes, can_fuse,
// will_fusion_create_cycle, score_fusion, topological_sort_schedule, compute_last_usage):
// vertical and horizontal fusion rounds, scored and cycle-checked, then kernel order, last uses
// and kernel names.
import { config } from "../config.ts";
import { gpuBytes, numel } from "../dtype.ts";
import { CompileError } from "../errors.ts";
import type { IRBuffer, MatmulDef } from "./ir.ts";
import type { KernelSpec } from "../runtime/kernel_spec.ts";
import { MAX_EXPR_DEPTH } from "./value_expr.ts";
import { bodyDepth, sanitize, type SchedulerNode, SchedulerNodes } from "./scheduler_nodes.ts";

/** The fusion passes over SchedulerNodes; Scheduler (scheduler.ts) adds partitioning. */
export class FusionScheduler extends SchedulerNodes {
  #ancestorMemo = new Map<SchedulerNode, Set<SchedulerNode>>();

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
    return this.trialFusion([...a.members, ...b.members]);
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
    for (const m of b.members) this.nodeOf.set(m.name, a);
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
    return this.kernelBackend().generateKernel(this.groupInput(n.name, n.members));
  }
}
