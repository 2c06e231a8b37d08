// DOM-free views of a CompiledGraph for the demo page: the program flattened into executed
// steps (kernels and host custom ops, partitions inlined), the producer→consumer edges between
// them, and the memory plan as storages over steps (each storage with the buffers that occupy
// it in turn, after memoryPlanReuse). The program is read structurally and defensively: lines
// of kinds this module does not know are skipped and reported in `warnings`, so the demo keeps
// drawing while the compiler grows.
import type { CompiledGraph } from "../src/mod.ts";

export interface Step {
  /** Position among the executed steps (memory lines are not steps). */
  index: number;
  kind: "kernel" | "host";
  name: string;
  /** Scheduler node kind (pointwise, reduction, matmul, fallback, …). */
  nodeKind: string;
  /** IR buffers the step computes. */
  members: string[];
  /** Why a kernel boundary precedes this step. */
  reason: string;
  /** Replayable partition it runs in, or null when it runs in `call`. */
  partition: number | null;
  reads: string[];
  writes: string[];
  wgsl?: string;
  workgroups?: number[];
  bindings?: { storage: string; dtype: string; access: string }[];
}

export interface Edge {
  /** Node ids: `in:<buffer>`, `step:<index>`, `out:<buffer>`. */
  from: string;
  to: string;
  buffers: string[];
}

/** One buffer's stay in a storage, from the step that first needs it to the last. */
export interface Tenant {
  buffer: string;
  first: number;
  last: number;
  role: "input" | "intermediate" | "output";
}

/** A device storage: a graph input, or one allocation that the plan may hand to later buffers. */
export interface Storage {
  name: string;
  dtype: string;
  shape: number[];
  bytes: number;
  role: "input" | "intermediate" | "output";
  tenants: Tenant[];
  first: number;
  last: number;
}

export interface Analysis {
  steps: Step[];
  edges: Edge[];
  storages: Storage[];
  inputs: string[];
  outputs: string[];
  partitions: number;
  /** Bytes of every non-input storage (what the planned program allocates). */
  allocatedBytes: number;
  /** Bytes the same buffers would take without reuse. */
  unplannedBytes: number;
  inputBytes: number;
  /** Most non-input storage bytes alive at one step, and per step. */
  peakLiveBytes: number;
  liveBytes: number[];
  warnings: string[];
}

interface LBuf {
  name: string;
  shape: number[];
  dtype: string;
  layout: string;
  target?: string | null;
  def: { kind: string; op?: string; args?: unknown[]; mutated?: string[] };
}
interface LLine {
  op: string;
  buf?: string | LBuf;
  prev?: string;
  next?: string;
  reused?: boolean;
  index?: number;
  spec?: {
    name: string;
    wgsl: string;
    bindings: { storage: string; dtype: string; access: string }[];
    workgroups: number[];
  };
  node?: { name: string; kind: string; members: { name: string }[]; reason: string };
}
interface LWrapper {
  lines: LLine[];
  returns?: () => string[];
}
interface LProgram {
  main?: LWrapper;
  partitions?: Map<number, LWrapper>;
}
interface LScheduler {
  byName?: Map<string, LBuf>;
  realName?: (n: string) => string;
}

const bytesOf = (dtype: string, shape: number[]) =>
  shape.reduce((a, b) => a * b, 1) * (dtype === "f16" ? 2 : 4);

function bufArg(a: unknown): string | null {
  return a && typeof a === "object" && "buf" in a && typeof (a as { buf: unknown }).buf === "string"
    ? (a as { buf: string }).buf
    : null;
}

export function analyze(compiled: CompiledGraph): Analysis {
  const warnings: string[] = [];
  const program = compiled.program as unknown as LProgram;
  const sched = (compiled as unknown as { scheduler?: LScheduler }).scheduler ?? {};
  const realName = (n: string) => {
    try {
      return sched.realName?.(n) ?? n;
    } catch {
      return n;
    }
  };
  const bufInfo = (n: string) => sched.byName?.get(n);
  // the kernels as they run: after prepare() those chosen for the adapter (the program keeps
  // the compile-time ones)
  const running = new Map<string, NonNullable<LLine["spec"]>>();
  try {
    for (const k of compiled.kernelSpecs?.() ?? []) running.set(k.name, k);
  } catch (e) {
    warnings.push(`kernels as prepared unknown: ${(e as Error).message}`);
  }
  const inputs = compiled.inputSpecs.map((s) => s.name);
  let outputs: string[] = [];
  try {
    outputs = [...new Set(program.main?.returns?.() ?? [])];
  } catch (e) {
    warnings.push(`outputs unknown: ${(e as Error).message}`);
  }

  const steps: Step[] = [];
  // memory events, by position (= index of the next step)
  const storages = new Map<string, Storage>();
  const tenantOf = new Map<string, { st: Storage; t: Tenant }>();
  const lastUse = new Map<string, number>();
  const touch = (n: string, at: number) => lastUse.set(n, Math.max(lastUse.get(n) ?? -1, at));
  const aliases = new Map<string, string>();
  const role = (n: string): Tenant["role"] =>
    inputs.includes(n) ? "input" : outputs.includes(n) ? "output" : "intermediate";
  const newStorage = (n: string) => {
    const b = bufInfo(n);
    const shape = b ? [...b.shape] : [];
    const dtype = b?.dtype ?? "f32";
    const t: Tenant = { buffer: n, first: steps.length, last: -1, role: role(n) };
    const st: Storage = {
      name: n,
      dtype,
      shape,
      bytes: bytesOf(dtype, shape),
      role: t.role,
      tenants: [t],
      first: t.first,
      last: -1,
    };
    storages.set(n, st);
    tenantOf.set(n, { st, t });
  };
  for (const i of inputs) {
    newStorage(i);
    tenantOf.get(i)!.t.first = 0;
  }

  const walk = (w: LWrapper | undefined, partition: number | null, depth: number) => {
    if (!w || !Array.isArray(w.lines)) {
      warnings.push(
        `wrapper${partition === null ? "" : ` of partition ${partition}`} has no lines`,
      );
      return;
    }
    for (const l of w.lines) {
      switch (l.op) {
        case "kernel": {
          const s = running.get(l.spec!.name) ?? l.spec!;
          const st: Step = {
            index: steps.length,
            kind: "kernel",
            name: s.name,
            nodeKind: l.node?.kind ?? "kernel",
            members: (l.node?.members ?? []).map((m) => m.name),
            reason: l.node?.reason ?? "",
            partition,
            reads: [
              ...new Set(s.bindings.filter((b) => b.access === "read").map((b) => b.storage)),
            ],
            writes: [
              ...new Set(s.bindings.filter((b) => b.access !== "read").map((b) => b.storage)),
            ],
            wgsl: s.wgsl,
            workgroups: [...s.workgroups],
            bindings: s.bindings.map((b) => ({
              storage: b.storage,
              dtype: b.dtype,
              access: b.access,
            })),
          };
          steps.push(st);
          break;
        }
        case "custom": {
          const b = l.buf as LBuf | undefined;
          if (!b || typeof b !== "object") break;
          if (b.layout === "alias") {
            if (b.target) aliases.set(b.name, b.target);
            break;
          }
          const reads: string[] = [];
          const writes: string[] = [];
          if (b.def.kind === "fallback") {
            for (const a of b.def.args ?? []) {
              const n = bufArg(a);
              if (n) reads.push(realName(n));
            }
            for (const m of b.def.mutated ?? []) writes.push(realName(m));
          }
          if (b.layout === "fixed") writes.push(b.name);
          steps.push({
            index: steps.length,
            kind: "host",
            name: b.def.op ?? l.node?.name ?? b.name,
            nodeKind: l.node?.kind ?? "fallback",
            members: (l.node?.members ?? []).map((m) => m.name),
            reason: l.node?.reason ?? "",
            partition,
            reads: [...new Set(reads)],
            writes: [...new Set(writes)],
          });
          break;
        }
        case "partition":
          if (depth > 4) warnings.push("partitions nested too deeply");
          else walk(program.partitions?.get(l.index ?? -1), l.index ?? null, depth + 1);
          break;
        case "alloc":
          if (typeof l.buf === "string" && !storages.has(l.buf)) newStorage(l.buf);
          break;
        case "reuse": {
          const prev = l.prev && tenantOf.get(l.prev);
          if (!prev || !l.next) {
            warnings.push(`reuse line without a known storage: ${l.prev} -> ${l.next}`);
            if (l.next && !tenantOf.has(l.next)) newStorage(l.next);
            break;
          }
          if (prev.t.last < 0) prev.t.last = steps.length - 1;
          const t: Tenant = { buffer: l.next, first: steps.length, last: -1, role: role(l.next) };
          prev.st.tenants.push(t);
          if (t.role === "output") prev.st.role = "output";
          tenantOf.set(l.next, { st: prev.st, t });
          break;
        }
        case "free": {
          const e = typeof l.buf === "string" ? tenantOf.get(l.buf) : undefined;
          if (e && e.t.role !== "input" && e.t.last < 0) {
            e.t.last = Math.max(steps.length - 1, e.t.first);
          }
          break;
        }
        case "null":
        case "enter":
        case "exit":
          break;
        default:
          warnings.push(`program line '${l.op}' not drawn`);
      }
    }
  };
  if (!program.main) warnings.push("compiled.program has no main wrapper: nothing to draw");
  walk(program.main, null, 0);
  const resolveAlias = (n: string) => {
    let x = n;
    for (let i = 0; i < 16 && aliases.has(x); i++) x = aliases.get(x)!;
    return x;
  };

  // Edges follow buffer names: a read comes from the latest earlier writer, or a graph input.
  const edgeMap = new Map<string, Edge>();
  const addEdge = (from: string, to: string, buffer: string) => {
    const key = `${from}->${to}`;
    const e = edgeMap.get(key) ?? { from, to, buffers: [] };
    if (!e.buffers.includes(buffer)) e.buffers.push(buffer);
    edgeMap.set(key, e);
  };
  const lastWriter = new Map<string, string>();
  const source = (n: string) => lastWriter.get(n) ?? (inputs.includes(n) ? `in:${n}` : null);
  for (const s of steps) {
    s.reads = s.reads.map(resolveAlias);
    s.writes = s.writes.map(resolveAlias);
    // a read_write binding of a buffer written before is an in-place update: it reads it too
    for (const r of [...s.reads, ...s.writes]) {
      const w = source(r);
      if (w && w !== `step:${s.index}`) addEdge(w, `step:${s.index}`, r);
      touch(r, s.index);
    }
    for (const w of s.writes) lastWriter.set(w, `step:${s.index}`);
  }
  for (const o of outputs) {
    const w = source(resolveAlias(o));
    if (w) addEdge(w, `out:${o}`, o);
  }

  // Close tenancies: outputs live to the end; others to their free line or last use.
  const end = Math.max(steps.length - 1, 0);
  for (const st of storages.values()) {
    for (const t of st.tenants) {
      if (t.role === "output" || outputs.includes(t.buffer)) t.last = end;
      else if (t.role === "input") t.last = Math.max(lastUse.get(t.buffer) ?? 0, 0);
      else if (t.last < 0) t.last = Math.max(lastUse.get(t.buffer) ?? t.first, t.first);
      t.first = Math.min(t.first, end);
      t.last = Math.max(t.last, t.first);
    }
    st.first = Math.min(...st.tenants.map((t) => t.first));
    st.last = Math.max(...st.tenants.map((t) => t.last));
  }
  const list = [...storages.values()];
  const nonInput = list.filter((s) => s.role !== "input");
  const liveBytes = steps.map((s) =>
    nonInput.filter((st) => st.first <= s.index && s.index <= st.last).reduce(
      (a, st) => a + st.bytes,
      0,
    )
  );
  return {
    steps,
    edges: [...edgeMap.values()],
    storages: list,
    inputs,
    outputs,
    partitions: program.partitions?.size ?? 0,
    allocatedBytes: nonInput.reduce((a, s) => a + s.bytes, 0),
    unplannedBytes: nonInput.reduce((a, s) => a + s.tenants.length * s.bytes, 0),
    inputBytes: list.filter((s) => s.role === "input").reduce((a, s) => a + s.bytes, 0),
    peakLiveBytes: Math.max(0, ...liveBytes),
    liveBytes,
    warnings,
  };
}

/** Numerical comparison of one output with the reference. */
export interface ErrorStats {
  maxAbs: number;
  maxRel: number;
  /** Elements that are NaN where the reference is not (a poisoned element never written). */
  nan: number;
  /** Elements outside atol + rtol·|expected|. */
  bad: number;
  n: number;
}

export function compareArrays(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol = 1e-4,
  rtol = 1e-3,
): ErrorStats {
  const n = Math.min(actual.length, expected.length);
  let maxAbs = 0, maxRel = 0, nan = 0, bad = actual.length === expected.length ? 0 : 1;
  for (let i = 0; i < n; i++) {
    const a = Number(actual[i]), e = Number(expected[i]);
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue; // equal infinities
    if (Number.isNaN(a) || Number.isNaN(e)) {
      nan++;
      bad++;
      continue;
    }
    const d = Math.abs(a - e);
    if (!(d <= atol + rtol * Math.abs(e))) bad++;
    maxAbs = Math.max(maxAbs, d);
    maxRel = Math.max(maxRel, d / Math.max(Math.abs(e), 1e-6));
  }
  return { maxAbs, maxRel, nan, bad, n };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

export function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
