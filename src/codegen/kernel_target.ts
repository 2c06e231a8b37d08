// The kernel target of an adapter: which f16 storage, reduction combine, matmul template and
// reduction workgroup suit it (chosen at prepare(), once the device is known), and the check
// that a program can run with that choice.
import { COMPILE_TARGET, type KernelTarget } from "./wgsl/target.ts";
import { config } from "../config.ts";
import { DeviceError } from "../errors.ts";
import type { DeviceHandle } from "../runtime/device.ts";
import { isCpuAdapter, isLavapipeClass, isSwiftShader } from "../runtime/adapter_class.ts";
import type { KernelSpec } from "./wgsl/kernel_spec.ts";

export { isCpuAdapter, isSwiftShader };

/** CPU adapters (lavapipe, SwiftShader) run the register template faster; GPUs the shared one. */
export function matmulKindFor(h: DeviceHandle): "shared" | "register" {
  const forced = config.str("inductor.matmulTemplate");
  if (forced !== "auto") return forced as "shared" | "register";
  return isCpuAdapter(h) ? "register" : "shared";
}

/** Texture operands (texture_operands.ts): faster on lavapipe; "auto" leaves SwiftShader on
 * storage buffers (slower there with textures: matmul-1024 756 against 601 ms host to host,
 * decoder-1x128 16.7 against 12.8) and GPUs too (not measured). */
function matmulTexturesFor(h: DeviceHandle): "auto" | "on" | "off" {
  const v = config.str("inductor.matmulTextures") as "auto" | "on" | "off";
  if (v !== "auto") return v;
  return isLavapipeClass(h) ? "auto" : "off";
}

/** The target for device `h` under the current config (inductor.f16Storage,
 * inductor.subgroups, inductor.matmulTemplate). */
export function kernelTargetFor(h: DeviceHandle): KernelTarget {
  const matmulKind = matmulKindFor(h);
  const f16 = config.str("inductor.f16Storage");
  return {
    adapter: h.info,
    f16: f16 === "auto" ? (h.hasF16 ? "native" : "emulated") : f16 as KernelTarget["f16"],
    subgroups: config.bool("inductor.subgroups") && h.features.has("subgroups"),
    matmulKind,
    // the same flavour of adapter wants narrower reduction workgroups (measured on lavapipe:
    // softmax/RMS norm on [4096, 1024] 1.9x faster with 64 than with 256)
    reductionWorkgroup: matmulKind === "register" ? 64 : COMPILE_TARGET.reductionWorkgroup,
    adapterClass: isCpuAdapter(h) ? "cpu" : "gpu",
    adapterFlavour: isSwiftShader(h) ? "swiftshader" : "other",
    vectorize: config.bool("inductor.vectorize"),
    matmulTextures: matmulTexturesFor(h),
  };
}

/** Throws a DeviceError when a kernel needs native f16 the device cannot give (f16 storage
 * forced to "native" on an adapter without shader-f16). */
export function checkTarget(h: DeviceHandle, t: KernelTarget, kernels: KernelSpec[]): void {
  if (t.f16 !== "native" || h.hasF16) return;
  for (const k of kernels) {
    const b = k.bindings.find((x) => x.dtype === "f16");
    if (!b) continue;
    throw new DeviceError(
      `kernel ${k.name}: buffer '${b.storage}' has dtype f16 and inductor.f16Storage is ` +
        `"native", which needs the WebGPU feature 'shader-f16'; adapter ${h.info} does not ` +
        `offer it (set inductor.f16Storage to "auto" or "emulated" to store f16 as two halves ` +
        `per u32)`,
    );
  }
}
