// Error-scope helpers: turn WebGPU's asynchronous validation / out-of-memory / internal errors and
// device loss into DeviceErrors that say what we were doing (kernel label, buffer label and size).
//
// WebGPU reports most errors asynchronously (popErrorScope resolves later), much like CUDA reports
// a bad launch at the next synchronising call. Synchronous entry points (buffer creation, stream
// flush) therefore use `scoped`: the scopes are pushed and popped around the call at once, and an
// error they catch is kept per device and thrown by the next `checkpoint` (stream.synchronize(),
// download(), …) — with the context captured at the call that caused it.
import { config } from "../config.ts";
import { DeviceError } from "../errors.ts";
import type { DeviceHandle } from "./device_handle.ts";

const SCOPES: GPUErrorFilter[] = ["validation", "out-of-memory", "internal"];

interface Deferred {
  pending: Set<Promise<void>>;
  errors: DeviceError[];
}
const deferred = new WeakMap<GPUDevice, Deferred>();

function deferredFor(device: GPUDevice): Deferred {
  let d = deferred.get(device);
  if (!d) {
    d = { pending: new Set(), errors: [] };
    deferred.set(device, d);
  }
  return d;
}

/** The error a lost device raises; `doing` says which operation found out. */
export function lostError(h: DeviceHandle, doing: string): DeviceError {
  const why = h.lostInfo
    ? `reason: ${h.lostInfo.reason || "unknown"}${
      h.lostInfo.message ? `, ${h.lostInfo.message}` : ""
    }`
    : "reason: unknown";
  return new DeviceError(
    `WebGPU device ${h.index} (${h.info}) was lost (${why}) while ${doing}. The next ` +
      `getDevice() acquires a new device; buffers, pipelines and streams of the lost one must be ` +
      `recreated.`,
  );
}

/** Throws the lost-device error when `h` is lost. */
export function assertLive(h: DeviceHandle, doing: string): void {
  if (h.lost) throw lostError(h, doing);
}

/** Keep an error for the next checkpoint on this device. */
export function recordDeferred(device: GPUDevice, err: DeviceError): void {
  deferredFor(device).errors.push(err);
}

function errorKind(e: GPUError): string {
  // GPUValidationError / GPUOutOfMemoryError / GPUInternalError; fall back to the class name.
  const n = e?.constructor?.name ?? "";
  if (/OutOfMemory/i.test(n)) return "out-of-memory";
  if (/Internal/i.test(n)) return "internal";
  if (/Validation/i.test(n)) return "validation";
  return n || "unknown";
}

function toDeviceError(e: GPUError, describe: () => string): DeviceError {
  return new DeviceError(`${describe()}: WebGPU ${errorKind(e)} error: ${e.message.trim()}`);
}

function pushScopes(device: GPUDevice): void {
  for (const f of SCOPES) device.pushErrorScope(f);
}

/** Pops the scopes pushed by pushScopes (innermost first) and resolves to the first error. */
function popScopes(device: GPUDevice): Promise<GPUError | null> {
  const pops: Promise<GPUError | null>[] = [];
  for (let i = 0; i < SCOPES.length; i++) {
    // A lost device may reject or resolve null; loss is reported through lostError instead.
    pops.push(device.popErrorScope().catch(() => null));
  }
  return Promise.all(pops).then((errs) => errs.find((e) => e !== null) ?? null);
}

/** Runs `fn` inside error scopes when `runtime.validate` is on; returns its result at once. A
 * caught error becomes a DeviceError prefixed by `describe()` and is thrown at the next
 * `checkpoint(h)`. */
export function scoped<T>(h: DeviceHandle, describe: () => string, fn: () => T): T {
  if (!config.bool("runtime.validate")) return fn();
  const device = h.device;
  pushScopes(device);
  try {
    return fn();
  } finally {
    const d = deferredFor(device);
    const p = popScopes(device).then((e) => {
      if (e) d.errors.push(toDeviceError(e, describe));
    });
    d.pending.add(p);
    p.finally(() => d.pending.delete(p));
  }
}

/** Like `scoped` but awaits the scopes and throws a caught error right away. */
export async function withErrorScopes<T>(
  h: DeviceHandle,
  describe: () => string,
  fn: () => T,
): Promise<T> {
  if (!config.bool("runtime.validate")) return fn();
  const device = h.device;
  pushScopes(device);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    await popScopes(device); // keep the scope stack balanced
    throw err;
  }
  // popScopes runs before any await, so no other call can interleave with our scopes.
  const e = await popScopes(device);
  if (e) throw toDeviceError(e, describe);
  return result;
}

/** Awaits every outstanding scope of this device and throws the first error caught since the
 * last checkpoint (all of them are cleared), or the lost-device error. */
export async function checkpoint(h: DeviceHandle, doing: string): Promise<void> {
  const d = deferred.get(h.device);
  if (d) {
    while (d.pending.size > 0) await Promise.all([...d.pending]);
    if (d.errors.length > 0) {
      const [first, ...rest] = d.errors;
      d.errors = [];
      if (rest.length > 0) {
        first.message += ` (and ${rest.length} more error(s): ` +
          rest.map((e) => e.message).join(" | ") + ")";
      }
      throw first;
    }
  }
  assertLive(h, doing);
}

// Loss listeners: racing every wait against the long-lived `device.lost` promise would pile up a
// handler per wait until the device dies, so waits register here and unregister when done.
const lossListeners = new WeakMap<DeviceHandle, Set<() => void>>();

/** Called by device.ts once a handle is marked lost. */
export function notifyLost(h: DeviceHandle): void {
  const set = lossListeners.get(h);
  if (!set) return;
  lossListeners.delete(h);
  for (const f of set) f();
}

/** Awaits `p`, but rejects with the lost-device error if `h` is lost first (some promises, like
 * onSubmittedWorkDone or mapAsync, may never settle on a lost device). */
export function raceLoss<T>(h: DeviceHandle, p: Promise<T>, doing: string): Promise<T> {
  if (h.lost) {
    p.catch(() => {});
    return Promise.reject(lostError(h, doing));
  }
  let set = lossListeners.get(h);
  if (!set) lossListeners.set(h, set = new Set());
  const listeners = set;
  return new Promise<T>((resolve, reject) => {
    const onLost = () => reject(lostError(h, doing));
    listeners.add(onLost);
    p.then(resolve, reject).finally(() => listeners.delete(onLost));
  });
}
