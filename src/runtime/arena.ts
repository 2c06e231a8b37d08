// Memory planning's arena packing for the executor (src/runtime/executor.ts): slots whose
// lifetimes (program steps) are disjoint share bytes of one arena buffer, placed first-fit at
// aligned offsets, and a dispatch's bindings are checked not to overlap. Pure functions over
// the slots' sizes and lifetimes; the executor creates the buffers. Mirrors the idea of
// TorchInductor's memory planning pass (codegen/memory_planning.py: pools of allocations with
// live ranges), done here at run time.
import { DeviceError } from "../errors.ts";

/** What packing needs of an executor slot: its bytes, the steps it is alive, and (once placed)
 * its buffer and offset. */
export interface ArenaSlot {
  label: string;
  bytes: number;
  /** Program step that allocates it, and the last step that uses it. */
  start: number;
  end: number;
  /** Inputs are bound to their own buffers (never packed), so they never overlap. */
  input: boolean;
  buffer?: GPUBuffer;
  offset: number;
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** Two bindings of one dispatch must not share bytes of one buffer (an arena packs only slots
 * whose lifetimes are disjoint, so this never fires unless the packing is wrong). */
export function checkNoOverlap(kernel: string, slots: readonly ArenaSlot[]): void {
  for (let i = 0; i < slots.length; i++) {
    for (let j = i + 1; j < slots.length; j++) {
      const a = slots[i], b = slots[j];
      if (a === b || a.input || b.input || a.buffer !== b.buffer) continue;
      if (a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes) {
        throw new DeviceError(
          `kernel '${kernel}': bindings '${a.label}' and '${b.label}' overlap in '${a.buffer?.label}'`,
        );
      }
    }
  }
}

/** One arena buffer: its size in bytes and the slots placed in it. */
export interface Arena<S extends ArenaSlot = ArenaSlot> {
  size: number;
  placed: S[];
}

/** Place slots (in the given order) at the lowest aligned offset of the first arena where they
 * do not overlap, in bytes, any slot alive at the same time; new arenas past `cap` bytes. */
export function packArenas<S extends ArenaSlot>(
  slots: S[],
  align: number,
  cap: number,
): { arenas: Arena<S>[]; offsets: Map<S, number> } {
  const arenas: Arena<S>[] = [];
  const offsets = new Map<S, number>();
  const overlapsInTime = (a: S, b: S) => a.start <= b.end && b.start <= a.end;
  for (const s of slots) {
    if (s.bytes > cap) {
      throw new DeviceError(
        `buffer '${s.label}' of ${s.bytes} bytes exceeds the device's maxStorageBufferBindingSize (${cap})`,
      );
    }
    let placed = false;
    for (const arena of arenas) {
      const busy = arena.placed.filter((o) => overlapsInTime(o, s))
        .sort((a, b) => offsets.get(a)! - offsets.get(b)!);
      let off = 0;
      for (const o of busy) {
        const oOff = offsets.get(o)!;
        if (off + s.bytes <= oOff) break;
        off = Math.max(off, roundUp(oOff + o.bytes, align));
      }
      if (off + s.bytes > cap) continue;
      offsets.set(s, off);
      arena.placed.push(s);
      arena.size = Math.max(arena.size, off + s.bytes);
      placed = true;
      break;
    }
    if (!placed) {
      offsets.set(s, 0);
      arenas.push({ size: s.bytes, placed: [s] });
    }
  }
  return { arenas, offsets };
}
