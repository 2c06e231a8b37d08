// Test doubles of navigator.gpu: the real adapter with some features hidden (its device is
// requested without them, so kernels really run without them).
import { resetDevice, setGPUForTesting } from "../src/runtime/device.ts";

/** A GPU whose adapters hide `hidden` features; everything else is the real adapter's. */
export function gpuHiding(hidden: string[]): GPU {
  const real = navigator.gpu;
  return {
    requestAdapter: async (o?: GPURequestAdapterOptions) => {
      const a = await real.requestAdapter(o);
      if (!a) return null;
      const features = new Set([...a.features].filter((f) => !hidden.includes(f)));
      return new Proxy(a, {
        get(t, p) {
          if (p === "features") return features;
          const v = Reflect.get(t, p);
          return typeof v === "function" ? v.bind(t) : v;
        },
      });
    },
    getPreferredCanvasFormat: () => real.getPreferredCanvasFormat(),
  } as unknown as GPU;
}

/** Runs `fn` with the library's device acquired from an adapter without shader-f16. */
export async function withoutShaderF16<T>(fn: () => Promise<T>): Promise<T> {
  setGPUForTesting(gpuHiding(["shader-f16"]));
  try {
    return await fn();
  } finally {
    setGPUForTesting(undefined);
    resetDevice();
  }
}
