// The config schema: every knob's key, type, default, environment variable and doc, as one typed
// list (tinygrad-style). The Config object (config.ts) layers values over it; the README's config
// table is generated from it (src/config_table.ts, test/readme_config_test.ts).

export type KnobType = "bool" | "int" | "string" | "enum" | "string[]" | "int[]";
export type ConfigValue = boolean | number | string | string[] | number[];

export interface KnobSpec {
  /** Dotted name: `section.key`. */
  key: string;
  type: KnobType;
  default: ConfigValue;
  /** Environment variable that overrides the default. */
  env: string;
  /** Older/upstream names of the same variable, read when `env` is unset. */
  envAliases?: string[];
  /** Accepted values for `enum`. */
  values?: string[];
  /** Inclusive minimum for `int` and `int[]`. */
  min?: number;
  doc: string;
}

/** Every knob. The README's config table is generated from this list
 * (test/readme_config_test.ts). */
export const SCHEMA: KnobSpec[] = [
  {
    key: "runtime.lazyProbe",
    type: "bool",
    default: false,
    env: "WEBGPU_INDUCTOR_LAZY_PROBE",
    envAliases: ["PYTORCH_NVML_BASED_CUDA_CHECK"],
    doc: "isAvailable() answers from navigator.gpu alone, without requesting an adapter or device.",
  },
  {
    key: "runtime.powerPreference",
    type: "enum",
    default: "high-performance",
    values: ["high-performance", "low-power", "default"],
    env: "WEBGPU_INDUCTOR_POWER_PREFERENCE",
    doc: "Adapter power preference passed to requestAdapter().",
  },
  {
    key: "runtime.readbackCacheBytes",
    type: "int",
    default: 256 * 1024 * 1024,
    min: 0,
    env: "WEBGPU_INDUCTOR_READBACK_CACHE_BYTES",
    doc: "Bytes of idle readback staging buffers kept per device for reuse (0: a fresh one per " +
      "read); in Deno a reused one is read as soon as the queue is idle.",
  },
  {
    key: "runtime.submitBatchSize",
    type: "int",
    default: 0,
    min: 0,
    env: "WEBGPU_INDUCTOR_SUBMIT_BATCH_SIZE",
    doc: "Kernel launches encoded before a stream submits its pending command encoder; 0: " +
      "auto (1024 on lavapipe-class CPU adapters, where an early submit competes with encoding " +
      "for the same cores; 64 on GPUs and SwiftShader).",
  },
  {
    key: "runtime.validate",
    type: "bool",
    default: true,
    env: "WEBGPU_INDUCTOR_VALIDATE",
    doc: "Wrap launches and allocations in error scopes and raise validation/OOM errors.",
  },
  {
    key: "inductor.compileThreads",
    type: "int",
    default: 4,
    min: 1,
    env: "WEBGPU_INDUCTOR_COMPILE_THREADS",
    envAliases: ["TORCHINDUCTOR_COMPILE_THREADS"],
    doc: "Concurrent createComputePipelineAsync calls (the init layer sets 1, like vLLM).",
  },
  {
    key: "inductor.fusion",
    type: "bool",
    default: true,
    env: "WEBGPU_INDUCTOR_FUSION",
    doc: "Fuse scheduler nodes into shared kernels (off: one kernel per realized buffer).",
  },
  {
    key: "inductor.graphPartition",
    type: "bool",
    default: true,
    env: "WEBGPU_INDUCTOR_GRAPH_PARTITION",
    doc: "Split the graph at replay-unsafe ops into replayable partitions.",
  },
  {
    key: "inductor.replay",
    type: "bool",
    default: true,
    env: "WEBGPU_INDUCTOR_REPLAY",
    doc: "Record replayable partitions once and replay them (upstream: cudagraphs).",
  },
  {
    key: "inductor.allowBufferReuse",
    type: "bool",
    default: true,
    env: "WEBGPU_INDUCTOR_ALLOW_BUFFER_REUSE",
    doc: "Let memoryPlanReuse hand a freed buffer to a later allocation of the same size.",
  },
  {
    key: "inductor.memoryPlanning",
    type: "bool",
    default: false,
    env: "WEBGPU_INDUCTOR_MEMORY_PLANNING",
    doc: "Pack intermediates at aligned offsets in a few arenas (upstream memory_planning).",
  },
  {
    key: "inductor.maxAutotune",
    type: "bool",
    default: false,
    env: "WEBGPU_INDUCTOR_MAX_AUTOTUNE",
    doc: "Benchmark matmul tile configs and reduction layouts on the adapter at prepare time.",
  },
  {
    key: "inductor.compileSizes",
    type: "int[]",
    default: [],
    min: 1,
    env: "WEBGPU_INDUCTOR_COMPILE_SIZES",
    doc: "Static sizes to compile for; more than one turns on compile-time autotuning.",
  },
  {
    key: "inductor.maxFusionSize",
    type: "int",
    default: 64,
    min: 1,
    env: "WEBGPU_INDUCTOR_MAX_FUSION_SIZE",
    doc: "Most scheduler nodes in one fused kernel.",
  },
  {
    key: "inductor.matmulTemplate",
    type: "enum",
    default: "auto",
    values: ["auto", "shared", "register"],
    env: "WEBGPU_INDUCTOR_MATMUL_TEMPLATE",
    doc: "Matmul template: workgroup-memory tiles (GPUs), register tiles (CPU adapters), or auto.",
  },
  {
    key: "inductor.templatePrologue",
    type: "bool",
    default: true,
    env: "WEBGPU_INDUCTOR_TEMPLATE_PROLOGUE",
    doc: "Compute a cheap single-use pointwise producer inside a matmul's operand loads.",
  },
  {
    key: "inductor.horizontalMatmul",
    type: "bool",
    default: true,
    env: "WEBGPU_INDUCTOR_HORIZONTAL_MATMUL",
    doc: "Fuse matmuls that share their A operand into one kernel (q/k/v, SwiGLU).",
  },
  {
    key: "inductor.maxKernelBindings",
    type: "int",
    default: 8,
    min: 2,
    env: "WEBGPU_INDUCTOR_MAX_KERNEL_BINDINGS",
    doc: "Storage buffers one fused kernel may bind (WebGPU guarantees 8 per shader stage).",
  },
  {
    key: "inductor.f16Storage",
    type: "enum",
    default: "auto",
    values: ["auto", "native", "emulated"],
    env: "WEBGPU_INDUCTOR_F16_STORAGE",
    doc: "f16 buffers: native (needs shader-f16), emulated (two halves per u32), or auto.",
  },
  {
    key: "inductor.subgroups",
    type: "bool",
    default: true,
    env: "WEBGPU_INDUCTOR_SUBGROUPS",
    doc: "Reduce with subgroup operations where the adapter has the subgroups feature.",
  },
  {
    key: "inductor.vectorize",
    type: "bool",
    default: true,
    env: "WEBGPU_INDUCTOR_VECTORIZE",
    doc: "vec4 loads and stores where a kernel's innermost dimension is a multiple of 4.",
  },
  {
    key: "inductor.matmulTextures",
    type: "enum",
    default: "auto",
    values: ["auto", "on", "off"],
    env: "WEBGPU_INDUCTOR_MATMUL_TEXTURES",
    doc:
      "Read f32 matmul operands as storage textures (auto: lavapipe-class adapters, products >= 1 MFLOP).",
  },
  {
    key: "inductor.reductionLayout",
    type: "string",
    default: "auto",
    env: "WEBGPU_INDUCTOR_REDUCTION_LAYOUT",
    doc: "Reduction layout: auto (by shape and adapter), tree, serial, or RxL rows x lanes.",
  },
  {
    key: "inductor.debug",
    type: "bool",
    default: false,
    env: "WEBGPU_INDUCTOR_DEBUG",
    doc: "Print the generated program and kernels when compiling.",
  },
  {
    key: "patches.disable",
    type: "string",
    default: "",
    env: "WEBGPU_INDUCTOR_DISABLE_PATCHES",
    doc: "Patches the init layer must not apply: 'all' or a comma list of ids (A,B,…).",
  },
  {
    key: "patches.portedFrom",
    type: "string",
    default: "",
    env: "WEBGPU_INDUCTOR_PORTED_FROM",
    doc: "Pretend the port is of this upstream version when gating patches (tests only).",
  },
];
