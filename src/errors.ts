// One error family. Every message names the node, op, shape or config key at fault and what was
// expected (DESIGN.md §6).

export class InductorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Malformed graph: cycles, dangling references, bad node kinds, bad JSON. */
export class GraphError extends InductorError {}
/** Shapes that do not fit an op's rule (broadcasting, matmul inner dims, reshape sizes…). */
export class ShapeError extends InductorError {}
/** Dtypes that an op does not accept, or that differ where they must match. */
export class DTypeError extends InductorError {}
/** An op name nobody registered, or an op this backend cannot run. */
export class UnsupportedOpError extends InductorError {}
/** Unknown config key, ill-typed value, bad environment value. */
export class ConfigError extends InductorError {}
/** Kernel generation or WGSL/pipeline compilation failed. */
export class CompileError extends InductorError {}
/** No WebGPU, no adapter, missing feature or limit, lost device, validation or OOM errors. */
export class DeviceError extends InductorError {}
/** Wrong inputs handed to `CompiledGraph.run` (count, length, dtype). */
export class InputError extends InductorError {}
/** A registered custom op's own code (reference, js or wgsl) threw or returned something that
 * is not what the op declares; the message names the op and which function. */
export class CustomOpError extends InductorError {}
