// The init layer (DESIGN.md §3), the analogue of vllm/env_override.py: src/mod.ts imports this
// module first, for its side effects. It touches no GPU: it only writes config values and swaps
// functions.
//
// Semantics chosen: *setdefault*. Init values go into the config's "init" layer, which sits below
// the environment and code, so a user who exported WEBGPU_INDUCTOR_COMPILE_THREADS (or
// TORCHINDUCTOR_COMPILE_THREADS) keeps their value; vLLM assigns unconditionally and PR #53892
// proposes setdefault. Import order cannot defeat the init (vLLM #10619 → PR #10620, which had to
// set both the env var and the live `compile_threads`): our config reads the environment when it
// is built, and init writes into that already-built live object, so the value the pipeline reads
// is the init default whichever module was imported first.
import { Config, config, type ConfigValue, type Source } from "./config.ts";
import { ConfigError } from "./errors.ts";
import { PORTED_FROM } from "./version.ts";
import { PatchRegistry, patchRegistry, type PatchReport } from "./patches/index.ts";
// Patch modules register themselves when imported. Import each one here (side-effect imports,
// e.g. `import "./patches/a_memory_plan_reuse.ts";`) so that ES module order runs them before the
// `initialize()` call at the bottom of this file.
import "./patches/a_memory_plan_reuse.ts";
import "./patches/b_should_partition.ts";
import "./patches/c_partition_signature.ts";
import "./patches/d_get_raw_stream.ts";

/** What init sets, and the upstream setting each one mirrors. */
export const INIT_DEFAULTS: ReadonlyArray<{ key: string; value: ConfigValue; upstream: string }> = [
  // PYTORCH_NVML_BASED_CUDA_CHECK=1 (vLLM PR #15951): probing must not acquire the device.
  {
    key: "runtime.lazyProbe",
    value: true,
    upstream: "PYTORCH_NVML_BASED_CUDA_CHECK=1 (vllm#15951)",
  },
  // TORCHINDUCTOR_COMPILE_THREADS=1 + config.compile_threads=1 (vLLM #10480, PR #10620).
  {
    key: "inductor.compileThreads",
    value: 1,
    upstream: "TORCHINDUCTOR_COMPILE_THREADS=1, compile_threads=1 (vllm#10480, vllm#10620)",
  },
];

export interface InitSetting {
  key: string;
  /** The value init asked for. */
  initValue: ConfigValue;
  /** The live value right after init, and who set it ("init" unless env or code outranked it). */
  value: ConfigValue;
  source: Source;
  upstream: string;
}

export interface InitReport {
  settings: InitSetting[];
  /** Version the patches were gated on, and where it came from. */
  portedFrom: string;
  portedFromSource: "PORTED_FROM" | "patches.portedFrom";
  disable: string;
  /** Patch outcomes; null when this init did not apply patches (see InitOptions.patches). */
  patches: PatchReport[] | null;
}

export interface InitOptions {
  /** Apply version-gated patches. Patches are process-wide, so by default only the init of the
   * global config applies them, or an init given its own `registry`. */
  patches?: boolean;
  /** Registry to apply (tests); the global one otherwise. */
  registry?: PatchRegistry;
}

const done = new WeakMap<Config, InitReport>();

/** Run the init layer on `cfg` (the global config by default). A second call on the same config
 * is a no-op that returns the first report. */
export function initialize(cfg: Config = config, opts: InitOptions = {}): InitReport {
  const prior = done.get(cfg);
  if (prior) return prior;
  const settings = INIT_DEFAULTS.map(({ key, value, upstream }) => {
    cfg.setInitDefault(key, value);
    return { key, initValue: value, value: cfg.get(key), source: cfg.source(key), upstream };
  });
  const override = cfg.str("patches.portedFrom");
  const portedFrom = override || PORTED_FROM;
  const disable = cfg.str("patches.disable");
  const apply = opts.patches ?? (opts.registry !== undefined || cfg === config);
  const patches = apply ? (opts.registry ?? patchRegistry).apply({ portedFrom, disable }) : null;
  const report: InitReport = {
    settings,
    portedFrom,
    portedFromSource: override ? "patches.portedFrom" : "PORTED_FROM",
    disable,
    patches,
  };
  done.set(cfg, report);
  return report;
}

/** What init did to `cfg`. Throws if it has not been initialized. */
export function initReport(cfg: Config = config): InitReport {
  const r = done.get(cfg);
  if (!r) throw new ConfigError("initReport: this config has not been initialized");
  return r;
}

/** Human-readable init report, for explain output. */
export function describeInit(r: InitReport = initReport()): string {
  const lines = ["init (env_override):"];
  for (const s of r.settings) {
    const kept = s.source === "init" ? "" : ` (kept: ${s.source} outranks init)`;
    lines.push(`  ${s.key} = ${JSON.stringify(s.value)}${kept}  [${s.upstream}]`);
  }
  lines.push(`  patches gated on ${r.portedFrom} (from ${r.portedFromSource})`);
  if (r.patches === null) lines.push("  patches not applied by this init");
  for (const p of r.patches ?? []) {
    const state = p.applied ? "applied" : "skipped";
    lines.push(`  patch ${p.id} ${p.target} [${p.upstream}]: ${state}, ${p.reason}`);
  }
  return lines.join("\n");
}

initialize();
