// The custom ops shipped with the library (registered on import).
export { ATTENTION_OP } from "./attention.ts";
export { HOST_READBACK_OP } from "./host_readback.ts";
export { RESHAPE_AND_CACHE_OP } from "./reshape_and_cache.ts";
export { VIEW_DTYPE_OP } from "./view_dtype.ts";
