// Matmul operands read through read-only rgba32float storage textures instead of storage buffers
// (lavapipe).
//
// Mesa's llvmpipe (22.3) turns a storage-buffer load whose address differs per SIMD lane into a
// loop over the lanes with a branch and a bounds check per component; an image load is
// straight-line code for all lanes at once. A vec4 tile's k loop is dominated by its operand
// loads, so reading both operands as storage textures takes about 0.4x the time
// (bench/matmul_variants.ts, `stex…` and `tex…` variants). A texture binding holds the buffer's
// bytes row by row: flat vec4 index q is texel (q mod W, q div W) with W a power of two, so any
// vec4 index maps with a mask and a shift; the runtime copies the bound range into the texture
// before each launch.
import type { KernelBinding, TextureShape } from "./kernel_spec.ts";
import type { VectorAccess } from "./vector_access.ts";

/** Largest texture side WebGPU guarantees (maxTextureDimension2D's default). */
export const MAX_TEXTURE_SIDE = 8192;
/** Texels per row when the buffer is large enough (16 KiB rows). */
const PREFERRED_WIDTH = 1024;
/** Storage textures one shader stage may bind (maxStorageTexturesPerShaderStage's default). */
export const MAX_TEXTURE_BINDINGS = 4;
/** Fewest texels per row: a row of a buffer-to-texture copy is a multiple of 256 bytes. */
const MIN_WIDTH = 16;

/** Texels per row for a buffer of `texels` vec4s, or null when it exceeds the largest texture. */
export function textureWidth(texels: number): number | null {
  let w = MIN_WIDTH;
  while (w < PREFERRED_WIDTH && w < texels) w *= 2;
  while (Math.ceil(texels / w) > MAX_TEXTURE_SIDE) w *= 2;
  return w <= MAX_TEXTURE_SIDE ? w : null;
}

/** The texture a buffer of `texels` vec4s is copied into, `width` texels per row. */
export function textureShape(texels: number, width: number): TextureShape {
  return { width, rows: Math.max(1, Math.ceil(texels / width)) };
}

/** WGSL type of a texture binding: a read-only storage texture (lavapipe reads one in 0.4x the
 * CPU time of a sampled texture_2d<f32>, matmul 1024 with 16x16 tiles: 113 against 276 ms). */
export const TEXTURE_BINDING_TYPE = "texture_storage_2d<rgba32float, read>";

/** The WGSL fetch of flat vec4 index `q` (a u32 expression) from texture binding `id`. */
export function texelLoad(id: string, q: string, width: number): string {
  const shift = Math.log2(width);
  return `textureLoad(${id}, vec2<u32>((${q}) & ${width - 1}u, (${q}) >> ${shift}u))`;
}

/** The vec4 bindings of a rendering that may be read as textures, id -> texels per row: f32,
 * only read, read as vectors in the k steps (`vec.loopLoads`), small enough, and the first
 * MAX_TEXTURE_BINDINGS of those (horizontally fused matmuls may read more B operands).
 * `bytes`: each binding's storage size. */
export function textureOperands(
  vec: VectorAccess,
  bindings: readonly KernelBinding[],
  bytes: (b: KernelBinding) => number,
): Map<string, number> {
  const out = new Map<string, number>();
  bindings.forEach((b, i) => {
    const id = `t${i}`;
    if (b.dtype !== "f32" || b.access !== "read" || !vec.loopLoads.has(id)) return;
    if (!vec.declared.has(id) || vec.scalarWrites.has(id)) return;
    if (out.size >= MAX_TEXTURE_BINDINGS) return;
    const width = textureWidth(bytes(b) / 16);
    if (width !== null) out.set(id, width);
  });
  return out;
}
