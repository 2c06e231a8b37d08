// Which kind of adapter a device runs on, from its adapter info: the runtime (submit batching)
// and codegen (kernel targets) both decide by it.
import type { DeviceHandle } from "./device.ts";

/** Whether the adapter runs on the CPU (lavapipe, llvmpipe, SwiftShader, a fallback adapter). */
export function isCpuAdapter(h: DeviceHandle): boolean {
  const info = h.adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return info?.isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader/i.test(h.info);
}

/** Chromium's CPU WebGPU: Dawn on SwiftShader (its adapter info names the architecture). */
export function isSwiftShader(h: DeviceHandle): boolean {
  return /swiftshader/i.test(h.info);
}

const lavapipeClass = new WeakMap<DeviceHandle, boolean>();

/** A CPU adapter other than SwiftShader (Mesa's lavapipe/llvmpipe, a fallback adapter): where
 * matmul operands read as textures and large submit batches pay. Kept per handle, as the stream
 * asks at every launch. */
export function isLavapipeClass(h: DeviceHandle): boolean {
  let v = lavapipeClass.get(h);
  if (v === undefined) lavapipeClass.set(h, v = isCpuAdapter(h) && !isSwiftShader(h));
  return v;
}
