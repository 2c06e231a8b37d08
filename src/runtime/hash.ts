// A fast 64-bit-ish string hash for cache keys (pipelines are cached by a hash of their WGSL).
// Two independent 32-bit lanes: FNV-1a, and a multiply-xor lane with a different prime, each
// finished with murmur3's avalanche so near-identical sources (kernels differ by one constant)
// spread over all 64 bits. Not cryptographic; callers that must never confuse two keys compare the
// source on a hit (pipeline_cache.ts does).

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const LANE2_OFFSET = 0x9e3779b9;
const LANE2_PRIME = 0x5bd1e995;

/** murmur3's 32-bit finaliser. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** 16 lowercase hex digits over the UTF-16 code units of `s`. */
export function hashString(s: string): string {
  let a = FNV_OFFSET;
  let b = LANE2_OFFSET;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, FNV_PRIME);
    b = Math.imul(b ^ c, LANE2_PRIME);
    b ^= b >>> 15;
  }
  // Fold the length in so strings that differ only by trailing NULs still differ.
  a = fmix32(a ^ s.length);
  b = fmix32(b ^ Math.imul(s.length, 0x27d4eb2d));
  return a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0");
}
