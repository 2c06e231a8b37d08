// The acquired device as the runtime passes it around; apart from device.ts (which acquires it)
// so that runtime/errors.ts, which device.ts calls, can name it without an import circle.
export interface DeviceHandle {
  /** Always 0: WebGPU exposes one device per adapter we request. */
  readonly index: number;
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  /** "description (vendor …, architecture …)" of the adapter, for messages. */
  readonly info: string;
  readonly features: Set<string>;
  /** The limits the device was created with (raised to the adapter's maxima where we need it). */
  readonly limits: GPUSupportedLimits;
  readonly hasF16: boolean;
  lost: boolean;
  /** Why the device was lost (`GPUDeviceLostInfo`), once it is. */
  lostInfo?: { reason: string; message: string };
}
