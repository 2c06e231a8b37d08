// `deno task demo`: trace a small transformer decoder block, compile it eager and fused, run both
// on WebGPU, and print the adapter, kernel counts, timings, memory and max error vs the
// float64 reference.
import { compile, getDevice, interpret } from "../src/mod.ts";
import { decoderData, decoderFn, decoderInputs, SMALL_DECODER } from "../src/models/decoder.ts";

const cfg = { ...SMALL_DECODER };
const h = await getDevice();
console.log(`adapter: ${h.info}`);
console.log(
  `model: decoder block, batch ${cfg.batch} x seq ${cfg.seq}, dim ${cfg.dim}, ${cfg.heads} heads, ` +
    `SwiGLU hidden ${cfg.hidden}, ${cfg.layers} layer(s)`,
);
const inputs = decoderData(cfg, 42);
const fn = decoderFn(cfg);
const specs = decoderInputs(cfg);

let expected: Float32Array | null = null;
for (const mode of ["eager", "default"] as const) {
  const t0 = performance.now();
  const cg = compile(fn, { inputs: specs, mode });
  await cg.prepare();
  const tCompile = performance.now() - t0;
  if (!expected) expected = interpret(cg.graph, inputs)[0] as Float32Array;
  await cg.run(inputs); // warm-up
  const times: number[] = [];
  let out: Float32Array | null = null;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    out = (await cg.run(inputs))[0] as Float32Array;
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  // device-only: 21 replays minus 1 (a queue wait has a fixed cost of its own)
  const one = await cg.timeDevice(1);
  const dev = Math.max(0, ((await cg.timeDevice(21)) * 21 - one) / 20);
  let err = 0;
  for (let i = 0; i < out!.length; i++) err = Math.max(err, Math.abs(out![i] - expected[i]));
  const st = cg.stats;
  console.log(
    `${mode.padEnd(7)}  kernels ${String(st.kernels).padStart(3)}  compile ${
      tCompile.toFixed(0)
    } ms  ` +
      `run median ${times[2].toFixed(2)} ms (device ${
        dev.toFixed(2)
      } ms)  memory planned ${st.peakBytes} B ` +
      `(all intermediates ${st.unplannedBytes} B)  max |err| ${err.toExponential(2)}`,
  );
  if (Deno.args.includes("--explain")) console.log(cg.explain());
  cg.dispose();
}
