// The page side of `deno task bench --browser`: bench/browser.ts bundles this file (with the
// library and the suite) and serves it; the page runs the same suite as Deno, loading the peers
// over HTTP (tfjs as a browser bundle, jax-js and onnxruntime-web straight from node_modules).
import type { Loader } from "./peers/types.ts";
import { runSuite, type SuiteResult } from "./suite.ts";

export interface PageOptions {
  quick: boolean;
  full: boolean;
  only: string[] | null;
  systems: string[] | null;
}

/** Where the page finds demo/tiny-llama (bench/browser.ts serves it there). */
export const MODEL_URL = "/tiny-llama";

const load: Loader = (name) => {
  const url = {
    tfjs: "/tfjs.js",
    jax: "/npm/@jax-js/jax/dist/index.js",
    ort: "/npm/onnxruntime-web/dist/ort.webgpu.min.mjs",
  }[name];
  return import(url);
};

export function run(o: PageOptions): Promise<SuiteResult> {
  // the llm-* rows load the bundled model over HTTP from the bench's server (bench/browser.ts)
  const llmModel = new URL(`${MODEL_URL}/`, location.href).href;
  return runSuite({ ...o, load, llmModel, log: (s) => console.log(s) });
}
