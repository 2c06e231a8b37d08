// The graph JSON format's types (the interchange format fx/json.ts reads and writes), apart so
// that fx/graph.ts can name them without importing the codec (which needs the op registry).
import type { DType } from "../dtype.ts";

export const GRAPH_FORMAT = "webgpu-inductor.graph";
export const GRAPH_VERSION = 1;

export type SpecialFloat = "inf" | "-inf" | "nan" | "-0";
export type ArgJSON =
  | { node: string }
  | { float: SpecialFloat }
  | number
  | boolean
  | string
  | null
  | ArgJSON[];

export interface NodeJSON {
  name: string;
  /** fx/graph.ts NodeKind (spelt out: importing graph.ts here would close a circle) */
  op: "placeholder" | "call_function" | "output";
  target?: string;
  args: ArgJSON[];
  kwargs: Record<string, ArgJSON>;
  meta?: { shape: number[]; dtype: DType };
}

export interface GraphJSON {
  format: typeof GRAPH_FORMAT;
  version: typeof GRAPH_VERSION;
  nodes: NodeJSON[];
}
