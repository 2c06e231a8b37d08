// The global config object: one typed list of every knob (tinygrad-style), layered sources with
// provenance. Precedence, lowest to highest: default < init (env_override) < env < code < patch.
import { ConfigError } from "./errors.ts";

export type KnobType = "bool" | "int" | "string" | "enum" | "string[]" | "int[]";
export type Source = "default" | "init" | "env" | "code" | "patch";
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

/** Every knob. The README's config table is generated from this list (test/readme_test.ts). */
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
    key: "runtime.submitBatchSize",
    type: "int",
    default: 64,
    min: 1,
    env: "WEBGPU_INDUCTOR_SUBMIT_BATCH_SIZE",
    doc: "Kernel launches encoded before a stream submits its pending command encoder.",
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
    doc: "Benchmark matmul tile configs on the adapter at compile time.",
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

export interface ConfigEntry {
  key: string;
  value: ConfigValue;
  source: Source;
  env: string;
  doc: string;
}

export type EnvReader = (name: string) => string | undefined;

/** Parse an environment string for a knob; throws ConfigError naming the variable and key. */
export function parseEnvValue(spec: KnobSpec, raw: string, varName = spec.env): ConfigValue {
  const fail = (expected: string): never => {
    throw new ConfigError(
      `environment ${varName}=${JSON.stringify(raw)} is not valid for config key ` +
        `'${spec.key}': expected ${expected}`,
    );
  };
  const s = raw.trim();
  switch (spec.type) {
    case "bool": {
      const v = s.toLowerCase();
      if (["1", "true", "yes", "on"].includes(v)) return true;
      if (["0", "false", "no", "off"].includes(v)) return false;
      return fail("one of 1, 0, true, false, yes, no, on, off");
    }
    case "int": {
      if (!/^-?\d+$/.test(s)) fail(describeType(spec));
      return checkValue(spec, Number(s), `environment ${varName}`);
    }
    case "enum":
      if (!spec.values!.includes(s)) fail(`one of ${spec.values!.join(", ")}`);
      return s;
    case "string":
      return s;
    case "string[]":
      return s === "" ? [] : s.split(",").map((x) => x.trim()).filter((x) => x !== "");
    case "int[]": {
      const parts = s === "" ? [] : s.split(",").map((x) => x.trim());
      if (parts.some((p) => !/^-?\d+$/.test(p))) fail(describeType(spec));
      return checkValue(spec, parts.map(Number), `environment ${varName}`);
    }
  }
}

function describeType(spec: KnobSpec): string {
  const min = spec.min !== undefined ? ` >= ${spec.min}` : "";
  switch (spec.type) {
    case "bool":
      return "a boolean";
    case "int":
      return `an integer${min}`;
    case "enum":
      return `one of ${spec.values!.map((v) => JSON.stringify(v)).join(", ")}`;
    case "string":
      return "a string";
    case "string[]":
      return "an array of strings";
    case "int[]":
      return `an array of integers${min}`;
  }
}

/** Validate a value for a knob; returns a defensive copy. */
export function checkValue(spec: KnobSpec, v: unknown, origin: string): ConfigValue {
  const bad = (): never => {
    throw new ConfigError(
      `${origin}: config key '${spec.key}' expects ${describeType(spec)}, got ${JSON.stringify(v)}`,
    );
  };
  const intOk = (x: unknown) =>
    typeof x === "number" && Number.isInteger(x) && (spec.min === undefined || x >= spec.min);
  switch (spec.type) {
    case "bool":
      if (typeof v !== "boolean") bad();
      return v as boolean;
    case "int":
      if (!intOk(v)) bad();
      return v as number;
    case "enum":
      if (typeof v !== "string" || !spec.values!.includes(v)) bad();
      return v as string;
    case "string":
      if (typeof v !== "string") bad();
      return v as string;
    case "string[]":
      if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) bad();
      return [...(v as string[])];
    case "int[]":
      if (!Array.isArray(v) || !v.every(intOk)) bad();
      return [...(v as number[])];
  }
}

interface Layer {
  value: ConfigValue;
  source: Source;
}

/** A config object: the schema plus values from each source. `config` below is the global one. */
export class Config {
  #specs = new Map<string, KnobSpec>();
  #init = new Map<string, ConfigValue>();
  #env = new Map<string, ConfigValue>();
  #code = new Map<string, ConfigValue>();
  /** Active scoped patches, innermost last; a frame is removed when its scope ends. */
  #patches: Map<string, ConfigValue>[] = [];
  #readEnv: EnvReader;

  constructor(readEnv: EnvReader = defaultEnvReader(), specs: KnobSpec[] = SCHEMA) {
    this.#readEnv = readEnv;
    for (const s of specs) this.registerKey(s);
  }

  /** Add a knob at run time (the init layer injects `inductor.customShouldPartitionOps` this
   * way, as vLLM adds `custom_should_partition_ops` to torch 2.9.0's config). Reads its env. */
  registerKey(spec: KnobSpec): void {
    if (this.#specs.has(spec.key)) {
      throw new ConfigError(`config key '${spec.key}' is already registered`);
    }
    if (!/^[a-z]+\.[A-Za-z0-9]+$/.test(spec.key)) {
      throw new ConfigError(`config key '${spec.key}' must look like 'section.key'`);
    }
    checkValue(spec, spec.default, "schema default");
    this.#specs.set(spec.key, spec);
    for (const name of [spec.env, ...(spec.envAliases ?? [])]) {
      const raw = this.#readEnv(name);
      if (raw !== undefined) {
        this.#env.set(spec.key, parseEnvValue(spec, raw, name));
        break;
      }
    }
  }

  /** Remove a knob added by registerKey (used when a patch is reverted). */
  unregisterKey(key: string): void {
    this.spec(key);
    for (const m of [this.#init, this.#env, this.#code, ...this.#patches]) m.delete(key);
    this.#specs.delete(key);
  }

  has(key: string): boolean {
    return this.#specs.has(key);
  }

  spec(key: string): KnobSpec {
    const s = this.#specs.get(key);
    if (!s) {
      throw new ConfigError(
        `unknown config key '${key}'; known keys: ${[...this.#specs.keys()].join(", ")}`,
      );
    }
    return s;
  }

  specs(): KnobSpec[] {
    return [...this.#specs.values()];
  }

  #layer(key: string): Layer {
    for (let i = this.#patches.length - 1; i >= 0; i--) {
      if (this.#patches[i].has(key)) return { value: this.#patches[i].get(key)!, source: "patch" };
    }
    if (this.#code.has(key)) return { value: this.#code.get(key)!, source: "code" };
    if (this.#env.has(key)) return { value: this.#env.get(key)!, source: "env" };
    if (this.#init.has(key)) return { value: this.#init.get(key)!, source: "init" };
    return { value: this.spec(key).default, source: "default" };
  }

  get<T extends ConfigValue = ConfigValue>(key: string): T {
    this.spec(key);
    const v = this.#layer(key).value;
    return (Array.isArray(v) ? [...v] : v) as T;
  }

  bool(key: string): boolean {
    return this.#typed(key, "bool") as boolean;
  }
  int(key: string): number {
    return this.#typed(key, "int") as number;
  }
  str(key: string): string {
    const t = this.spec(key).type;
    if (t !== "string" && t !== "enum") {
      throw new ConfigError(`config key '${key}' is ${t}, not a string`);
    }
    return this.get<string>(key);
  }
  strings(key: string): string[] {
    return this.#typed(key, "string[]") as string[];
  }
  ints(key: string): number[] {
    return this.#typed(key, "int[]") as number[];
  }
  #typed(key: string, t: KnobType): ConfigValue {
    const s = this.spec(key);
    if (s.type !== t) throw new ConfigError(`config key '${key}' is ${s.type}, not ${t}`);
    return this.get(key);
  }

  /** Which source the current value of `key` comes from. */
  source(key: string): Source {
    this.spec(key);
    return this.#layer(key).source;
  }

  /** Set from code (outranks env and defaults; a scoped patch outranks it). */
  set(key: string, value: unknown): void {
    this.#code.set(key, checkValue(this.spec(key), value, "config.set"));
  }

  /** Set several keys from code at once; validates all before changing any. */
  update(values: Record<string, unknown>): void {
    const checked = Object.entries(values).map(
      ([k, v]) => [k, checkValue(this.spec(k), v, "config.update")] as const,
    );
    for (const [k, v] of checked) this.#code.set(k, v);
  }

  /** Drop a code-set value (or all of them), falling back to env/init/default. */
  reset(key?: string): void {
    if (key === undefined) this.#code.clear();
    else {
      this.spec(key);
      this.#code.delete(key);
    }
  }

  /** The init layer's value for a key: below env, so a user's exported variable still wins
   * (setdefault semantics; see env_override.ts). Returns false when env already decides. */
  setInitDefault(key: string, value: unknown): boolean {
    this.#init.set(key, checkValue(this.spec(key), value, "env_override"));
    return !this.#env.has(key);
  }

  /** True when the environment provided a value for `key`. */
  fromEnv(key: string): boolean {
    this.spec(key);
    return this.#env.has(key);
  }

  /** Run `fn` with `overrides` in force; restores on return and on throw, also for async fn. */
  patch<R>(overrides: Record<string, unknown>, fn: () => R): R {
    const frame = new Map<string, ConfigValue>();
    for (const [k, v] of Object.entries(overrides)) {
      frame.set(k, checkValue(this.spec(k), v, "config.patch"));
    }
    this.#patches.push(frame);
    const pop = () => {
      const i = this.#patches.lastIndexOf(frame);
      if (i >= 0) this.#patches.splice(i, 1);
    };
    let result: R;
    try {
      result = fn();
    } catch (e) {
      pop();
      throw e;
    }
    if (result instanceof Promise) {
      return result.finally(pop) as R;
    }
    pop();
    return result;
  }

  entries(): ConfigEntry[] {
    return this.specs().map((s) => {
      const l = this.#layer(s.key);
      return { key: s.key, value: l.value, source: l.source, env: s.env, doc: s.doc };
    });
  }

  /** One line per knob: key, value, and who set it. */
  explain(): string {
    const rows = this.entries().map((e) => [e.key, JSON.stringify(e.value), e.source]);
    const w0 = Math.max(...rows.map((r) => r[0].length));
    const w1 = Math.max(...rows.map((r) => r[1].length));
    return rows.map((r) => `${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  (${r[2]})`).join("\n");
  }
}

/** Reads the environment of whatever host we run in, never prompting and never throwing:
 * Deno.env where the permission is already granted, process.env under Node, and in a browser
 * `globalThis.WEBGPU_INDUCTOR_ENV` then the page URL's query. */
export function defaultEnvReader(): EnvReader {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  const browserEnv: Record<string, string> = {};
  if (g.location?.search) {
    for (const [k, v] of new URLSearchParams(g.location.search)) browserEnv[k] = v;
  }
  if (g.WEBGPU_INDUCTOR_ENV && typeof g.WEBGPU_INDUCTOR_ENV === "object") {
    for (const [k, v] of Object.entries(g.WEBGPU_INDUCTOR_ENV)) browserEnv[k] = String(v);
  }
  return (name: string) => {
    if (name in browserEnv) return browserEnv[name];
    if (g.Deno?.env && g.Deno?.permissions?.querySync) {
      try {
        const st = g.Deno.permissions.querySync({ name: "env", variable: name });
        return st.state === "granted" ? g.Deno.env.get(name) : undefined;
      } catch {
        return undefined;
      }
    }
    if (g.process?.env) return g.process.env[name];
    return undefined;
  };
}

/** The global config object. */
export const config: Config = new Config();
