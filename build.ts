// Browser build (`deno task build`): esbuild bundles src/mod.ts into dist/webgpu-inductor.js (ES
// module + sourcemap; types: dist/webgpu-inductor.d.ts re-exports src/mod.ts), and the demo and
// self-test pages into dist/demo/. The demo scripts import ../src/mod.ts, which the build maps to
// the library bundle, so the pages exercise exactly what a web developer ships.
//
// `npm:NAME@VERSION` specifiers in src resolve to node_modules/NAME, installed with
// `npm install --no-save` when missing or of another version. WGSL files load as text.
import * as esbuild from "esbuild";
import { gzipSync } from "node:zlib";

const ROOT = new URL(".", import.meta.url).pathname.replace(/\/$/, "");

export interface BuildOptions {
  /** Output folder (default dist/ in the repository). */
  outdir?: string;
  /** Minify the library bundle (default true; identifiers of classes and functions are kept,
   * so error names survive). */
  minify?: boolean;
  /** Print nothing. */
  quiet?: boolean;
}

export interface BuildResult {
  outdir: string;
  /** Path of the library bundle. */
  bundle: string;
  bytes: number;
  gzipBytes: number;
  /** Every file written, relative to outdir. */
  files: string[];
  ms: number;
}

const NPM_SPEC = /^npm:((?:@[^/@]+\/)?[^/@]+)@([^/]+)(\/.*)?$/;

async function installedVersion(name: string): Promise<string | null> {
  try {
    const pkg = JSON.parse(await Deno.readTextFile(`${ROOT}/node_modules/${name}/package.json`));
    return typeof pkg.version === "string" ? pkg.version : null;
  } catch {
    return null;
  }
}

let installing: Promise<void> = Promise.resolve();

/** Makes node_modules/NAME hold VERSION (serialised: npm must not run twice at once). */
function ensurePackage(name: string, version: string, quiet: boolean): Promise<void> {
  const step = installing.then(async () => {
    if ((await installedVersion(name)) === version) return;
    const args = [
      "install",
      "--no-save",
      "--no-package-lock",
      "--no-audit",
      "--no-fund",
      `${name}@${version}`,
    ];
    if (!quiet) console.log(`build: npm ${args.join(" ")}`);
    const out = await new Deno.Command("npm", { args, cwd: ROOT, stdout: "piped", stderr: "piped" })
      .output()
      .catch((e) => {
        throw new Error(
          `build: cannot run npm (${e.message}); install Node.js/npm, or run ` +
            `\`npm install --no-save ${name}@${version}\` in ${ROOT}`,
        );
      });
    if (!out.success || (await installedVersion(name)) !== version) {
      throw new Error(
        `build: \`npm ${args.join(" ")}\` in ${ROOT} failed:\n${
          new TextDecoder().decode(out.stderr)
        }`,
      );
    }
  });
  installing = step.catch(() => {});
  return step;
}

/** Resolves `npm:NAME@VERSION[/sub]` to the package in node_modules. */
function npmSpecifiers(quiet: boolean): esbuild.Plugin {
  return {
    name: "npm-specifiers",
    setup(b) {
      b.onResolve({ filter: /^npm:/ }, async (args) => {
        const m = NPM_SPEC.exec(args.path);
        if (!m) {
          return {
            errors: [{ text: `unsupported npm specifier '${args.path}' (want npm:NAME@VERSION)` }],
          };
        }
        const [, name, version, sub = ""] = m;
        await ensurePackage(name, version, quiet);
        const r = await b.resolve(name + sub, { kind: args.kind, resolveDir: ROOT });
        return r.errors.length
          ? { errors: r.errors }
          : { path: r.path, sideEffects: r.sideEffects };
      });
    },
  };
}

/** Demo scripts: ../src/mod.ts becomes the shipped bundle; any other value import from src/
 * would bundle a second copy of the library (a second config, device, patch registry), so it is
 * an error (type-only imports are erased before resolution). */
function demoUsesBundle(): esbuild.Plugin {
  return {
    name: "demo-uses-bundle",
    setup(b) {
      b.onResolve({ filter: /\/src\// }, (args) => {
        const path = new URL(args.path, `file://${args.resolveDir}/`).pathname;
        if (path === `${ROOT}/src/mod.ts`) return { path: "../webgpu-inductor.js", external: true };
        return {
          errors: [{
            text: `${args.importer} imports ${args.path}: demo code may only import values from ` +
              `src/mod.ts (the public API; the build maps it to the bundle)`,
          }],
        };
      });
    },
  };
}

const TYPES_ENTRY =
  `// Types for dist/webgpu-inductor.js: the bundle is built from src/mod.ts, so its types are
// src/mod.ts's. Deno and TypeScript (with allowImportingTsExtensions) resolve them through here.
export * from "../src/mod.ts";
`;

const INDEX_HTML = `<!doctype html>
<meta charset="utf-8">
<meta http-equiv="refresh" content="0; url=demo/">
<link rel="icon" href="data:,">
<title>webgpu-inductor</title>
<a href="demo/">webgpu-inductor demo</a>
`;

async function listFiles(dir: string, base = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const rel = base ? `${base}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await listFiles(`${dir}/${e.name}`, rel));
    else out.push(rel);
  }
  return out.sort();
}

export async function build(opts: BuildOptions = {}): Promise<BuildResult> {
  const t0 = performance.now();
  const outdir = opts.outdir ?? `${ROOT}/dist`;
  const quiet = opts.quiet ?? false;
  await Deno.remove(outdir, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${outdir}/demo`, { recursive: true });
  const common: esbuild.BuildOptions = {
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    sourcemap: true,
    loader: { ".wgsl": "text" },
    logLevel: "silent",
    absWorkingDir: ROOT,
  };
  try {
    await esbuild.build({
      ...common,
      entryPoints: { "webgpu-inductor": `${ROOT}/src/mod.ts` },
      outdir,
      minify: opts.minify ?? true,
      keepNames: true,
      legalComments: "none",
      plugins: [npmSpecifiers(quiet)],
    });
    await esbuild.build({
      ...common,
      entryPoints: [
        `${ROOT}/demo/app.ts`,
        `${ROOT}/demo/selftest.ts`,
        `${ROOT}/demo/generate_panel.ts`,
      ],
      outdir: `${outdir}/demo`,
      plugins: [demoUsesBundle()],
    });
  } catch (e) {
    const errors = (e as { errors?: esbuild.Message[] }).errors;
    if (errors?.length) {
      const msgs = await esbuild.formatMessages(errors, { kind: "error" });
      throw new Error(`build failed:\n${msgs.join("\n")}`);
    }
    throw e;
  } finally {
    await esbuild.stop();
  }
  for await (const e of Deno.readDir(`${ROOT}/demo`)) {
    if (e.isFile && /\.(html|css|svg|png)$/.test(e.name)) {
      await Deno.copyFile(`${ROOT}/demo/${e.name}`, `${outdir}/demo/${e.name}`);
    }
  }
  // the bundled model of the Generate panel (config.json, model.safetensors, tokenizer.json)
  const model = `${ROOT}/demo/tiny-llama`;
  if (await Deno.stat(model).then((s) => s.isDirectory, () => false)) {
    await Deno.mkdir(`${outdir}/demo/tiny-llama`, { recursive: true });
    for await (const e of Deno.readDir(model)) {
      if (e.isFile && /\.(json|safetensors)$/.test(e.name)) {
        await Deno.copyFile(`${model}/${e.name}`, `${outdir}/demo/tiny-llama/${e.name}`);
      }
    }
  }
  await Deno.writeTextFile(`${outdir}/webgpu-inductor.d.ts`, TYPES_ENTRY);
  await Deno.writeTextFile(`${outdir}/index.html`, INDEX_HTML);

  const bundle = `${outdir}/webgpu-inductor.js`;
  const raw = await Deno.readFile(bundle);
  const result: BuildResult = {
    outdir,
    bundle,
    bytes: raw.length,
    gzipBytes: gzipSync(raw, { level: 9 }).length,
    files: await listFiles(outdir),
    ms: performance.now() - t0,
  };
  if (!quiet) {
    const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
    console.log(
      `build: dist/webgpu-inductor.js ${kib(result.bytes)} (${result.bytes} B), gzip ${
        kib(result.gzipBytes)
      } ` +
        `(${result.gzipBytes} B); ${result.files.length} files in ${outdir} in ${
          result.ms.toFixed(0)
        } ms`,
    );
  }
  return result;
}

if (import.meta.main) {
  try {
    await build();
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(1);
  }
}
