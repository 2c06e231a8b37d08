// Stands in for Node's `util` when tfjs-core is bundled for Deno: under Deno tfjs-core takes its
// Node platform path, which wants only these (esbuild aliases `util` here; see bench/setup.ts).
const tag = (t: string) => (x: unknown): boolean =>
  Object.prototype.toString.call(x) === `[object ${t}]`;

export const TextEncoder = globalThis.TextEncoder;
export const TextDecoder = globalThis.TextDecoder;
export const types = {
  isFloat32Array: tag("Float32Array"),
  isInt32Array: tag("Int32Array"),
  isUint8Array: tag("Uint8Array"),
  isUint8ClampedArray: tag("Uint8ClampedArray"),
};
export default { TextEncoder, TextDecoder, types };
