// The reference interpreter's tensor type; defined in src/fx/ref_tensor.ts (the op definitions'
// `ref` functions compute on it), re-exported here for the interpreter's users.
export type { RefTensor } from "../fx/ref_tensor.ts";
