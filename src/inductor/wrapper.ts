// WrapperCodegen: turns scheduler nodes into a printable program of lines and the runtime's
// ExecProgram (upstream torch/_inductor/codegen/wrapper.py). Which members a kernel stores,
// which storages exist, and the order of kernel and host steps are decided here.
import { genMatmul } from "../codegen/wgsl/matmul.ts";
import { genPointwise } from "../codegen/wgsl/pointwise.ts";
import { genReduction } from "../codegen/wgsl/reduction.ts";
import type { KernelSpec } from "../codegen/wgsl/kernel_spec.ts";
import { numel, shapeStr } from "../dtype.ts";
import { CompileError } from "../errors.ts";
import type { IRBuffer } from "./ir.ts";
import type { LoweredGraph } from "./lowering.ts";
import { readsOf, type SchedulerNode } from "./scheduler.ts";

export type ProgramLine =
  | { op: "alloc"; buf: string; dtype: string; shape: number[] }
  | { op: "kernel"; node: SchedulerNode; spec: KernelSpec }
  | { op: "custom"; node: SchedulerNode; buf: IRBuffer };

export interface Program {
  lines: ProgramLine[];
  inputs: string[];
  outputs: string[];
  /** IR buffer name -> storage it lives in. */
  storageOf: Map<string, string>;
  /** Storages to allocate (inputs included). */
  storages: IRBuffer[];
}

export function storageResolver(buffers: IRBuffer[]): (name: string) => string {
  const byName = new Map(buffers.map((b) => [b.name, b]));
  const resolve = (name: string): string => {
    const b = byName.get(name);
    if (!b) throw new CompileError(`unknown buffer '${name}'`);
    if ((b.layout === "alias" || b.layout === "none") && b.target) return resolve(b.target);
    return name;
  };
  return resolve;
}

/** Members that must be written to memory: read outside their kernel, graph outputs,
 * mutations, and everything that is not a fused pointwise/reduction value. */
export function storedMembers(g: LoweredGraph, nodes: SchedulerNode[]): Set<string> {
  const groupOf = new Map<string, SchedulerNode>();
  for (const n of nodes) for (const m of n.members) groupOf.set(m.name, n);
  const stored = new Set<string>(g.outputs);
  for (const n of nodes) {
    for (const m of n.members) {
      if (m.target || (m.def.kind !== "pointwise" && m.def.kind !== "reduction")) {
        stored.add(m.name);
      }
      for (const r of readsOf(m)) {
        if (groupOf.get(r) !== n) stored.add(r);
      }
    }
  }
  return stored;
}

export function buildProgram(g: LoweredGraph, nodes: SchedulerNode[]): Program {
  const byName = new Map(g.buffers.map((b) => [b.name, b]));
  const storage = storageResolver(g.buffers);
  const stored = storedMembers(g, nodes);
  const lines: ProgramLine[] = [];
  const storages: IRBuffer[] = g.inputs.map((n) => byName.get(n)!);
  const allocated = new Set(g.inputs);
  for (const node of nodes) {
    for (const m of node.members) {
      const s = storage(m.name);
      if (stored.has(m.name) && !allocated.has(s) && m.layout === "fixed") {
        allocated.add(s);
        storages.push(byName.get(s)!);
        lines.push({ op: "alloc", buf: s, dtype: m.dtype, shape: m.shape });
      }
    }
    const input = {
      name: node.name,
      members: node.members,
      stores: new Set(node.members.filter((m) => stored.has(m.name)).map((m) => m.name)),
      buffer: (n: string) => byName.get(n)!,
      storage,
    };
    switch (node.kind) {
      case "pointwise":
        lines.push({ op: "kernel", node, spec: genPointwise(input) });
        break;
      case "reduction":
        lines.push({ op: "kernel", node, spec: genReduction(input) });
        break;
      case "matmul":
        lines.push({ op: "kernel", node, spec: genMatmul(input) });
        break;
      case "fallback":
        lines.push({ op: "custom", node, buf: node.members[0] });
        break;
      case "nop":
        break;
    }
  }
  const storageOf = new Map(g.buffers.map((b) => [b.name, storage(b.name)]));
  return { lines, inputs: g.inputs, outputs: g.outputs.map(storage), storageOf, storages };
}

/** Printable form of a program, one line per step. */
export function printProgram(p: Program): string {
  const out: string[] = [`def call(${p.inputs.join(", ")}):`];
  for (const l of p.lines) {
    switch (l.op) {
      case "alloc":
        out.push(`    ${l.buf} = empty(${shapeStr(l.shape)}, ${l.dtype})`);
        break;
      case "kernel": {
        const args = l.spec.bindings.map((
          b,
        ) => (b.access === "read" ? b.storage : `${b.storage}!`));
        out.push(`    ${l.spec.name}(${args.join(", ")})  # grid ${shapeStr(l.spec.workgroups)}`);
        break;
      }
      case "custom": {
        const d = l.buf.def;
        if (d.kind === "fallback") {
          const args = d.args.map((a) =>
            a && typeof a === "object" && "buf" in a
              ? (a as { buf: string }).buf
              : JSON.stringify(a)
          );
          const lhs = l.buf.layout === "none" ? "" : `${l.buf.name} = `;
          out.push(`    ${lhs}${d.op}(${args.join(", ")})  # ${l.node.name}`);
        }
        break;
      }
    }
  }
  out.push(`    return (${p.outputs.join(", ")})`);
  return out.join("\n");
}

export function elementCount(b: IRBuffer): number {
  return numel(b.shape);
}
