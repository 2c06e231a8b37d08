// Page plumbing shared by the demo and the self-test: the state flag tests wait on, the error
// box, and the WebGPU check behind the #no-webgpu message.

/** "running" while working; "done" or "error" (message in #error-message) when finished. */
export function setState(state: "running" | "done" | "error"): void {
  document.body.dataset.state = state;
}

export function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page is missing element #${id}`);
  return el;
}

export function fail(e: unknown): void {
  const err = e instanceof Error ? e : new Error(String(e));
  const box = $("error-message");
  box.hidden = false;
  box.textContent = `${err.name}: ${err.message}`;
  setState("error");
}

export type WebGPUCheck =
  | { ok: true; adapter: GPUAdapter }
  | { ok: false; reason: "missing" | "no-adapter"; detail: string };

/** Is WebGPU usable here? navigator.gpu missing (old browser, insecure origin, disabled) and
 * requestAdapter() returning null (flag off, GPU blocklisted, no driver) both count as no. */
export async function checkWebGPU(): Promise<WebGPUCheck> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) {
    return {
      ok: false,
      reason: "missing",
      detail: globalThis.isSecureContext
        ? "navigator.gpu is undefined: this browser has no WebGPU, or it is turned off."
        : "navigator.gpu is undefined because this page is not a secure context: open it via " +
          "https or http://localhost.",
    };
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return {
      ok: false,
      reason: "no-adapter",
      detail: `requestAdapter() threw: ${(e as Error).message}`,
    };
  }
  if (!adapter) {
    return {
      ok: false,
      reason: "no-adapter",
      detail: "navigator.gpu exists but requestAdapter() returned null: WebGPU is disabled or no " +
        "usable GPU (or software adapter) was found.",
    };
  }
  return { ok: true, adapter };
}

/** Shows #no-webgpu with the reason and how to turn WebGPU on, and ends in state "error". */
export function showNoWebGPU(c: Extract<WebGPUCheck, { ok: false }>): void {
  const el = $("no-webgpu");
  el.hidden = false;
  el.dataset.reason = c.reason;
  const detail = el.querySelector(".detail");
  if (detail) detail.textContent = c.detail;
  const box = $("error-message");
  box.hidden = false;
  box.textContent = `WebGPU is not available: ${c.detail}`;
  setState("error");
}

/** The page's URL query as a map (config env overrides in it are read by src/config.ts). */
export function query(): URLSearchParams {
  return new URLSearchParams(location.search);
}
