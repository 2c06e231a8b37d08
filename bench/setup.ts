// Deno side of the peers: installs bench/npm's packages (npm, on the first run), bundles tfjs with
// esbuild (its Node path wants `util`, aliased to bench/peers/util_shim.ts) and loads the peers'
// modules from bench/npm/node_modules. The manifest lives in bench/npm/ (not bench/) so that
// Deno does not take a package.json as the config of the bench's own TypeScript.
import type { Loader, PeerModuleName } from "./peers/types.ts";

const BENCH = new URL(".", import.meta.url).pathname.replace(/\/$/, "");
export const NPM_DIR = `${BENCH}/npm`;
export const MODULES = `${NPM_DIR}/node_modules`;
/** Bundles (gitignored; outside bench/ so that `deno check bench/` never sees them). */
export const CACHE = new URL("../.bench-cache", import.meta.url).pathname;

async function exists(p: string): Promise<boolean> {
  return await Deno.stat(p).then(() => true, () => false);
}

/** The npm packages each peer system loads (bench/npm/package.json pins their versions). */
const PEER_PACKAGES: Record<string, string[]> = {
  "tfjs-webgpu": ["@tensorflow/tfjs-core", "@tensorflow/tfjs-backend-webgpu"],
  "jax-js": ["@jax-js/jax"],
  "jax-js-eager": ["@jax-js/jax"],
  "ort-web": ["onnxruntime-web"],
};

async function pinned(): Promise<Record<string, string>> {
  const pkg = JSON.parse(await Deno.readTextFile(`${NPM_DIR}/package.json`));
  return pkg.dependencies as Record<string, string>;
}

/** The bundle's path: named by the pinned tfjs-core version, so a version bump rebuilds it. */
async function tfjsBundlePath(platform: "deno" | "browser"): Promise<string> {
  return `${CACHE}/tfjs-${(await pinned())["@tensorflow/tfjs-core"]}.${platform}.js`;
}

/** The pinned packages that the given systems (all when omitted) need and that are missing or of
 * another version. tfjs needs no packages once its Deno bundle exists (a machine without the
 * registry, such as the GPU machine, gets the bundle carried in `.bench-cache/`). */
async function missing(systems?: string[]): Promise<string[]> {
  const pins = await pinned();
  const chosen = systems ?? Object.keys(PEER_PACKAGES);
  const names = new Set(chosen.flatMap((s) => PEER_PACKAGES[s] ?? []));
  if (chosen.includes("tfjs-webgpu") && (await exists(await tfjsBundlePath("deno")))) {
    for (const n of PEER_PACKAGES["tfjs-webgpu"]) names.delete(n);
  }
  if (!systems) names.add("semver"); // the --browser bundle's copy of the library's one import
  const out: string[] = [];
  for (const name of names) {
    const f = `${MODULES}/${name}/package.json`;
    const have = (await exists(f)) ? JSON.parse(await Deno.readTextFile(f)).version : null;
    if (have !== pins[name]) out.push(`${name}@${pins[name]}`);
  }
  return out;
}

/** `npm install --prefix bench/npm` when a pinned peer that `systems` (all when omitted) need is
 * missing. */
export async function ensurePeers(log: (s: string) => void, systems?: string[]): Promise<void> {
  const need = await missing(systems);
  if (!need.length) return;
  log(`bench: installing peers (${need.join(", ")}): npm install --prefix bench/npm`);
  const out = await new Deno.Command("npm", {
    args: ["install", "--prefix", NPM_DIR, "--no-audit", "--no-fund", "--ignore-scripts"],
    stdout: "piped",
    stderr: "piped",
  }).output().catch((e) => {
    throw new Error(`bench: cannot run npm (${e.message}); run \`npm install --prefix bench/npm\``);
  });
  if (!out.success || (await missing(systems)).length) {
    throw new Error(
      `bench: \`npm install --prefix bench/npm\` failed:\n${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

/** tfjs-core + tfjs-backend-webgpu as one ES module; `platform` "deno" aliases util. Built once
 * per pinned version (delete `.bench-cache/` to rebuild). */
export async function bundleTfjs(platform: "deno" | "browser"): Promise<string> {
  const outfile = await tfjsBundlePath(platform);
  if (await exists(outfile)) return outfile;
  // imported here, not at the top: runs without peers (--no-peers) must not need esbuild
  const esbuild = await import("esbuild");
  await Deno.mkdir(CACHE, { recursive: true });
  try {
    await esbuild.build({
      // what the @tensorflow/tfjs umbrella package gives: chained ops (x.add(y)) and the backend
      stdin: {
        contents: `export * from "@tensorflow/tfjs-core";\n` +
          `import "@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops";\n` +
          `import "@tensorflow/tfjs-backend-webgpu";\n`,
        resolveDir: MODULES,
        loader: "js",
      },
      outfile,
      bundle: true,
      format: "esm",
      platform: platform === "deno" ? "neutral" : "browser",
      mainFields: ["module", "main"],
      nodePaths: [MODULES],
      alias: platform === "deno" ? { util: `${BENCH}/peers/util_shim.ts` } : {},
      // tfjs-core's Node platform requires these lazily, only for fetch and hashing
      external: ["node-fetch", "crypto", "worker_threads", "fs", "path"],
      logLevel: "silent",
    });
  } finally {
    await esbuild.stop();
  }
  return outfile;
}

/** The Deno loader: tfjs from its bundle, jax-js and ORT straight from node_modules (ORT's
 * webgpu build finds its .wasm files next to itself). */
export function denoLoader(): Loader {
  let tfjs: Promise<string> | null = null;
  const file = (p: string) => `file://${p}`;
  return async (name: PeerModuleName) => {
    switch (name) {
      case "tfjs":
        tfjs ??= bundleTfjs("deno");
        return await import(file(await tfjs));
      case "jax":
        return await import(file(`${MODULES}/@jax-js/jax/dist/index.js`));
      case "ort":
        return await import(file(`${MODULES}/onnxruntime-web/dist/ort.webgpu.min.mjs`));
    }
  };
}
