// Shared by the PyTorch export tests: /usr/bin/python3 (Debian's python3-torch), the repository
// root, and the skip notice when torch is missing.
export const PY = "/usr/bin/python3";
export const ROOT = new URL("..", import.meta.url).pathname;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args` in the repository root and collects its output. */
export async function run(cmd: string, args: string[]): Promise<Run> {
  const out = await new Deno.Command(cmd, { args, cwd: ROOT, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Why the torch tests cannot run (printed, loudly), or null. Found-but-broken torch is not a
 * reason: the tests then fail. */
export async function torchMissing(what: string): Promise<string | null> {
  let why: string | null;
  try {
    const r = await run(PY, [
      "-c",
      "import importlib.util as u; print(u.find_spec('torch') is not None)",
    ]);
    why = r.stdout.trim() === "True" ? null : `${PY} has no torch module`;
  } catch (e) {
    why = `${PY} cannot run (${(e as Error).message})`;
  }
  if (why) {
    console.log(
      `%cSKIPPING ${what}: ${why}. Install Debian's python3-torch ` +
        `(apt-get install -y --no-install-recommends python3-torch) to run them.`,
      "color: yellow; font-weight: bold",
    );
  }
  return why;
}
