// Storage slots of a program being executed: what the generated wrapper's allocation lines
// become at run time (upstream PythonWrapperCodegen's AllocateLine / ReuseLine buffers), the
// name bindings that see them, the executor's statistics, and the checks and fills that act on
// slots as a whole (binding-size limits, poisoning).
import { type DType, gpuBytes, typedArrayFor } from "../dtype.ts";
import { DeviceError } from "../errors.ts";
import { writeBuffer } from "./buffers.ts";
import type { DeviceHandle } from "./device.ts";

/** Storage for one allocation (and the reuses that inherit it). */
export interface Slot {
  label: string;
  dtype: DType;
  numel: number;
  bytes: number;
  /** Program step that allocates it, and the last step that uses it. */
  start: number;
  end: number;
  input: boolean;
  /** Bound by a custom op's own kernel: gets a buffer of its own, never an arena range. */
  ownBuffer?: boolean;
  /** Where it lives once placed. */
  buffer?: GPUBuffer;
  offset: number;
  /** An output slot with a buffer of its own: a run that returns device buffers hands this
   * buffer to the caller and takes another (see exec_outputs.ts), so launches binding it make
   * their bind groups per run, as for inputs. */
  handOver?: boolean;
  /** Buffers of this slot's size the caller gave back (disposed outputs), for the next runs. */
  spare?: GPUBuffer[];
}

/** What a name is bound to: a slot seen with the name's own dtype and length (a reuse or a
 * dtype view may see another dtype than the slot was made for). */
export interface Binding {
  slot: Slot;
  dtype: DType;
  numel: number;
}

export interface ExecStats {
  /** Storage slots (inputs excluded) after reuse planning, and their bytes. */
  slots: number;
  reuseBytes: number;
  /** Device bytes actually allocated for intermediates and outputs (arena total with memory
   * planning, the slots' sum without). */
  plannedBytes: number;
  /** Bytes of every allocation line, as if nothing were reused. */
  unplannedBytes: number;
  arenas: number;
  launchesPerRun: number;
  hostStepsPerRun: number;
  /** Replayable partitions recorded (once each, at prepare). */
  recordedPartitions: number;
}

/** Statistics of an executor before anything is interpreted. */
export function emptyExecStats(): ExecStats {
  return {
    slots: 0,
    reuseBytes: 0,
    plannedBytes: 0,
    unplannedBytes: 0,
    arenas: 0,
    launchesPerRun: 0,
    hostStepsPerRun: 0,
    recordedPartitions: 0,
  };
}

export const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/** Bytes of storage for `numel` elements of `dtype`: whole words, at least one. */
export function storageBytes(dtype: DType, numel: number): number {
  return Math.max(4, roundUp(numel * gpuBytes(dtype), 4));
}

const POISON: Record<DType, number> = {
  f32: NaN,
  f16: NaN,
  i32: -559038737,
  u32: 0xdeadbeef,
  bool: 0xff,
};

/** Fill every non-input slot with NaN (ints: 0xDEADBEEF), so a kernel that leaves elements
 * unwritten is caught by the comparison. */
export function poisonSlots(h: DeviceHandle, slots: readonly Slot[]): void {
  for (const s of slots) {
    if (s.input) continue;
    const fill = typedArrayFor(s.dtype, s.numel);
    fill.fill(POISON[s.dtype]);
    writeBuffer(h, s.buffer!, fill, s.dtype, s.offset);
  }
}

/** Every tensor a kernel binds must fit one storage binding: say which, how big, and the
 * device's limit, before anything is allocated (WebGPU would reject the bind group only at
 * submit). Kernels do not split a binding into pieces. */
export function checkBindingSizes(h: DeviceHandle, kernel: string, slots: readonly Slot[]): void {
  const limit = h.limits.maxStorageBufferBindingSize;
  for (const s of slots) {
    if (s.bytes <= limit) continue;
    const per = s.bytes / s.numel;
    throw new DeviceError(
      `kernel '${kernel}' binds '${s.label}' (${s.numel} ${s.dtype} elements, ${s.bytes} bytes), ` +
        `over this device's maxStorageBufferBindingSize of ${limit} bytes ` +
        `(${(limit / 2 ** 20).toFixed(0)} MiB, ${h.info}); a tensor one kernel reads or writes ` +
        `must fit one binding: split it into tensors of at most ${Math.floor(limit / per)} ` +
        `elements`,
    );
  }
}
