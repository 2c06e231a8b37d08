// Compile-time autotuning (filled in with patch D's scenario).
import type { DeviceHandle } from "../runtime/device.ts";
import type { Program } from "./wrapper.ts";

export async function runAutotune(_h: DeviceHandle, _p: Program): Promise<void> {}
