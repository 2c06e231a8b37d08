// The global config object (DESIGN.md §3.1): layered sources with provenance, scoped patches,
// validation errors that name the key, and env reading that never prompts or throws.
import assert from "node:assert/strict";
import { runDenoScript } from "./helpers.ts";
import { Config, defaultEnvReader, type KnobSpec, parseEnvValue, SCHEMA } from "../src/config.ts";
import { ConfigError } from "../src/errors.ts";

const reader = (env: Record<string, string> = {}) => (name: string) => env[name];
const THREADS = "inductor.compileThreads";
const FUSION = "inductor.fusion";

/** Asserts `fn` throws a ConfigError whose message matches every pattern. */
function throwsConfig(fn: () => unknown, ...patterns: RegExp[]) {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

Deno.test("precedence default < init < env < code < patch, with provenance", () => {
  const plain = new Config(reader());
  assert.equal(plain.int(THREADS), 4);
  assert.equal(plain.source(THREADS), "default");
  assert.equal(plain.setInitDefault(THREADS, 1), true);
  assert.deepEqual([plain.int(THREADS), plain.source(THREADS)], [1, "init"]);

  const cfg = new Config(reader({ WEBGPU_INDUCTOR_COMPILE_THREADS: "6" }));
  assert.equal(cfg.setInitDefault(THREADS, 1), false, "env already decides");
  assert.deepEqual([cfg.int(THREADS), cfg.source(THREADS)], [6, "env"]);
  cfg.set(THREADS, 7);
  assert.deepEqual([cfg.int(THREADS), cfg.source(THREADS)], [7, "code"]);
  cfg.patch({ [THREADS]: 8 }, () => {
    assert.deepEqual([cfg.int(THREADS), cfg.source(THREADS)], [8, "patch"]);
    assert.match(cfg.explain(), /inductor\.compileThreads +8 +\(patch\)/);
  });
  assert.equal(cfg.source(THREADS), "code");
  cfg.reset(THREADS);
  assert.deepEqual([cfg.int(THREADS), cfg.source(THREADS)], [6, "env"]);
  cfg.set(FUSION, false);
  cfg.reset();
  assert.equal(cfg.source(FUSION), "default");
});

Deno.test("explain lists every knob with value and source", () => {
  const cfg = new Config(reader({ WEBGPU_INDUCTOR_FUSION: "off" }));
  cfg.set("runtime.powerPreference", "low-power");
  const lines = cfg.explain().split("\n");
  assert.equal(lines.length, SCHEMA.length);
  assert.match(cfg.explain(), /inductor\.fusion +false +\(env\)/);
  assert.match(cfg.explain(), /runtime\.powerPreference +"low-power" +\(code\)/);
  assert.match(cfg.explain(), /runtime\.validate +true +\(default\)/);
  const e = cfg.entries().find((x) => x.key === FUSION)!;
  assert.deepEqual(e, { ...e, value: false, source: "env", env: "WEBGPU_INDUCTOR_FUSION" });
});

Deno.test("patch restores on return, on throw, and nests", () => {
  const cfg = new Config(reader());
  assert.equal(cfg.patch({ [FUSION]: false }, () => cfg.bool(FUSION)), false);
  assert.equal(cfg.bool(FUSION), true);
  assert.throws(() =>
    cfg.patch({ [FUSION]: false }, () => {
      throw new Error("inside");
    }), /inside/);
  assert.equal(cfg.source(FUSION), "default");
  cfg.patch({ [FUSION]: false, [THREADS]: 2 }, () => {
    cfg.patch({ [THREADS]: 3 }, () => {
      assert.equal(cfg.int(THREADS), 3);
      assert.equal(cfg.bool(FUSION), false, "outer frame still visible");
    });
    assert.equal(cfg.int(THREADS), 2);
  });
  assert.deepEqual([cfg.int(THREADS), cfg.source(THREADS)], [4, "default"]);
});

Deno.test("patch restores for async fn, on resolve and on reject", async () => {
  const cfg = new Config(reader());
  const v = await cfg.patch({ [THREADS]: 2 }, async () => {
    await Promise.resolve();
    return cfg.int(THREADS);
  });
  assert.equal(v, 2);
  assert.equal(cfg.source(THREADS), "default");
  await assert.rejects(
    cfg.patch({ [THREADS]: 2 }, async () => {
      await Promise.resolve();
      assert.equal(cfg.int(THREADS), 2);
      throw new Error("async boom");
    }),
    /async boom/,
  );
  assert.equal(cfg.source(THREADS), "default");
});

Deno.test("a patch with a bad value changes nothing", () => {
  const cfg = new Config(reader());
  let ran = false;
  throwsConfig(() => cfg.patch({ [FUSION]: false, [THREADS]: 0 }, () => (ran = true)), /compile/);
  assert.equal(ran, false);
  assert.equal(cfg.source(FUSION), "default");
});

Deno.test("unknown keys and ill-typed values are ConfigErrors naming key and accepted values", () => {
  const cfg = new Config(reader());
  throwsConfig(
    () => cfg.get("inductor.fuse"),
    /'inductor\.fuse'/,
    /known keys: .*inductor\.fusion/,
  );
  throwsConfig(() => cfg.set("nope.key", 1), /'nope\.key'/);
  throwsConfig(() => cfg.set(FUSION, "yes"), /'inductor\.fusion'/, /a boolean/, /"yes"/);
  throwsConfig(() => cfg.set(THREADS, 0), /'inductor\.compileThreads'/, /integer >= 1/);
  throwsConfig(() => cfg.set(THREADS, 1.5), /integer >= 1/);
  throwsConfig(
    () => cfg.set("runtime.powerPreference", "fast"),
    /'runtime\.powerPreference'/,
    /"high-performance", "low-power", "default"/,
  );
  throwsConfig(() => cfg.set("inductor.compileSizes", [1, "2"]), /array of integers >= 1/);
  throwsConfig(() => cfg.int(FUSION), /'inductor\.fusion' is bool, not int/);
  throwsConfig(() => cfg.str(THREADS), /not a string/);
});

Deno.test("bad env values are ConfigErrors naming the variable, key and accepted values", () => {
  throwsConfig(
    () => new Config(reader({ WEBGPU_INDUCTOR_FUSION: "maybe" })),
    /WEBGPU_INDUCTOR_FUSION="maybe"/,
    /'inductor\.fusion'/,
    /1, 0, true, false/,
  );
  throwsConfig(
    () => new Config(reader({ WEBGPU_INDUCTOR_POWER_PREFERENCE: "fast" })),
    /WEBGPU_INDUCTOR_POWER_PREFERENCE/,
    /high-performance, low-power, default/,
  );
  throwsConfig(
    () => new Config(reader({ TORCHINDUCTOR_COMPILE_THREADS: "two" })),
    /TORCHINDUCTOR_COMPILE_THREADS="two"/,
    /'inductor\.compileThreads'/,
    /integer >= 1/,
  );
  throwsConfig(() => new Config(reader({ WEBGPU_INDUCTOR_COMPILE_THREADS: "0" })), /integer >= 1/);
  throwsConfig(() => new Config(reader({ WEBGPU_INDUCTOR_COMPILE_SIZES: "1,x" })), /COMPILE_SIZES/);
});

Deno.test("env parsing of lists and aliases", () => {
  const cfg = new Config(reader({
    WEBGPU_INDUCTOR_COMPILE_SIZES: " 1, 2,8 ",
    TORCHINDUCTOR_COMPILE_THREADS: "3",
    WEBGPU_INDUCTOR_DISABLE_PATCHES: " A,B ",
  }));
  assert.deepEqual(cfg.ints("inductor.compileSizes"), [1, 2, 8]);
  assert.deepEqual([cfg.int(THREADS), cfg.source(THREADS)], [3, "env"]);
  assert.equal(cfg.str("patches.disable"), "A,B");
  const both = new Config(reader({
    WEBGPU_INDUCTOR_COMPILE_THREADS: "5",
    TORCHINDUCTOR_COMPILE_THREADS: "3",
  }));
  assert.equal(both.int(THREADS), 5, "the primary name wins over the alias");
  const spec: KnobSpec = { key: "x.list", type: "string[]", default: [], env: "X", doc: "" };
  assert.deepEqual(parseEnvValue(spec, "a, b,,c"), ["a", "b", "c"]);
  assert.deepEqual(parseEnvValue(spec, ""), []);
});

Deno.test("registerKey reads its env; unregisterKey removes every layer", () => {
  const key = "inductor.customShouldPartitionOps";
  const cfg = new Config(reader({ WEBGPU_INDUCTOR_CUSTOM_PARTITION_OPS: "mylib::baz" }));
  assert.equal(cfg.has(key), false);
  const spec: KnobSpec = {
    key,
    type: "string[]",
    default: [],
    env: "WEBGPU_INDUCTOR_CUSTOM_PARTITION_OPS",
    doc: "ops that split partitions",
  };
  cfg.registerKey(spec);
  assert.deepEqual([cfg.strings(key), cfg.source(key)], [["mylib::baz"], "env"]);
  throwsConfig(() => cfg.registerKey(spec), /already registered/);
  cfg.set(key, ["a"]);
  cfg.unregisterKey(key);
  assert.equal(cfg.has(key), false);
  throwsConfig(() => cfg.get(key), /unknown config key/);
  throwsConfig(() => cfg.unregisterKey(key), /unknown config key/);
  cfg.registerKey({ ...spec, env: "UNSET_VAR" });
  assert.deepEqual([cfg.strings(key), cfg.source(key)], [[], "default"], "no stale code value");
  throwsConfig(() => cfg.registerKey({ ...spec, key: "bad" }), /section\.key/);
  throwsConfig(() => cfg.registerKey({ ...spec, key: "x.y", default: 3 }), /schema default/);
});

Deno.test("update validates every key before changing any", () => {
  const cfg = new Config(reader());
  throwsConfig(() => cfg.update({ [FUSION]: false, [THREADS]: -1 }), /compileThreads/);
  throwsConfig(() => cfg.update({ [FUSION]: false, "no.key": 1 }), /'no\.key'/);
  assert.equal(cfg.source(FUSION), "default");
  cfg.update({ [FUSION]: false, [THREADS]: 2 });
  assert.deepEqual([cfg.bool(FUSION), cfg.int(THREADS), cfg.source(THREADS)], [false, 2, "code"]);
});

Deno.test("array values are copied in and out", () => {
  const cfg = new Config(reader());
  const sizes = [1, 2];
  cfg.set("inductor.compileSizes", sizes);
  sizes.push(3);
  const got = cfg.ints("inductor.compileSizes");
  got.push(4);
  assert.deepEqual(cfg.ints("inductor.compileSizes"), [1, 2]);
});

Deno.test("browser sources: WEBGPU_INDUCTOR_ENV global, then the URL query", () => {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  const saved = Object.getOwnPropertyDescriptor(globalThis, "location");
  try {
    g.WEBGPU_INDUCTOR_ENV = { WEBGPU_INDUCTOR_FUSION: "0", WEBGPU_INDUCTOR_COMPILE_THREADS: 2 };
    Object.defineProperty(globalThis, "location", {
      value: { search: "?WEBGPU_INDUCTOR_FUSION=1&WEBGPU_INDUCTOR_DEBUG=1" },
      configurable: true,
      writable: true,
    });
    const read = defaultEnvReader();
    assert.equal(read("WEBGPU_INDUCTOR_FUSION"), "0", "the global outranks the query");
    assert.equal(read("WEBGPU_INDUCTOR_COMPILE_THREADS"), "2");
    assert.equal(read("WEBGPU_INDUCTOR_DEBUG"), "1");
    const cfg = new Config(read);
    assert.deepEqual([cfg.bool(FUSION), cfg.bool("inductor.debug")], [false, true]);
    assert.equal(cfg.source("inductor.debug"), "env");
  } finally {
    delete g.WEBGPU_INDUCTOR_ENV;
    if (saved) Object.defineProperty(globalThis, "location", saved);
    else delete g.location;
  }
});

Deno.test("Deno.env is read only with env permission; without it: no prompt, no throw", async () => {
  const configUrl = new URL("../src/config.ts", import.meta.url).href;
  const src = `import { config } from ${JSON.stringify(configUrl)};
console.log(JSON.stringify([config.bool("inductor.fusion"), config.source("inductor.fusion")]));`;
  const env = { WEBGPU_INDUCTOR_FUSION: "0" };
  const [denied, granted, scoped] = await Promise.all([
    runDenoScript(src, ["--allow-read"], env),
    runDenoScript(src, ["--allow-read", "--allow-env"], env),
    runDenoScript(src, ["--allow-read", "--allow-env=WEBGPU_INDUCTOR_FUSION"], env),
  ]);
  assert.equal(denied.code, 0, denied.stderr);
  assert.equal(denied.stderr, "", "no prompt or warning");
  assert.deepEqual(JSON.parse(denied.stdout), [true, "default"]);
  assert.equal(granted.code, 0, granted.stderr);
  assert.deepEqual(JSON.parse(granted.stdout), [false, "env"]);
  assert.equal(scoped.code, 0, scoped.stderr);
  assert.deepEqual(JSON.parse(scoped.stdout), [false, "env"], "per-variable grants work");
});
