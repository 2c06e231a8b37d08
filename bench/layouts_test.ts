// The layout sweep's pure parts: its command line and its table. `deno test -A
// bench/layouts_test.ts` (no GPU needed).
import assert from "node:assert/strict";
import { DEFAULT_LAYOUTS, type SweepRow } from "./layout_sweep.ts";
import { formatSweep, parseLayoutArgs } from "./layouts.ts";

Deno.test("layouts CLI: defaults, lists, --flag=value, bad input named", () => {
  const d = parseLayoutArgs([]);
  assert.deepEqual(d, {
    browser: false,
    quick: false,
    only: null,
    layouts: DEFAULT_LAYOUTS,
    rounds: 5,
    json: null,
  });
  assert.ok(DEFAULT_LAYOUTS.includes("auto"));
  const o = parseLayoutArgs([
    "--browser",
    "--only",
    "softmax, rmsnorm",
    "--layouts=auto,16x1x4",
    "--rounds",
    "7",
    "--json",
    "x.json",
  ]);
  assert.equal(o.browser, true);
  assert.deepEqual(o.only, ["softmax", "rmsnorm"]);
  assert.deepEqual(o.layouts, ["auto", "16x1x4"]);
  assert.equal(o.rounds, 7);
  assert.equal(o.json, "x.json");
  assert.throws(() => parseLayoutArgs(["--rounds", "0"]), /--rounds must be a positive integer/);
  assert.throws(() => parseLayoutArgs(["--only"]), /--only needs a value/);
  assert.throws(() => parseLayoutArgs(["--fast"]), /unknown argument '--fast'/);
});

Deno.test("layouts table: median per layout and its speed-up over auto; failures noted", () => {
  const r = (layout: string, rounds: number[], note?: string): SweepRow => ({
    workload: "softmax-4096x1024",
    layout,
    device_ms: NaN,
    rounds,
    explain: "",
    ...(note ? { note } : {}),
  });
  const auto = r("auto", [12, 10, 30]);
  auto.device_ms = 12;
  const serial = r("serial", [6, 5, 7]);
  serial.device_ms = 6;
  const lines = formatSweep([auto, serial, r("tree", [], "error 1.0e+0")]).split("\n");
  assert.match(lines[1], /auto\s+12\.00\s+1\.00x\s+12\.0 10\.0 30\.0$/);
  assert.match(lines[2], /serial\s+6\.00\s+2\.00x/);
  assert.match(lines[3], /tree\s+-\s+error 1\.0e\+0$/);
});
