// The interface every peer implements, and the module loader the suite hands them (Deno and the
// browser page load the npm packages differently).
import type { Workload } from "../workloads.ts";

/** Loads a peer's package: "tfjs" (tfjs-core with the webgpu backend registered), "jax"
 * (@jax-js/jax), "ort" (onnxruntime-web's webgpu build). Peers are untyped here on purpose: the
 * packages are optional (installed on the first bench run), so type checking never needs them. */
export type PeerModuleName = "tfjs" | "jax" | "ort";
// deno-lint-ignore no-explicit-any
export type PeerModule = any;
export type Loader = (name: PeerModuleName) => Promise<PeerModule>;

export interface DeviceRun {
  /** One call with inputs resident on the device; resolves when the device finished it. */
  run(): Promise<void>;
  /** The last device run's output, read back (for the correctness check). */
  read(): Promise<ArrayLike<number>>;
  dispose(): void;
}

export interface PreparedRun {
  /** One host-to-host call: inputs from the host arrays, the output read back. */
  run(): Promise<ArrayLike<number>>;
  /** Resident inputs, output left on the device (absent when the peer cannot). */
  device?: () => Promise<DeviceRun>;
  dispose(): void;
}

export interface Peer {
  system: string;
  /** Loads the package and acquires its WebGPU device; returns a description. */
  init(load: Loader): Promise<string>;
  /** Builds what one workload needs (a session, a jitted function). Throws when unsupported. */
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
