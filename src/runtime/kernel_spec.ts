// What codegen hands the runtime (defined with the runtime, the lowest layer, which launches it;
// the scheduler reads it from trial kernels, src/inductor/kernel_backend.ts): WGSL source, its bindings in order, and the launch grid.
import type { DType } from "../dtype.ts";

export interface KernelBinding {
  /** Storage (IR buffer name after alias/mutation resolution) bound at this slot. */
  storage: string;
  dtype: DType;
  access: "read" | "read_write";
  /** Read as a read-only rgba32float storage texture instead of a storage buffer (f32 matmul
   * operands on lavapipe, whose image loads serve all SIMD lanes at once): before each launch
   * the runtime copies the bound bytes into a texture of `width` texels (four elements each)
   * per row, `rows` rows, the last one partly. */
  texture?: TextureShape;
}

export interface TextureShape {
  /** Texels per row (a power of two of at least 16: rows of a multiple of 256 bytes). */
  width: number;
  rows: number;
}

export interface KernelSpec {
  name: string;
  wgsl: string;
  bindings: KernelBinding[];
  workgroups: [number, number, number];
  /** A custom op's own WGSL, whose binding access modes are its own: its buffers are never
   * packed into a shared arena. */
  custom?: boolean;
  /** Which IR buffers the kernel computes and which of them it stores (for explain). */
  computes: string[];
  stores: string[];
}

/** Largest workgroup count per grid dimension WebGPU guarantees (and lavapipe/SwiftShader use). */
export const MAX_GRID_DIM = 65535;

/** Fold a 1-D count of workgroups into a 2-D grid under the per-dimension limit (a launch past
 * 65535 is rejected by validation; one peer returned zeros silently for 16M elements). */
export function foldGrid(count: number, z = 1): [number, number, number] {
  if (count <= MAX_GRID_DIM) return [Math.max(count, 1), 1, z];
  const y = Math.ceil(count / MAX_GRID_DIM);
  return [Math.ceil(count / y), y, z];
}

/** Fold a 1-D count of workgroups into a 3-D grid under the per-dimension limit; kernels
 * recover the linear id as `wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y` and skip ids past
 * `count`. */
export function foldGrid3(count: number): [number, number, number] {
  if (count <= MAX_GRID_DIM) return [Math.max(count, 1), 1, 1];
  const [x, y] = foldGrid(count);
  if (y <= MAX_GRID_DIM) return [x, y, 1];
  const z = Math.ceil(count / (MAX_GRID_DIM * MAX_GRID_DIM));
  const xy = Math.ceil(count / z);
  const y2 = Math.ceil(xy / MAX_GRID_DIM);
  return [Math.ceil(xy / y2), y2, z];
}
