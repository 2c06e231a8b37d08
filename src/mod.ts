// webgpu-inductor public API. The init layer runs first, for its side effects (vLLM's
// env_override.py analogue): config from the environment, lazy probing, compile threads,
// version-gated patches.
import "./env_override.ts";

export { Config, config, SCHEMA } from "./config.ts";
export type { ConfigEntry, KnobSpec, Source } from "./config.ts";
export { PORTED_FROM, VERSION } from "./version.ts";
export { appliedPatches } from "./patches/index.ts";
export type { PatchReport } from "./patches/index.ts";
export { getDevice, isAvailable } from "./runtime/device.ts";
export type { DeviceHandle } from "./runtime/device.ts";
export { getRawStream, Stream, StreamEvent } from "./runtime/stream.ts";
export { liveBuffers } from "./runtime/buffers.ts";
export { ops, TensorProxy, trace } from "./fx/tracer.ts";
export type { InputSpec } from "./fx/tracer.ts";
export { Graph, Node } from "./fx/graph.ts";
export type { TensorMeta } from "./fx/graph.ts";
export { graphFromJSON, graphToJSON } from "./fx/json.ts";
export { listOps } from "./fx/registry.ts";
export { registerCustomOp } from "./fx/custom_ops.ts";
export {
  ATTENTION_OP,
  HOST_READBACK_OP,
  RESHAPE_AND_CACHE_OP,
  VIEW_DTYPE_OP,
} from "./custom_ops/index.ts";
export type { CustomKernelTarget, CustomOpSpec } from "./fx/custom_ops.ts";
export { interpret } from "./reference/interpreter.ts";
export { compile, CompiledGraph } from "./compile.ts";
export type {
  CompileMode,
  CompileOptions,
  CompileStats,
  RunCallOptions,
  RunInput,
} from "./compile.ts";
export { empty, Tensor, tensor, zeros } from "./runtime/tensor.ts";
export type { TensorOptions } from "./runtime/tensor.ts";
export { describeTarget } from "./codegen/wgsl/target.ts";
export type { KernelTarget } from "./codegen/wgsl/target.ts";
export type { KernelSpec } from "./codegen/wgsl/kernel_spec.ts";
export * from "./errors.ts";
export { DTYPES, typedArrayFor } from "./dtype.ts";
export { randomArray, rng } from "./random.ts";
export { LlamaModel } from "./models/llama.ts";
export type {
  GeneratedToken,
  GenerateOptions,
  GenerationResult,
  ModelOptions,
} from "./models/llama.ts";
export { loadLlama } from "./models/llama_load.ts";
export type { LlamaParts, LoadOptions, LoadProgress } from "./models/llama_load.ts";
export { parseLlamaConfig } from "./models/llama_config.ts";
export type { LlamaConfig } from "./models/llama_config.ts";
export { DEFAULT_CAPTURE_SIZES, LlamaRunner } from "./models/llama_runner.ts";
export { timeLlamaSteps } from "./models/llama_timing.ts";
export type { StepTimingOptions, StepTimings } from "./models/llama_timing.ts";
export type { RunnerOptions, StepRequest } from "./models/llama_runner.ts";
export type { DType, TypedArray } from "./dtype.ts";

// models in: GGUF and tokenizers
export { readGGUF } from "./io/gguf.ts";
export type { GGUFFile, GGUFTensor, GGUFValue, GGUFValueType } from "./io/gguf.ts";
export { writeGGUF } from "./io/gguf_write.ts";
export type { GGUFTensorInput, GGUFWriteOptions } from "./io/gguf_write.ts";
export { Tokenizer, TokenStreamDecoder } from "./tokenizer/tokenizer.ts";
export type { DecodeOptions, EncodeOptions, FromJSONOptions } from "./tokenizer/tokenizer.ts";

// models in: PyTorch export and safetensors
export {
  readSafetensors,
  readSafetensorsMetadata,
  SAFETENSORS_DTYPES,
  writeSafetensors,
} from "./io/safetensors.ts";
export type { HostTensor, SafetensorsDType } from "./io/safetensors.ts";
export { loadSafetensors } from "./io/safetensors_load.ts";
export type { LoadSafetensorsOptions } from "./io/safetensors_load.ts";
export { loadTorchExport } from "./io/torch_export.ts";
export type { TorchExport, TorchExportManifest } from "./io/torch_export.ts";
export { readBytes } from "./io/bytes.ts";
export type { ProgressFn } from "./io/bytes.ts";
