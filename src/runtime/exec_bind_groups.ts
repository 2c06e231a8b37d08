// Bind groups of recorded launches. A launch whose slots are all the executor's own gets one bind
// group at prepare, made once like the fixed addresses a recorded CUDA graph replays. Upstream
// cudagraph trees copy inputs that moved into static buffers before a replay; here a launch that
// binds a graph input (or a handed-over output) instead gets a bind group per set of buffers
// bound now, cached (least recently used dropped), so a decode loop alternating a few tensors
// reuses its groups and no input is copied.
import { InputError } from "../errors.ts";
import type { DeviceHandle } from "./device.ts";
import type { Launch, LaunchTexture } from "./exec_interpret.ts";
import type { Slot } from "./exec_slots.ts";

/** Bind groups kept per launch beyond the fixed one. */
const GROUPS_PER_LAUNCH = 16;

export class BindGroups {
  #bufferIds = new WeakMap<GPUBuffer, number>();
  #nextBufferId = 0;

  constructor(readonly h: DeviceHandle) {}

  /** A fresh bind group binding `slots` in order (binding i = slot i's range, or the texture
   * that stands for it). */
  make(
    pipeline: GPUComputePipeline,
    label: string,
    slots: readonly Slot[],
    textures: readonly LaunchTexture[] = [],
  ): GPUBindGroup {
    return this.h.device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries: slots.map((s, i) => ({
        binding: i,
        resource: textures.find((t) => t.binding === i)?.view ??
          { buffer: s.buffer!, offset: s.offset, size: s.bytes },
      })),
    });
  }

  /** The bind group of launch `a` for the input buffers bound now. Throws an InputError when
   * one tensor is passed as two inputs that the kernel binds together and may write. */
  forLaunch(a: Launch): GPUBindGroup {
    if (a.bindGroup) return a.bindGroup;
    const key = a.slots.map((s) => (s.input || s.handOver ? this.#idOf(s.buffer!) : "-"))
      .join(",");
    let g = a.groups.get(key);
    if (g) {
      a.groups.delete(key); // least recently used goes first
      a.groups.set(key, g);
      return g;
    }
    for (let i = 0; i < a.slots.length; i++) {
      for (let j = i + 1; j < a.slots.length; j++) {
        const x = a.slots[i], y = a.slots[j];
        if (x === y || !(x.input || y.input) || x.buffer !== y.buffer) continue;
        if (!(a.writable[i] || a.writable[j])) continue;
        throw new InputError(
          `inputs '${x.label}' and '${y.label}' are the same tensor, but kernel '${a.name}' ` +
            `binds them together and may write one of them; pass distinct tensors`,
        );
      }
    }
    g = this.make(a.pipeline, a.name, a.slots, a.textures);
    a.groups.set(key, g);
    if (a.groups.size > GROUPS_PER_LAUNCH) a.groups.delete(a.groups.keys().next().value!);
    return g;
  }

  #idOf(b: GPUBuffer): number {
    let id = this.#bufferIds.get(b);
    if (id === undefined) this.#bufferIds.set(b, id = this.#nextBufferId++);
    return id;
  }
}
