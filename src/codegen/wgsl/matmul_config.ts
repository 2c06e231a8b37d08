// Matmul tile configs: the template flavour (workgroup memory or registers) and the tile sizes,
// chosen by output shape and adapter class (upstream inductor's mm_configs / the heuristics that
// pick a template config before autotuning; src/codegen/autotune.ts benchmarks alternatives).
import type { AdapterFlavour } from "./target.ts";

export interface MatmulConfig {
  /** "shared": operands staged through workgroup memory (GPUs); "register": each invocation
   * reads its rows and columns straight from memory into a register tile, no barriers (CPU
   * adapters such as lavapipe and SwiftShader, where workgroup memory and barriers cost more
   * than they save). */
  kind?: "shared" | "register";
  tileM: number;
  tileN: number;
  tileK: number;
  threadM: number;
  threadN: number;
  /** Shared template only: the next k slice is read from memory into registers while the
   * current one is multiplied (register double buffering), and each invocation's columns are
   * strided by the workgroup width (conflict-free workgroup-memory reads, coalesced stores). */
  pipelined?: boolean;
}

export const DEFAULT_MATMUL_CONFIG: MatmulConfig = {
  tileM: 32,
  tileN: 32,
  tileK: 16,
  threadM: 4,
  threadN: 4,
};

/** Widths a thin register tile (m <= 4) may take, widest first. */
const THIN_TILE_WIDTHS = [256, 128, 64, 32, 16];

/** A config suited to the shape and the adapter class. */
export function chooseMatmulConfig(
  m: number,
  n: number,
  kind: "shared" | "register" = "shared",
  k = 0,
  flavour: AdapterFlavour = "other",
): MatmulConfig {
  if (kind === "register" && flavour === "swiftshader") {
    const c = swiftShaderConfig(m, n, k);
    if (c) return c;
  }
  if (kind === "register") {
    // thin rows: 4 columns per invocation, as wide a tile as divides n (a whole tile is what
    // lets the columns be contiguous vec4s); a 256-wide tile over n = 64 would clamp three
    // quarters of its columns to the last one (lavapipe, dispatch-500's [1, 64] @ [64, 64]
    // steps: replay 47 ms against 17 ms per 500 with the 64-wide vec4 tile; the bundled
    // model's decode step 11.9 against 10.8 ms)
    if (m <= 4) {
      const tileN = THIN_TILE_WIDTHS.find((t) => n % t === 0) ?? 256;
      return { kind, tileM: 1, tileN, tileK: 4, threadM: 1, threadN: 4 };
    }
    // 8x8 threads each holding a 4x4 (or 4x8 / 1x8 for thin shapes) register tile; large
    // shapes with vec4 tiles 8x16 (lavapipe, matmul 1024: 307 ms against 344 for 8x8)
    // 16x16 vec4 tiles where that still leaves 8 workgroups to share among the CPU's threads
    // (lavapipe, CPU time at matmul 1024: 16x16 324 ms, 8x16 429 ms; bench/matmul_variants.ts)
    const vec4Ok = k % 4 === 0 && k > 0 && n % 128 === 0;
    if (vec4Ok && Math.ceil(m / 128) * (n / 128) >= 8) {
      return { kind, tileM: 128, tileN: 128, tileK: 4, threadM: 16, threadN: 16 };
    }
    if (m >= 128 && vec4Ok) {
      return { kind, tileM: 64, tileN: 128, tileK: 4, threadM: 8, threadN: 16 };
    }
    if (m >= 64 && n >= 64) return { kind, tileM: 64, tileN: 64, tileK: 4, threadM: 8, threadN: 8 };
    return { kind, tileM: 32, tileN: 32, tileK: 4, threadM: 4, threadN: 4 };
  }
  if (m <= 4) return { kind, tileM: 4, tileN: 64, tileK: 16, threadM: 4, threadN: 1 };
  if (n <= 4) return { kind, tileM: 64, tileN: 4, tileK: 16, threadM: 1, threadN: 4 };
  if (m >= 64 && n >= 64) return { kind, tileM: 64, tileN: 64, tileK: 16, threadM: 4, threadN: 4 };
  return { ...DEFAULT_MATMUL_CONFIG, kind };
}

/** SwiftShader's own register tiles where they measured faster than lavapipe's (Chromium 156,
 * bench/matmul_browser.ts, per-kernel device time); null: lavapipe's choice. */
function swiftShaderConfig(m: number, n: number, k: number): MatmulConfig | null {
  // vec4 tiles only (k in steps of four); thin rows, matvec included, keep lavapipe's tile
  const vec = k % 4 === 0 && k > 0 && m > 4;
  // narrow outputs that lavapipe's 32-wide tile cannot cover in vec4s (attention's P @ V,
  // n = head dim 16): a 16-wide vec4 tile instead of the lane-strided scalar one
  // (decoder-1x128's P @ V: 1.4 and 2.2 ms against 3.6 and 6.3, two runs)
  if (vec && n < 64 && n % 32 === 16) {
    return { kind: "register", tileM: 16, tileN: 16, tileK: 4, threadM: 4, threadN: 4 };
  }
  // large products: 16x32 registers per invocation in 4x8 workgroups (more FMAs per operand
  // load; matmul 1024: 559 and 586 ms against 655 and 688 for lavapipe's 16x16, two runs)
  if (vec && n % 128 === 0 && Math.ceil(m / 128) * (n / 128) >= 8) {
    return { kind: "register", tileM: 128, tileN: 128, tileK: 4, threadM: 16, threadN: 32 };
  }
  return null;
}
