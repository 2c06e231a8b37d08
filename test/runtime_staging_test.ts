// Readback staging (src/runtime/staging.ts): cached MAP_READ buffers, reads taken as soon as the
// queue is idle in Deno, and never a stale or shared byte.
import assert from "node:assert/strict";
import { compile } from "../src/mod.ts";
import { config } from "../src/config.ts";
import {
  destroyBuffer,
  download,
  liveBuffers,
  upload,
  writeBuffer,
} from "../src/runtime/buffers.ts";
import { getDevice } from "../src/runtime/device.ts";
import { releaseStaging, stagingStats } from "../src/runtime/staging.ts";
import { getRawStream } from "../src/runtime/stream.ts";
import { f32, freshSeed, randomArray, rng } from "./helpers.ts";

const settle = () => new Promise((r) => setTimeout(r, 40)); // Deno's map promise settles in ~10 ms

Deno.test("staged reads return the bytes written just before, and reuse warm buffers early", async () => {
  const h = await getDevice();
  releaseStaging(h);
  const seed = freshSeed();
  const r = rng(seed);
  const n = 3000;
  const b = upload(h, new Float32Array(n).fill(NaN), "f32", "staged");
  const s0 = stagingStats(h);
  for (let i = 0; i < 6; i++) {
    const want = randomArray([n], "f32", r, -1e3, 1e3) as Float32Array;
    writeBuffer(h, b, want, "f32");
    const got = await download(h, b, "f32", n);
    assert.deepEqual([...got], [...want], `read ${i} (seed ${seed})`);
    await settle();
  }
  const s1 = stagingStats(h);
  assert.equal(s1.reads - s0.reads, 6);
  // The first read maps a new buffer and waits for its promise; later ones reuse it (Deno's
  // map mode is set) and read before the promise settles.
  assert.equal(s1.earlyReads - s0.earlyReads, 5, "every read after the first is early in Deno");
  assert.equal(s1.buffers, 1, "one cached buffer served all six reads");
  assert.equal(s1.bytes, 16384, "12000 bytes use the 16 KiB size class");
  destroyBuffer(b);
});

Deno.test("concurrent staged reads of many buffers each get their own bytes", async () => {
  const h = await getDevice();
  const seed = freshSeed();
  const r = rng(seed);
  const sizes = [1, 7, 64, 1000, 1023, 4096, 5000, 70000];
  for (let round = 0; round < 3; round++) {
    const wants = sizes.map((n) => randomArray([n], "f32", r, -5, 5) as Float32Array);
    const bufs = wants.map((w, i) => upload(h, w, "f32", `c${i}`));
    const gots = await Promise.all(bufs.map((b, i) => download(h, b, "f32", sizes[i])));
    gots.forEach((g, i) =>
      assert.deepEqual([...g], [...wants[i]], `round ${round} size ${sizes[i]}`)
    );
    // rewrite and read again at once: a cached buffer still mapped must not be handed out
    const again = wants.map((w) => w.map((v) => -v));
    bufs.forEach((b, i) => writeBuffer(h, b, again[i], "f32"));
    const gots2 = await Promise.all(bufs.map((b, i) => download(h, b, "f32", sizes[i])));
    gots2.forEach((g, i) =>
      assert.deepEqual([...g], [...again[i]], `rewrite ${round} ${sizes[i]}`)
    );
    bufs.forEach(destroyBuffer);
  }
});

Deno.test("runtime.readbackCacheBytes bounds the cache; 0 keeps nothing; staging is not in liveBuffers", async () => {
  const h = await getDevice();
  const b = upload(h, new Float32Array(1 << 16).fill(2), "f32", "cap");
  const live = liveBuffers(h).count;
  assert.equal((await download(h, b, "f32", 1 << 16))[5], 2);
  await settle();
  assert.ok(stagingStats(h).buffers >= 1, "a cached buffer before the cap drops to 0");
  await config.patch({ "runtime.readbackCacheBytes": 0 }, async () => {
    const s0 = stagingStats(h);
    for (let i = 0; i < 3; i++) {
      assert.equal((await download(h, b, "f32", 1 << 16))[5], 2);
      await settle();
    }
    const s1 = stagingStats(h);
    assert.equal(s1.buffers, 0, "the lowered cap emptied the cache at the next read");
    assert.equal(s1.earlyReads, s0.earlyReads, "no reuse, so no early read");
  });
  await config.patch({ "runtime.readbackCacheBytes": 300 * 1024 }, async () => {
    // 256 KiB reads fit once: a second concurrent one is dropped after use
    await Promise.all([download(h, b, "f32", 1 << 16), download(h, b, "f32", 1 << 16)]);
    await settle();
    assert.equal(stagingStats(h).bytes, 256 * 1024);
  });
  assert.equal(liveBuffers(h).count, live, "staging buffers are a cache, not live buffers");
  releaseStaging(h);
  assert.deepEqual([stagingStats(h).buffers, stagingStats(h).bytes], [0, 0]);
  destroyBuffer(b);
});

Deno.test("a compiled graph read back every call gets each call's result, early reads included", async () => {
  const h = await getDevice();
  const seed = freshSeed();
  const r = rng(seed);
  const cg = compile((x) => x.mul(3).add(1), { inputs: [f32(64, 33)] });
  const s0 = stagingStats(h);
  for (let i = 0; i < 8; i++) {
    const x = randomArray([64, 33], "f32", r, -10, 10) as Float32Array;
    const [y] = await cg.run([x]) as Float32Array[];
    for (let j = 0; j < x.length; j++) {
      const want = Math.fround(Math.fround(x[j] * 3) + 1);
      if (y[j] !== want) assert.fail(`call ${i} element ${j}: ${y[j]} != ${want} (seed ${seed})`);
    }
    if (i % 2) await settle();
  }
  assert.ok(stagingStats(h).earlyReads - s0.earlyReads >= 3, "back-to-back calls read early");
  await cg.disposeAsync();
});

Deno.test("stream synchronize waits through a staged map: work is done when it resolves", async () => {
  const h = await getDevice();
  const s = await getRawStream();
  const src = upload(h, Float32Array.from({ length: 256 }, (_, i) => i), "f32", "sync src");
  const dst = upload(h, new Float32Array(256).fill(NaN), "f32", "sync dst");
  for (let i = 0; i < 3; i++) {
    s.copyBufferToBuffer(src, 0, dst, 0, 1024);
    const ev = s.recordEvent();
    await s.synchronize();
    assert.equal(ev.query() || (await ev.synchronize(), ev.query()), true);
    assert.equal((await download(h, dst, "f32", 256))[255], 255);
    writeBuffer(h, dst, new Float32Array(256).fill(NaN), "f32");
    await settle();
  }
  destroyBuffer(src);
  destroyBuffer(dst);
});
