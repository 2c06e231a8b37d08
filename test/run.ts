// The test command (`deno task test`): format, lint and type checks, then every test file, and a
// final summary line `tests: N passed, N failed` (CI reads it). Extra args go to `deno test`
// (e.g. `deno task test --filter softmax`).
const deno = Deno.execPath();
// lavapipe's Vulkan loader warns on every start without it
const env: Record<string, string> = { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp" };

async function step(
  name: string,
  args: string[],
  capture = false,
): Promise<{ ok: boolean; out: string }> {
  console.log(`\n== ${name}: deno ${args.join(" ")}`);
  const p = new Deno.Command(deno, {
    args,
    env,
    stdout: capture ? "piped" : "inherit",
    stderr: capture ? "piped" : "inherit",
  }).spawn();
  if (!capture) return { ok: (await p.status).success, out: "" };
  let out = "";
  const dec = new TextDecoder();
  const pump = async (s: ReadableStream<Uint8Array>, w: (b: Uint8Array) => void) => {
    for await (const chunk of s) {
      out += dec.decode(chunk, { stream: true });
      w(chunk);
    }
  };
  await Promise.all([
    pump(p.stdout, (b) => Deno.stdout.writeSync(b)),
    pump(p.stderr, (b) => Deno.stderr.writeSync(b)),
  ]);
  return { ok: (await p.status).success, out };
}

let passed = 0;
let failed = 0;
const skipChecks = Deno.args.includes("--no-check");
const extra = Deno.args.filter((a) => a !== "--no-check");
if (!skipChecks) {
  for (
    const [name, args] of [
      ["format", ["fmt", "--check"]],
      ["lint", ["lint"]],
      ["type check", ["check", "src/", "test/", "bench/", "demo/", "build.ts"]],
    ] as const
  ) {
    const r = await step(name, [...args]);
    if (r.ok) passed++;
    else failed++;
  }
}
const r = await step("tests", [
  "test",
  "-A",
  "--parallel",
  ...extra,
  ...(extra.some((a) => !a.startsWith("-")) ? [] : ["test/"]),
], true);
// deno test's summary: "ok | 12 passed (340 steps) | 0 failed (2 steps) (31s)"
// deno-lint-ignore no-control-regex
const plain = r.out.replace(/\x1b\[[0-9;]*m/g, "");
const m = plain.match(
  /\|\s*(\d+) passed(?: \((\d+) steps?\))? \|\s*(\d+) failed(?: \((\d+) steps?\))?/,
);
if (m) {
  passed += Number(m[1]) + Number(m[2] ?? 0);
  failed += Number(m[3]) + Number(m[4] ?? 0);
} else {
  failed++; // the runner died before its summary
}
// deno test can exit non-zero after its summary for reasons outside the tests: glibc aborting on
// heap corruption while Deno tears down wgpu/lavapipe ("corrupted size vs. prev_size", seen about
// once in eight runs here, after every test had passed). Say so rather than count a failure.
const teardownCrash = /corrupted size vs\. prev_size|double free or corruption|malloc\(\): /.test(
  plain,
);
if (!r.ok && m && Number(m[3]) === 0) {
  if (teardownCrash) {
    console.log(
      "\nnote: deno exited abnormally after all tests passed (glibc heap-corruption abort during " +
        "process teardown, outside the tests); not counted as a failure",
    );
  } else failed++; // failed for another reason (e.g. a type error)
}
console.log(`\ntests: ${passed} passed, ${failed} failed`);
Deno.exit(failed === 0 ? 0 : 1);
