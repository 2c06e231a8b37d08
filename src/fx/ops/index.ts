// Every built-in op definition, in family order (the registry registers these at load).
import type { OpDef } from "../op_def.ts";
import { CREATION_OPS } from "./creation.ts";
import { ELEMENTWISE_OPS } from "./elementwise.ts";
import { GATHER_OPS } from "./gather.ts";
import { MATMUL_OPS } from "./matmul.ts";
import { MUTATION_OPS } from "./mutation.ts";
import { NORM_OPS } from "./norm.ts";
import { REDUCTION_OPS } from "./reduction.ts";
import { VIEW_OPS } from "./view.ts";

export const BUILTIN_OPS: readonly OpDef[] = [
  ...ELEMENTWISE_OPS,
  ...REDUCTION_OPS,
  ...NORM_OPS,
  ...MATMUL_OPS,
  ...VIEW_OPS,
  ...GATHER_OPS,
  ...CREATION_OPS,
  ...MUTATION_OPS,
];
