// The init layer (DESIGN.md §3; upstream-inductor.md §4 scenarios 9 and 10). Import-time side
// effects are checked in child processes; the rest on fresh Config objects.
import assert from "node:assert/strict";
import { runDenoScript } from "./helpers.ts";
import { Config } from "../src/config.ts";
import { ConfigError } from "../src/errors.ts";
import { describeInit, INIT_DEFAULTS, initialize, initReport } from "../src/env_override.ts";
import { PatchRegistry, swapMember } from "../src/patches/index.ts";
import { PORTED_FROM } from "../src/version.ts";

const reader = (env: Record<string, string> = {}) => (name: string) => env[name];
const THREADS = "inductor.compileThreads";
const LAZY = "runtime.lazyProbe";
const at = (cfg: Config, key: string) => [cfg.get(key), cfg.source(key)];

Deno.test("scenario 9: init sets compileThreads=1 and lazyProbe on a config built before it", () => {
  const cfg = new Config(reader());
  assert.deepEqual(at(cfg, THREADS), [4, "default"]);
  const r = initialize(cfg);
  assert.deepEqual(at(cfg, THREADS), [1, "init"]);
  assert.deepEqual(at(cfg, LAZY), [true, "init"]);
  assert.deepEqual(r.settings.map((s) => [s.key, s.initValue, s.value, s.source]), [
    [LAZY, true, true, "init"],
    [THREADS, 1, 1, "init"],
  ]);
  assert.deepEqual(INIT_DEFAULTS.map((d) => d.key), [LAZY, THREADS]);
  assert.equal(r.patches, null, "a non-global config does not touch the global patches");
  // The init layer is a default, not a lock: code can still choose.
  cfg.set(THREADS, 4);
  assert.deepEqual(at(cfg, THREADS), [4, "code"]);
  cfg.reset(THREADS);
  assert.deepEqual(at(cfg, THREADS), [1, "init"]);
});

Deno.test("initialize twice is a no-op returning the first report", () => {
  const cfg = new Config(reader());
  const r = initialize(cfg);
  cfg.set(THREADS, 9);
  assert.equal(initialize(cfg), r);
  assert.equal(initReport(cfg), r);
  assert.deepEqual(at(cfg, THREADS), [9, "code"]);
  assert.throws(() => initReport(new Config(reader())), ConfigError);
});

Deno.test("setdefault: an exported variable or code-set value outranks init", () => {
  for (
    const [env, want] of [
      [{ WEBGPU_INDUCTOR_COMPILE_THREADS: "8" }, 8],
      [{ TORCHINDUCTOR_COMPILE_THREADS: "3" }, 3],
    ] as const
  ) {
    const cfg = new Config(reader(env));
    const r = initialize(cfg);
    assert.deepEqual(at(cfg, THREADS), [want, "env"]);
    assert.match(describeInit(r), new RegExp(`compileThreads = ${want} \\(kept: env outranks`));
  }
  const off = new Config(reader({ PYTORCH_NVML_BASED_CUDA_CHECK: "0" }));
  initialize(off);
  assert.deepEqual(at(off, LAZY), [false, "env"]);
  const coded = new Config(reader());
  coded.set(THREADS, 2);
  initialize(coded);
  assert.deepEqual(at(coded, THREADS), [2, "code"]);
});

/** A-like (== 2.9.0) and D-like (2.9.0 and 2.9.1) patches on a throwaway object. */
function testRegistry() {
  const target = { reuse: () => "stock", rawStream: () => "stock" };
  const stock = { ...target };
  const reg = new PatchRegistry();
  for (const [id, key, range] of [["A", "reuse", "2.9.0"], ["D", "rawStream", ">=2.9.0 <2.9.2"]]) {
    const swap = swapMember(target, key as "reuse", () => () => "patched");
    reg.register({
      id,
      target: key,
      range,
      upstream: "-",
      description: "-",
      apply: swap.apply,
      revert: swap.revert,
    });
  }
  return { target, stock, reg };
}

Deno.test("scenario 10: init gates patches on patches.portedFrom (2.9.0, 2.9.1, 2.10.0)", () => {
  for (
    const [version, want] of [["2.9.0", ["A", "D"]], ["2.9.1", ["D"]], ["2.10.0", []]] as const
  ) {
    const { target, stock, reg } = testRegistry();
    const cfg = new Config(reader({ WEBGPU_INDUCTOR_PORTED_FROM: version }));
    const r = initialize(cfg, { registry: reg });
    assert.equal(r.portedFrom, version);
    assert.equal(r.portedFromSource, "patches.portedFrom");
    assert.deepEqual(r.patches!.filter((p) => p.applied).map((p) => p.id), want, version);
    assert.equal(target.reuse === stock.reuse, !want.includes("A" as never), version);
    assert.match(describeInit(r), new RegExp(`patches gated on ${version.replaceAll(".", "\\.")}`));
    reg.revert();
    assert.equal(target.reuse, stock.reuse);
    assert.equal(target.rawStream, stock.rawStream);
  }
});

Deno.test("init defaults to PORTED_FROM and honours the disable list", () => {
  const { target, stock, reg } = testRegistry();
  const cfg = new Config(reader({ WEBGPU_INDUCTOR_DISABLE_PATCHES: "A" }));
  const r = initialize(cfg, { registry: reg });
  assert.deepEqual([r.portedFrom, r.portedFromSource, r.disable], [
    PORTED_FROM,
    "PORTED_FROM",
    "A",
  ]);
  assert.equal(target.reuse, stock.reuse);
  assert.match(describeInit(r), /patch A reuse \[-\]: skipped, disabled by WEBGPU_INDUCTOR_DISABL/);
  reg.revert();
  const bad = new Config(reader({ WEBGPU_INDUCTOR_DISABLE_PATCHES: "Z" }));
  assert.throws(() => initialize(bad, { registry: testRegistry().reg }), /unknown patch ids: Z/);
  assert.throws(() => initReport(bad), ConfigError, "a failed init leaves no report");
});

Deno.test("the global config was initialized at import", () => {
  const r = initReport();
  assert.deepEqual(r.settings.map((s) => s.initValue), [true, 1]);
  assert.ok(Array.isArray(r.patches));
  assert.match(describeInit(), /^init \(env_override\):/);
});

/** Imports env_override in a fresh process after building the global config and trapping
 * navigator.gpu; prints what init left behind. */
const CHILD = `
import { config } from ${JSON.stringify(new URL("../src/config.ts", import.meta.url).href)};
let gpuTouched = 0;
Object.defineProperty(navigator, "gpu", { get() { gpuTouched++; return undefined; } });
const lazyBefore = config.source("runtime.lazyProbe");
const m = await import(${JSON.stringify(new URL("../src/env_override.ts", import.meta.url).href)});
const r = m.initReport();
console.log(JSON.stringify({
  threads: [config.get("inductor.compileThreads"), config.source("inductor.compileThreads")],
  lazy: [config.get("runtime.lazyProbe"), config.source("runtime.lazyProbe")],
  lazyBefore, gpuTouched, portedFrom: [r.portedFrom, r.portedFromSource],
  initValue: r.settings.find((s) => s.key === "inductor.compileThreads").initValue,
}));
`;

const child = (env: Record<string, string>) =>
  runDenoScript(CHILD, ["--config", new URL("../deno.json", import.meta.url).pathname, "-A"], env);

Deno.test("import-time init (child processes): live global, setdefault, gating, no GPU", async () => {
  const [plain, exported, alias, bad] = await Promise.all([
    child({}),
    child({ WEBGPU_INDUCTOR_COMPILE_THREADS: "8" }),
    child({ TORCHINDUCTOR_COMPILE_THREADS: "3", WEBGPU_INDUCTOR_PORTED_FROM: "2.10.0" }),
    child({ WEBGPU_INDUCTOR_DISABLE_PATCHES: "Z" }),
  ]);
  for (const c of [plain, exported, alias]) assert.equal(c.code, 0, c.stderr);
  const p = JSON.parse(plain.stdout);
  assert.deepEqual(p.threads, [1, "init"], "the live global config, built before init, reads 1");
  assert.equal(p.initValue, 1, "and 1 is the init default");
  assert.deepEqual(p.lazy, [true, "init"]);
  assert.equal(p.lazyBefore, "default");
  assert.equal(p.gpuTouched, 0, "init must not touch navigator.gpu");
  assert.deepEqual(p.portedFrom, [PORTED_FROM, "PORTED_FROM"]);
  assert.deepEqual(JSON.parse(exported.stdout).threads, [8, "env"], "user export not overwritten");
  const a = JSON.parse(alias.stdout);
  assert.deepEqual(a.threads, [3, "env"]);
  assert.deepEqual(a.portedFrom, ["2.10.0", "patches.portedFrom"]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /ConfigError.*WEBGPU_INDUCTOR_DISABLE_PATCHES.*unknown patch ids: Z/);
});
