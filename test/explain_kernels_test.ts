// What you see is what runs: compile() generates kernels before any adapter is known, and
// prepare() regenerates them for the adapter it gets (f16 storage, reduction workgroup and
// combine, matmul template). explain() (and inductor.debug at prepare) must show the kernels
// compiled into pipelines, with the adapter and paths they were chosen for. A device that records
// every shader module it compiles checks that against explain().
import assert from "node:assert/strict";
import { compile, getDevice, interpret } from "../src/mod.ts";
import { resetDevice, setGPUForTesting } from "../src/runtime/device.ts";
import { assertClose, LOOSE } from "./helpers.ts";
import { gpuHiding } from "./gpu_fakes.ts";

/** navigator.gpu whose devices record the WGSL of every shader module they create. */
function recordingGPU(seen: string[]): GPU {
  const real = navigator.gpu;
  return {
    requestAdapter: async (o?: GPURequestAdapterOptions) => {
      const a = await real.requestAdapter(o);
      if (!a) return null;
      return new Proxy(a, {
        get(t, p) {
          if (p === "requestDevice") {
            return async (d?: GPUDeviceDescriptor) => {
              const dev = await t.requestDevice(d);
              return new Proxy(dev, {
                get(dt, dp) {
                  if (dp === "createShaderModule") {
                    return (m: GPUShaderModuleDescriptor) => {
                      seen.push(m.code);
                      return dt.createShaderModule(m);
                    };
                  }
                  const v = Reflect.get(dt, dp);
                  return typeof v === "function" ? v.bind(dt) : v;
                },
                set(dt, dp, v) {
                  return Reflect.set(dt, dp, v);
                },
              });
            };
          }
          const v = Reflect.get(t, p);
          return typeof v === "function" ? v.bind(t) : v;
        },
      });
    },
    getPreferredCanvasFormat: () => real.getPreferredCanvasFormat(),
  } as unknown as GPU;
}

/** WGSL blocks of explain()'s kernel section. */
function explainedKernels(text: string): string[] {
  const section = text.slice(text.indexOf("kernels as "));
  return section.split(/\n\/\/ ---- \S+\n/).slice(1).map((s) => s.trim());
}

// a long-row reduction (softmax over 300) and a matmul: both change with the adapter's target
const build = (config: Record<string, unknown> = {}) =>
  compile((x, w) => x.softmax(-1).matmul(w).relu(), {
    inputs: [{ shape: [4, 300] }, { shape: [300, 6] }],
    config,
  });

Deno.test("before prepare(), explain() shows the compile-time kernels and says so", async () => {
  const cg = build();
  try {
    const text = cg.explain();
    assert.match(text, /kernels as compiled, not yet prepared for an adapter/);
    assert.match(text, /adapter: none \(compile time/);
    assert.equal(cg.target.adapter.startsWith("none"), true);
    const wgsl = explainedKernels(text);
    assert.equal(wgsl.length, cg.stats.kernels);
    assert.ok(wgsl.some((w) => w.includes("@workgroup_size(256)")), "compile-time reduction WG");
  } finally {
    await cg.disposeAsync();
  }
});

Deno.test("after prepare(), explain() shows exactly the WGSL compiled for the adapter", async () => {
  const seen: string[] = [];
  setGPUForTesting(recordingGPU(seen));
  // register template: CPU-adapter kernels (reduction workgroups of 64), whatever the adapter
  const cg = build({ "inductor.matmulTemplate": "register" });
  try {
    await cg.prepare();
    const h = await getDevice();
    const text = cg.explain();
    assert.match(text, /kernels as prepared for the adapter/);
    assert.ok(text.includes(`adapter: ${h.info};`), `adapter ${h.info} not named`);
    assert.match(text, h.hasF16 ? /f16 storage: native/ : /f16 storage: emulated/);
    assert.match(text, /matmul template: register/);
    const shown = explainedKernels(text);
    const compiled = new Set(seen.map((s) => s.trim()));
    assert.equal(shown.length, cg.stats.kernels);
    for (const w of shown) {
      assert.ok(compiled.has(w), `explain() shows a kernel never compiled:\n${w}`);
    }
    assert.equal(compiled.size, new Set(shown).size, "every compiled kernel is shown");
    assert.ok(shown.some((w) => w.includes("@workgroup_size(64)")));
    assert.ok(!shown.some((w) => w.includes("@workgroup_size(256)")), "compile-time WG left");
    const brief = cg.explain({ wgsl: false });
    assert.ok(brief.includes(`kernels as prepared for the adapter (adapter: ${h.info};`));
    assert.doesNotMatch(brief, /@compute/);
    // and those kernels compute the right thing
    const x = new Float32Array(1200).map((_, i) => Math.sin(i));
    const w = new Float32Array(1800).map((_, i) => Math.cos(i) * 10);
    const [got] = await cg.run([x, w]);
    assertClose(got, interpret(cg.graph, [x, w])[0], LOOSE, "softmax @ w");
  } finally {
    await cg.disposeAsync();
    setGPUForTesting(undefined);
    resetDevice();
  }
});

Deno.test("inductor.debug prints the prepared kernels with their adapter at prepare()", async () => {
  const logged: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => logged.push(a.map(String).join(" "));
  const cg = build({ "inductor.debug": true });
  try {
    await cg.prepare();
  } finally {
    console.log = log;
    await cg.disposeAsync();
  }
  assert.match(logged[0], /compile-time WGSL \(prepare\(\) regenerates it/);
  const prepared = logged.find((l) => l.startsWith("kernels as prepared for the adapter"));
  assert.ok(prepared, `nothing printed at prepare: ${logged.length} block(s)`);
  assert.equal(explainedKernels(prepared).length, cg.stats.kernels);
});

Deno.test("graphs sharing a compiled program keep their own adapter's kernels", async () => {
  const inputs = [{ shape: [3, 40], dtype: "f16" as const }];
  const a = compile((x) => x.softmax(-1), { inputs });
  const b = compile((x) => x.softmax(-1), { inputs }); // a compile-cache hit: same program
  assert.equal(a.program, b.program);
  try {
    await a.prepare();
    const realF16 = (await getDevice()).hasF16;
    setGPUForTesting(gpuHiding(["shader-f16"]));
    await b.prepare();
    assert.equal(a.target.f16, realF16 ? "native" : "emulated");
    assert.equal(b.target.f16, "emulated");
    assert.equal(/enable f16/.test(a.explain()), realF16);
    assert.doesNotMatch(b.explain(), /enable f16/);
    const x = new Float16Array(120).map((_, i) => Math.sin(i) * 3);
    const [got] = await b.run([x], { poison: true });
    assertClose(got, interpret(b.graph, [x])[0], { atol: 3e-3, rtol: 3e-3 }, "softmax f16");
  } finally {
    await a.disposeAsync();
    await b.disposeAsync();
    setGPUForTesting(undefined);
    resetDevice();
  }
});
