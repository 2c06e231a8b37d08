// The runtime's view of a compiled program: functions of simple lines over buffer names. The
// executor interprets it once per prepare (binding names to physical GPU buffers) and then
// replays the resulting launches. Errors a faithful port of the upstream wrapper would raise in
// Python (an undefined name at a partition's return, a `del` of a name not in scope) are raised
// as ProgramErrors with the same wording.
import type { KernelSpec } from "./kernel_spec.ts";
import type { DType, TypedArray } from "../dtype.ts";
import { InductorError } from "../errors.ts";

export class ProgramError extends InductorError {}

export interface HostIO {
  read(name: string): Promise<TypedArray>;
  write(name: string, data: TypedArray): void;
}

export type ExecLine =
  | { op: "alloc"; name: string; dtype: DType; numel: number }
  | { op: "free"; name: string }
  | { op: "reuse"; prev: string; next: string; dtype: DType; numel: number }
  | { op: "alias"; name: string; of: string; dtype: DType; numel: number }
  | { op: "kernel"; spec: KernelSpec }
  | { op: "host"; name: string; reads: string[]; run: (io: HostIO) => Promise<void> }
  | { op: "call"; fn: string; inputs: string[]; outputs: string[]; dealloc: string[] };

export interface ExecFunction {
  params: string[];
  lines: ExecLine[];
  returns: string[];
  /** A replayable partition: its launches are recorded once and replayed. */
  replayable: boolean;
}

export interface ExecProgram {
  functions: Map<string, ExecFunction>;
  /** Graph inputs (bound in `call`'s scope before it runs). */
  inputs: { name: string; dtype: DType; numel: number }[];
}
