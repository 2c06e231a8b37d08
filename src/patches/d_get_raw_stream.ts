// Patch D — get_raw_stream as a global (vllm#30905, PR #30912; torch 2.9.0 and 2.9.1). The
// compile-time autotune script of each partition runs in an isolated scope; a partition's
// wrapper leaves the stream helper's import to its parent, so the script fails with
// "get_raw_stream is not defined". vLLM installs the helper as a builtin; we install the stream
// shim's getRawStream on globalThis.
import { getRawStream } from "../runtime/stream.ts";
import { registerPatch } from "./index.ts";

const g = globalThis as { get_raw_stream?: unknown };
let saved: PropertyDescriptor | undefined;
let applied = false;

registerPatch({
  id: "D",
  target: "globalThis.get_raw_stream",
  range: ">=2.9.0 <2.9.2",
  upstream: "vllm#30905 (vllm PR #30912)",
  description: "install the stream shim's getRawStream as a global for isolated autotune scripts",
  apply() {
    saved = Object.getOwnPropertyDescriptor(g, "get_raw_stream");
    Object.defineProperty(g, "get_raw_stream", {
      configurable: true,
      writable: true,
      enumerable: false,
      value: getRawStream,
    });
    applied = true;
  },
  revert() {
    if (!applied) return;
    if (saved) Object.defineProperty(g, "get_raw_stream", saved);
    else delete g.get_raw_stream;
    applied = false;
  },
});
