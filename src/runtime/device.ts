// Lazy device acquisition (upstream: torch.cuda's lazy init). Nothing touches the GPU at import:
// the adapter and device are requested on the first getDevice(), once, and shared by concurrent
// callers. A lost device is forgotten so the next getDevice() acquires a fresh one.
import { config } from "../config.ts";
import type { DType } from "../dtype.ts";
import { DeviceError } from "../errors.ts";
import type { DeviceHandle } from "./device_handle.ts";
import { lostError, notifyLost, recordDeferred } from "./errors.ts";

export type { DeviceHandle } from "./device_handle.ts";

/** Features requested whenever the adapter offers them. */
const OPTIONAL_FEATURES = ["shader-f16", "subgroups", "timestamp-query"];

/** Limits raised to the adapter's maxima (defaults are far lower: 128 MiB bindings, 8 storage
 * buffers per stage, 16 KiB workgroup memory, 256 invocations). */
const RAISED_LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxStorageBuffersPerShaderStage",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
] as const;

const NO_WEBGPU = "WebGPU is not available in this runtime: navigator.gpu is undefined " +
  "(Deno: needs a Vulkan/Metal/D3D12 adapter, e.g. Debian's mesa-vulkan-drivers for lavapipe, " +
  'and WebGPU enabled with --unstable-webgpu or "unstable": ["webgpu"] in deno.json; ' +
  "browser: Chrome/Edge 113+ or Safari 26+/Firefox 141+ with WebGPU enabled, on a secure " +
  "(https or localhost) page)";

// undefined: use navigator.gpu; null: pretend there is none; otherwise this object.
let gpuOverride: GPU | null | undefined;
let current: DeviceHandle | undefined;
let acquiring: Promise<DeviceHandle> | undefined;
/** Bumped by resetDevice() so an acquisition in flight does not install its device. */
let generation = 0;

/** Tests: replace navigator.gpu (a fake, or a counting proxy of the real one); `null` pretends
 * WebGPU is absent, `undefined` restores the real one. Forgets (and destroys) the current device. */
export function setGPUForTesting(gpu: GPU | null | undefined): void {
  resetDevice();
  gpuOverride = gpu;
}

function currentGPU(): GPU | undefined {
  if (gpuOverride !== undefined) return gpuOverride ?? undefined;
  // deno-lint-ignore no-explicit-any
  return (globalThis as any).navigator?.gpu ?? undefined;
}

function adapterOptions(): GPURequestAdapterOptions {
  const pref = config.str("runtime.powerPreference");
  return pref === "default" ? {} : { powerPreference: pref as GPUPowerPreference };
}

/** Is WebGPU usable? With `runtime.lazyProbe` the answer comes from navigator.gpu alone and no
 * adapter or device is requested (upstream: PYTORCH_NVML_BASED_CUDA_CHECK). Otherwise an adapter
 * (never a device) is requested. Never throws. */
export async function isAvailable(): Promise<boolean> {
  const gpu = currentGPU();
  if (!gpu) return false;
  if (config.bool("runtime.lazyProbe")) return true;
  if (current && !current.lost) return true;
  try {
    return (await gpu.requestAdapter(adapterOptions())) !== null;
  } catch {
    return false;
  }
}

/** The device for `index` (only 0 exists), acquired on first use and shared afterwards. */
export function getDevice(index = 0): Promise<DeviceHandle> {
  if (index !== 0) {
    return Promise.reject(
      new DeviceError(
        `device index ${index} does not exist: WebGPU gives one device per adapter, so only ` +
          `device 0 is available`,
      ),
    );
  }
  if (current && !current.lost) return Promise.resolve(current);
  if (!acquiring) {
    const gen = generation;
    acquiring = acquire().then(
      (h) => {
        if (gen !== generation) {
          // resetDevice() ran while we were acquiring: do not resurrect a forgotten device.
          h.device.destroy();
          throw new DeviceError("device acquisition was cancelled by resetDevice()");
        }
        acquiring = undefined;
        current = h;
        return h;
      },
      (e) => {
        if (gen === generation) acquiring = undefined; // a later call may retry
        throw e;
      },
    );
  }
  return acquiring;
}

/** The device acquired so far and not lost, without acquiring one (tensors made before the first
 * acquisition upload once it resolves). */
export function currentDevice(): DeviceHandle | undefined {
  return current && !current.lost ? current : undefined;
}

/** Destroys the current device (if any) and forgets it; the next getDevice() acquires anew. */
export function resetDevice(): void {
  const h = current;
  current = undefined;
  acquiring = undefined;
  generation++;
  if (h && !h.lost) h.device.destroy(); // marks h lost (see acquire)
}

function describeAdapter(adapter: GPUAdapter): string {
  // adapter.info is missing in older browsers (they had requestAdapterInfo()).
  const i = (adapter as { info?: GPUAdapterInfo }).info;
  if (!i) return "unknown adapter";
  const extra = [
    i.vendor ? `vendor ${i.vendor}` : "",
    i.architecture ? `architecture ${i.architecture}` : "",
  ].filter((s) => s !== "").join(", ");
  const name = i.description || i.device || "unnamed adapter";
  return extra ? `${name} (${extra})` : name;
}

function markLost(h: DeviceHandle, reason: string, message: string): void {
  if (h.lost) return;
  h.lost = true;
  h.lostInfo = { reason, message };
  if (current === h) current = undefined;
  notifyLost(h);
}

async function acquire(): Promise<DeviceHandle> {
  const gpu = currentGPU();
  if (!gpu) throw new DeviceError(NO_WEBGPU);
  const opts = adapterOptions();
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter(opts);
  } catch (e) {
    throw new DeviceError(
      `requestAdapter(${JSON.stringify(opts)}) failed: ${(e as Error).message}`,
    );
  }
  if (!adapter) {
    throw new DeviceError(
      `no WebGPU adapter: requestAdapter(${JSON.stringify(opts)}) returned null. navigator.gpu ` +
        `exists but no usable GPU driver was found (Deno: install a Vulkan driver, e.g. ` +
        `mesa-vulkan-drivers for the lavapipe CPU adapter; browser: check chrome://gpu, the GPU ` +
        `may be blocklisted)`,
    );
  }
  const info = describeAdapter(adapter);
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const k of RAISED_LIMITS) {
    const v = adapter.limits[k];
    if (typeof v === "number") requiredLimits[k] = v;
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      label: "webgpu-inductor",
      requiredFeatures: requiredFeatures as GPUFeatureName[],
      requiredLimits,
    });
  } catch (e) {
    throw new DeviceError(
      `requestDevice on adapter ${info} failed (features ${requiredFeatures.join(", ")}; ` +
        `limits ${JSON.stringify(requiredLimits)}): ${(e as Error).message}`,
    );
  }
  const features = new Set<string>(device.features);
  const h: DeviceHandle = {
    index: 0,
    adapter,
    device,
    info,
    features,
    limits: device.limits,
    hasF16: features.has("shader-f16"),
    lost: false,
  };
  device.lost.then((li) => markLost(h, li.reason, li.message));
  // Quirk: device.lost resolves only some ticks after destroy(); mark the handle at once so the
  // very next call on it reports the loss instead of silently encoding into a dead device.
  const destroy = device.destroy.bind(device);
  device.destroy = () => {
    markLost(h, "destroyed", "device.destroy() was called");
    destroy();
  };
  // With runtime.validate off nothing captures errors in scopes; keep them for the next
  // checkpoint (without a label) rather than letting the platform only log them.
  if (typeof device.addEventListener === "function") {
    device.addEventListener("uncapturederror", (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      recordDeferred(
        device,
        new DeviceError(
          `uncaptured WebGPU error (${
            config.bool("runtime.validate")
              ? "raised outside any error scope"
              : "runtime.validate is off"
          }, so no kernel or buffer context): ${e.message.trim()}`,
        ),
      );
      ev.preventDefault();
    });
  }
  return h;
}

/** Throws a DeviceError unless the device has `feature`; `why` names who needs it. */
export function requireFeature(h: DeviceHandle, feature: string, why: string): void {
  if (h.lost) throw lostError(h, `checking feature '${feature}' for ${why}`);
  if (!h.features.has(feature)) {
    throw new DeviceError(
      `${why} needs the WebGPU feature '${feature}', which adapter ${h.info} does not offer ` +
        `(device features: ${[...h.features].sort().join(", ") || "none"})`,
    );
  }
}

/** Throws a DeviceError unless the device's `limit` allows `needed` (for `min…` limits such as
 * minStorageBufferOffsetAlignment the device value must be <= needed, otherwise >= needed). */
export function requireLimit(
  h: DeviceHandle,
  limit: keyof GPUSupportedLimits,
  needed: number,
  why: string,
): void {
  const have = h.limits[limit] as unknown;
  if (typeof have !== "number") {
    throw new DeviceError(`${why}: adapter ${h.info} does not report the limit '${String(limit)}'`);
  }
  const isMin = String(limit).startsWith("min");
  if (isMin ? have > needed : have < needed) {
    throw new DeviceError(
      `${why} needs ${String(limit)} ${isMin ? "<=" : ">="} ${needed}, but adapter ${h.info} ` +
        `has ${have}`,
    );
  }
}

/** Throws a DeviceError if `dtype` cannot run on this device (f16 needs 'shader-f16'). */
export function requireDType(h: DeviceHandle, dtype: DType, where: string): void {
  if (dtype === "f16" && !h.hasF16) {
    throw new DeviceError(
      `${where}: dtype f16 needs the WebGPU feature 'shader-f16', which adapter ${h.info} does ` +
        `not offer; store f16 emulated (inductor.f16Storage "auto" or "emulated") or use f32`,
    );
  }
}
