// One pass over a compiled program with Python-like scopes, as the generated wrapper's `call`
// would run (upstream PythonWrapperCodegen's output code, partitions as subgraph calls):
// allocations become storage slots, reuses share them, frees end a slot's life and remove
// names, aliases view a slot with another dtype, kernel lines become launches waiting for their
// pipelines, host lines keep the scope they see. Slot lifetimes found here drive arena packing.
import type { KernelSpec, TextureShape } from "./kernel_spec.ts";
import { type DType, gpuBytes } from "../dtype.ts";
import { type ExecProgram, type HostIO, ProgramError } from "./program.ts";
import type { Binding, ExecStats, Slot } from "./exec_slots.ts";

/** A recorded kernel launch: its pipeline, its slots and its bind group(s). */
export interface Launch {
  kind: "launch";
  name: string;
  pipeline: GPUComputePipeline;
  /** Fixed at prepare when no binding is a graph input; otherwise made per set of bound input
   * buffers and cached (`groups`). */
  bindGroup: GPUBindGroup | undefined;
  groups: Map<string, GPUBindGroup>;
  grid: [number, number, number];
  slots: Slot[];
  /** Bindings the kernel declares read_write (a buffer bound twice must not be one of them). */
  writable: boolean[];
  /** Bindings read as textures: their slot's bytes are copied in before each launch. */
  textures: LaunchTexture[];
}

/** A binding read as a texture (KernelBinding.texture) and the texture that stands for it. */
export interface LaunchTexture {
  binding: number;
  texture: GPUTexture;
  view: GPUTextureView;
  shape: TextureShape;
}

/** A custom op run on the host between launches, with the names in scope where it stands. */
export interface HostStep {
  kind: "host";
  name: string;
  run: (io: HostIO) => Promise<void>;
  scope: Map<string, Binding>;
}

export type Action = Launch | HostStep;

/** A launch found by the interpretation, waiting for its pipeline and bind group. */
export interface PendingLaunch {
  idx: number;
  spec: KernelSpec;
  slots: Slot[];
}

export type NewSlot = (
  dtype: DType,
  numel: number,
  label: string,
  step: number,
  input?: boolean,
) => Slot;

export interface Interpretation {
  inputs: Slot[];
  outputs: Binding[];
  /** Host steps in place; launches as null until their pipelines are made (`launches[i].idx`). */
  actions: (Action | null)[];
  launches: PendingLaunch[];
}

/** Interprets `p` once: slots (made by `newSlot`), their lifetimes, the launches and host steps
 * in order; counts into `stats`. */
export function interpretProgram(
  p: ExecProgram,
  newSlot: NewSlot,
  stats: ExecStats,
): Interpretation {
  let step = 0;
  const scope = new Map<string, Binding>();
  const inputs: Slot[] = [];
  for (const i of p.inputs) {
    const s = newSlot(i.dtype, i.numel, i.name, 0, true);
    inputs.push(s);
    scope.set(i.name, { slot: s, dtype: i.dtype, numel: i.numel });
  }
  const actions: (Action | null)[] = [];
  const launches: PendingLaunch[] = [];
  const touch = (b: Binding) => (b.slot.end = Math.max(b.slot.end, step));
  const run = (fnName: string, sc: Map<string, Binding>): Binding[] => {
    const fn = p.functions.get(fnName)!;
    const lookup = (name: string, doing: string): Binding => {
      const s = sc.get(name);
      if (!s) {
        throw new ProgramError(`NameError: name '${name}' is not defined (${fnName}: ${doing})`);
      }
      return s;
    };
    if (fn.replayable) stats.recordedPartitions++;
    for (const l of fn.lines) {
      step++;
      switch (l.op) {
        case "alloc":
          sc.set(l.name, {
            slot: newSlot(l.dtype, l.numel, l.name, step),
            dtype: l.dtype,
            numel: l.numel,
          });
          stats.unplannedBytes += l.numel * gpuBytes(l.dtype);
          break;
        case "reuse": {
          // the planner only reuses storage of the same byte size
          const s = lookup(l.prev, `reusing '${l.prev}' for '${l.next}'`);
          sc.delete(l.prev);
          sc.set(l.next, { slot: s.slot, dtype: l.dtype, numel: l.numel });
          touch(s);
          stats.unplannedBytes += l.numel * gpuBytes(l.dtype);
          break;
        }
        case "free":
          touch(lookup(l.name, `del ${l.name}`));
          sc.delete(l.name);
          break;
        case "alias": {
          const of = lookup(l.of, `viewing '${l.of}' as '${l.name}'`);
          sc.set(l.name, { slot: of.slot, dtype: l.dtype, numel: l.numel });
          touch(of);
          break;
        }
        case "kernel": {
          const slots = l.spec.bindings.map((b) => lookup(b.storage, `kernel ${l.spec.name}`));
          slots.forEach(touch);
          if (l.spec.custom) { for (const b of slots) b.slot.ownBuffer = true; }
          launches.push({ idx: actions.length, spec: l.spec, slots: slots.map((b) => b.slot) });
          actions.push(null);
          stats.launchesPerRun++;
          break;
        }
        case "host": {
          for (const r of l.reads) touch(lookup(r, `custom op ${l.name}`));
          actions.push({ kind: "host", name: l.name, run: l.run, scope: new Map(sc) });
          stats.hostStepsPerRun++;
          break;
        }
        case "call": {
          const inner = new Map<string, Binding>();
          for (const i of l.inputs) inner.set(i, lookup(i, `argument of ${l.fn}`));
          const outs = run(l.fn, inner);
          for (const d of l.dealloc) sc.delete(d);
          l.outputs.forEach((o, i) => sc.set(o, outs[i]));
          break;
        }
      }
    }
    return fn.returns.map((r) => {
      const s = sc.get(r);
      if (!s) {
        throw new ProgramError(
          `NameError: name '${r}' is not defined (${fnName} returns it, but never allocated ` +
            `or received it: undefined buffer at the partition's return)`,
        );
      }
      return s;
    });
  };
  const outputs = run("call", scope);
  for (const o of outputs) o.slot.end = Infinity; // outputs live past the run
  // a host step may read any slot of its scope later than its reads say
  for (const a of actions) {
    if (a?.kind === "host") {
      for (const b of a.scope.values()) b.slot.end = Math.max(b.slot.end, step);
    }
  }
  return { inputs, outputs, actions, launches };
}
