// The global config object: the knobs of config_schema.ts, layered sources with provenance.
// Precedence, lowest to highest: default < init (env_override) < env < code < patch.
import { ConfigError } from "./errors.ts";
import { type ConfigValue, type KnobSpec, type KnobType, SCHEMA } from "./config_schema.ts";
import { checkValue, parseEnvValue } from "./config_values.ts";

export { SCHEMA } from "./config_schema.ts";
export type { ConfigValue, KnobSpec, KnobType } from "./config_schema.ts";
export { checkValue, parseEnvValue } from "./config_values.ts";

export type Source = "default" | "init" | "env" | "code" | "patch";

export interface ConfigEntry {
  key: string;
  value: ConfigValue;
  source: Source;
  env: string;
  doc: string;
}

export type EnvReader = (name: string) => string | undefined;

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
