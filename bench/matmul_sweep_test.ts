// bench/matmul_sweep.ts's pure parts (no GPU): config names, the candidate list, row format.
// `deno test -A bench/matmul_sweep_test.ts`
import assert from "node:assert/strict";
import { CANDIDATES, configName, formatRow } from "./matmul_sweep.ts";

Deno.test("config names say template, tile and registers per invocation", () => {
  assert.equal(
    configName({ kind: "register", tileM: 128, tileN: 128, tileK: 4, threadM: 16, threadN: 32 }),
    "rg128x128x4-16x32",
  );
  assert.equal(
    configName({
      kind: "shared",
      tileM: 64,
      tileN: 64,
      tileK: 16,
      threadM: 4,
      threadN: 4,
      pipelined: true,
    }),
    "sh64x64x16-4x4-p",
  );
  // every candidate has a distinct name and at most 256 invocations per workgroup
  const names = CANDIDATES.map(configName);
  assert.equal(new Set(names).size, names.length);
  for (const c of CANDIDATES) {
    assert.ok((c.tileM / c.threadM) * (c.tileN / c.threadN) <= 256, configName(c));
  }
});

Deno.test("a row reads median ms, GFLOP/s and the sorted rounds", () => {
  const line = formatRow({
    workload: "matmul-1024",
    kernel: "k0_matmul",
    variant: "default",
    flop: 2e9,
    rounds: [600, 500, 700],
  });
  assert.match(line, /600\.000 ms +3\.33 GFLOP\/s +\[500\.00 600\.00 700\.00\]/);
  const failed = formatRow({
    workload: "d",
    kernel: "k1",
    variant: "rg16x16x4-4x4",
    flop: 0,
    rounds: [],
    note: "error: x",
  });
  assert.match(failed, / - ms .*error: x$/);
});
