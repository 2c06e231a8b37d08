// Device memory for an executed program's slots (upstream torch/_inductor/codegen/
// memory_planning.py: allocation pools packed by lifetime). Without memory planning every
// intermediate gets a buffer of its own; with it, slots are placed at aligned offsets in a few
// arenas by greedy best-offset packing, trying a few orders and keeping the smallest total.
// Inputs get theirs per run; slots a custom op's own kernel binds keep buffers of their own.
import { type Arena, packArenas } from "./arena.ts";
import type { DeviceHandle } from "./device.ts";
import type { ExecStats, Slot } from "./exec_slots.ts";

/** Gives every non-input slot of `slots` device memory from `alloc` and records the slot and
 * byte counts in `stats`. */
export function placeSlots(
  h: DeviceHandle,
  slots: readonly Slot[],
  arena: boolean,
  alloc: (bytes: number, label: string) => GPUBuffer,
  stats: ExecStats,
): void {
  const own = slots.filter((s) => !s.input);
  stats.slots = own.length;
  stats.reuseBytes = own.reduce((a, s) => a + s.bytes, 0);
  if (!arena) {
    for (const s of own) s.buffer = alloc(s.bytes, s.label);
    stats.plannedBytes = stats.reuseBytes;
    stats.arenas = 0;
    return;
  }
  const align = Math.max(4, h.limits.minStorageBufferOffsetAlignment);
  const cap = Math.min(h.limits.maxStorageBufferBindingSize, h.limits.maxBufferSize);
  for (const s of own.filter((s) => s.ownBuffer)) s.buffer = alloc(s.bytes, s.label);
  const packed = own.filter((s) => !s.ownBuffer);
  // greedy interval packing is order-sensitive: try a few orders, keep the smallest
  const orders: ((a: Slot, b: Slot) => number)[] = [
    (a, b) => b.bytes - a.bytes || a.start - b.start,
    (a, b) => a.start - b.start || b.bytes - a.bytes,
    (a, b) => (b.end - b.start) - (a.end - a.start) || b.bytes - a.bytes,
  ];
  let arenas: Arena<Slot>[] = [];
  let best = Infinity;
  for (const order of orders) {
    const plan = packArenas([...packed].sort(order), align, cap);
    const total = plan.arenas.reduce((t, a) => t + a.size, 0);
    if (total < best) {
      best = total;
      arenas = plan.arenas;
      for (const [slot, off] of plan.offsets) slot.offset = off;
    }
  }
  arenas.forEach((a, i) => {
    const buffer = alloc(a.size, `arena${i}`);
    for (const s of a.placed) s.buffer = buffer;
  });
  stats.arenas = arenas.length;
  stats.plannedBytes = arenas.reduce((t, a) => t + a.size, 0) +
    own.filter((s) => s.ownBuffer).reduce((t, s) => t + s.bytes, 0);
}
