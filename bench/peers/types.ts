// The interface every system implements (ours in bench/ours.ts, the peers here), and the module
// loader the suite hands the peers (Deno and the browser page load the npm packages differently).
import type { Workload } from "../workloads.ts";

/** Loads a peer's package: "tfjs" (tfjs-core with the webgpu backend registered), "jax"
 * (@jax-js/jax), "ort" (onnxruntime-web's webgpu build). Peers are untyped here on purpose: the
 * packages are optional (installed on the first bench run), so type checking never needs them. */
export type PeerModuleName = "tfjs" | "jax" | "ort";
// deno-lint-ignore no-explicit-any
export type PeerModule = any;
export type Loader = (name: PeerModuleName) => Promise<PeerModule>;

/** Calls with every input resident on the device (made once by `PreparedRun.device()`). */
export interface DeviceCalls {
  /** One call; its output stays on the device (the previous call's output is disposed) and
   * nothing waits for the device. The call's work must be handed to the queue, not merely
   * recorded: a lazy system dispatches it here (bench/peers/jax.ts). */
  call(): Promise<void>;
  /** The sync: reads the last call's output back with the system's own read (ours
   * `Tensor.read()`, tfjs `data()`, jax-js `data()`, ORT `getData()`); checked by the caller. */
  read(): Promise<ArrayLike<number>>;
  dispose(): void;
}

export interface PreparedRun {
  /** One host-to-host call with the weights resident (made once at prepare): the activations
   * uploaded from host arrays, the output read back. The headline column. */
  run(): Promise<ArrayLike<number>>;
  /** One host-to-host call with every input (weights too) uploaded from host arrays; absent
   * when the workload's weights are too small for it to differ (`uploadAllMatters`). */
  runAll?: () => Promise<ArrayLike<number>>;
  /** Makes the activations resident too, for the device-time columns. */
  device(): Promise<DeviceCalls>;
  dispose(): void | Promise<void>;
}

export interface Peer {
  system: string;
  /** Loads the package and acquires its WebGPU device; returns a description. */
  init(load: Loader): Promise<string>;
  /** Builds what one workload needs (a session, a jitted function, the resident weights).
   * Throws when unsupported. */
  prepare(w: Workload, inputs: Float32Array[]): Promise<PreparedRun>;
}

/** Row-major 2-d transpose (host side, done once when preparing). */
export function transpose2d(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}

/** Index of each named input of a workload (decoder weights: `l{layer}_{name}`). */
export function inputIndex(w: Workload): Map<string, number> {
  return new Map(w.specs.map((s, i) => [s.name!, i]));
}
