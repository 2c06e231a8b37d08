// The host-to-host floor of this runtime and adapter: what any system pays per call before its
// kernels, measured with raw WebGPU (no library code in the timed paths). A queue wait (an empty
// submit and onSubmittedWorkDone; a 4-byte copy and mapAsync), and for a payload of MiB: the
// upload (queue.writeBuffer), the readback (a copy into a MAP_READ buffer, mapAsync, and the
// mapped range kept by slice or by transfer; or, as our runtime reads in Deno, a reused buffer
// whose range is taken before the map promise settles), and both in a row (upload, copy, read back: a
// call whose kernel is free). Medians of wall and process CPU milliseconds (CPU time includes
// the adapter's threads when it runs on the CPU, as lavapipe does, and moves less than wall time
// on a busy machine). Standalone (no project imports): `deno run -A bench/floor.ts [--mib 64]
// [--reps 7] [--json FILE]`.
import process from "node:process";

const arg = (name: string, dflt: number) => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : dflt;
};
const mib = arg("--mib", 64);
const reps = arg("--reps", 7);
const jsonAt = Deno.args.indexOf("--json");

const adapter = await navigator.gpu.requestAdapter();
if (!adapter) throw new Error("floor: no WebGPU adapter");
const dev = await adapter.requestDevice({
  requiredLimits: {
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
  },
});
const info = adapter.info.description || adapter.info.device || adapter.info.vendor;
const q = dev.queue;
const bytes = mib << 20;
const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const READ = GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;

const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

interface Floor {
  what: string;
  wall_ms: number;
  cpu_ms: number;
  min_ms: number;
}
const rows: Floor[] = [];

/** One warm-up, then `reps` timed calls. */
async function measure(what: string, fn: () => Promise<unknown> | unknown): Promise<void> {
  await fn();
  const wall: number[] = [], cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c = cpuMs(), t = performance.now();
    await fn();
    wall.push(performance.now() - t);
    cpu.push(cpuMs() - c);
  }
  const r = { what, wall_ms: median(wall), cpu_ms: median(cpu), min_ms: Math.min(...wall) };
  rows.push(r);
  console.log(
    `${what.padEnd(52)} wall ${r.wall_ms.toFixed(1).padStart(7)}  cpu ${
      r.cpu_ms.toFixed(1).padStart(7)
    }  min ${r.min_ms.toFixed(1).padStart(7)} ms`,
  );
}

function copy(src: GPUBuffer, dst: GPUBuffer, size: number): void {
  const enc = dev.createCommandEncoder();
  enc.copyBufferToBuffer(src, 0, dst, 0, size);
  q.submit([enc.finish()]);
}

/** Copies `src` into a new MAP_READ buffer, maps it and keeps its bytes. */
async function readBack(src: GPUBuffer, size: number, keep: "slice" | "transfer") {
  const st = dev.createBuffer({ size, usage: READ });
  copy(src, st, size);
  await st.mapAsync(GPUMapMode.READ);
  const range = st.getMappedRange();
  const out = keep === "slice"
    ? range.slice(0)
    : (range as ArrayBuffer & { transfer(): ArrayBuffer }).transfer();
  st.unmap();
  st.destroy();
  return out;
}

/** What src/runtime/staging.ts does in Deno, in raw WebGPU: MAP_READ buffers reused across reads;
 * on one mapped before (Deno's map mode is set) the range is taken right after mapAsync()
 * returns — Deno maps before it returns and settles the promise 10 ms later — and the buffer is
 * unmapped once the promise settles. */
const warm = new Set<GPUBuffer>();
const idle: GPUBuffer[] = [];
async function readEarly(src: GPUBuffer, size: number): Promise<ArrayBuffer> {
  const i = idle.findIndex((b) => b.size === size);
  const st = i >= 0 ? idle.splice(i, 1)[0] : dev.createBuffer({ size, usage: READ });
  copy(src, st, size);
  const p = st.mapAsync(GPUMapMode.READ);
  const take = () => (st.getMappedRange() as ArrayBuffer & { transfer(): ArrayBuffer }).transfer();
  if (warm.has(st)) {
    const out = take();
    p.then(() => (st.unmap(), idle.push(st)));
    return out;
  }
  await p;
  warm.add(st);
  const out = take();
  st.unmap();
  idle.push(st);
  return out;
}

console.log(`adapter: ${info}; payload ${mib} MiB, ${reps} repetitions`);
const tiny = dev.createBuffer({ size: 4, usage: STORAGE });
await measure("empty submit + onSubmittedWorkDone", async () => {
  q.submit([dev.createCommandEncoder().finish()]);
  await q.onSubmittedWorkDone();
});
await measure("4-byte copy + mapAsync (one round trip)", () => readBack(tiny, 4, "transfer"));
await measure("4-byte copy, range taken at mapAsync's return", () => readEarly(tiny, 4));

const host = new Float32Array(bytes / 4);
for (let i = 0; i < host.length; i++) host[i] = i;
const a = dev.createBuffer({ size: bytes, usage: STORAGE });
const b = dev.createBuffer({ size: bytes, usage: STORAGE });
const dst = new Float32Array(bytes / 4);
await measure(`host copy ${mib} MiB into a reused array`, () => dst.set(host));
await measure(`host copy ${mib} MiB into a new array (slice)`, () => host.slice());
await measure(`upload ${mib} MiB: writeBuffer + wait`, async () => {
  q.writeBuffer(a, 0, host);
  await q.onSubmittedWorkDone();
});
await measure(`read back ${mib} MiB: mapped range sliced`, () => readBack(a, bytes, "slice"));
await measure(
  `read back ${mib} MiB: mapped range transferred`,
  () => readBack(a, bytes, "transfer"),
);
await measure(`read back ${mib} MiB: reused buffer, range taken early`, () => readEarly(a, bytes));
for (const early of [false, true]) {
  await measure(
    `h2h floor ${mib} MiB in and out${early ? ", staged read" : " (upload, copy, read back)"}`,
    async () => {
      q.writeBuffer(a, 0, host);
      copy(a, b, bytes);
      const out = new Float32Array(
        early ? await readEarly(b, bytes) : await readBack(b, bytes, "transfer"),
      );
      if (out[host.length - 1] !== host[host.length - 1]) {
        throw new Error("floor: wrong bytes back");
      }
    },
  );
}
await new Promise((r) => setTimeout(r, 50)); // let the early reads' maps settle
for (const x of [tiny, a, b, ...idle]) x.destroy();
if (jsonAt >= 0) {
  await Deno.writeTextFile(
    Deno.args[jsonAt + 1],
    JSON.stringify({ device: info, mib, reps, rows }, null, 2),
  );
}
