// loadTorchExport: what tools/export_torch.py wrote — graph.json (our graph format),
// model.safetensors (parameters and buffers by fully qualified name, folded constants as
// `_constant.N`) and export.json (which placeholder is what) — read from a folder path (Deno) or
// a URL (fetch), ready for `compile(graph, { params })`.
import { shapeStr } from "../dtype.ts";
import { DTypeError, GraphError, InductorError, InputError, ShapeError } from "../errors.ts";
import type { Graph } from "../fx/graph.ts";
import { graphFromJSON } from "../fx/json.ts";
import type { Tensor } from "../runtime/tensor.ts";
import { joinPath, type ProgressFn, readText } from "./bytes.ts";
import { loadSafetensors } from "./safetensors_load.ts";

/** export.json: what the exporter wrote about the graph's placeholders. */
export interface TorchExportManifest {
  format: "webgpu-inductor.torch-export";
  version: 1;
  /** torch.__version__ of the exporting process. */
  torch: string;
  /** "torch.export" (torch 2.x) or "make_fx(functionalize, fake)" (torch 1.13). */
  capture: string;
  module: string;
  /** Parameter and buffer placeholders (fully qualified names). */
  params: string[];
  /** Folded-constant placeholders (`_constant.N`). */
  constants: string[];
  /** The placeholders `run()` takes, in order. */
  inputs: { name: string; shape: number[]; dtype: string }[];
  outputs: { name: string; shape: number[]; dtype: string }[];
  /** Tied parameters: name -> the name it is saved under. */
  aliases: Record<string, string>;
  /** Dtype changes and tracing fallbacks (bfloat16 computed as f32, int64 carried as i32, …). */
  notes: string[];
}

export interface TorchExport {
  graph: Graph;
  /** Every placeholder bound by name: parameters, buffers and constants, on the device. */
  params: Record<string, Tensor>;
  /** export.json, or null when the folder has none. */
  manifest: TorchExportManifest | null;
}

/** Re-raise `e` (same error class) with the file in front. */
function inFile(e: unknown, file: string): never {
  if (e instanceof InductorError) {
    const Ctor = e.constructor as new (m: string) => InductorError;
    throw new Ctor(`${file}: ${e.message}`);
  }
  throw e;
}

async function readManifest(dir: string | URL): Promise<TorchExportManifest | null> {
  const file = joinPath(dir, "export.json");
  let text: string;
  try {
    text = await readText(file);
  } catch {
    return null; // optional: placeholders found in model.safetensors are then the params
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const ok = typeof m === "object" && m !== null &&
    (m as TorchExportManifest).format === "webgpu-inductor.torch-export" &&
    Array.isArray((m as TorchExportManifest).params) &&
    Array.isArray((m as TorchExportManifest).constants);
  if (!ok) {
    throw new InputError(
      `${file}: not an export manifest (expected format "webgpu-inductor.torch-export" with ` +
        `params and constants lists)`,
    );
  }
  return m as TorchExportManifest;
}

/** Loads an export folder: the graph, and its parameters uploaded as Tensors (streamed from
 * model.safetensors; `onProgress` reports its bytes). Only placeholders of the graph are
 * uploaded; each must match its placeholder's shape and dtype. */
export async function loadTorchExport(
  dir: string | URL,
  opts: { onProgress?: ProgressFn } = {},
): Promise<TorchExport> {
  const graphFile = joinPath(dir, "graph.json");
  let graph: Graph;
  try {
    graph = graphFromJSON(await readText(graphFile));
  } catch (e) {
    inFile(e, String(graphFile));
  }
  const manifest = await readManifest(dir);
  const placeholders = new Map(graph.placeholders().map((p) => [p.name, p.meta!]));
  const wanted = manifest
    ? new Set([...manifest.params, ...manifest.constants])
    : new Set(placeholders.keys());
  for (const n of wanted) {
    if (!placeholders.has(n)) {
      throw new GraphError(
        `${joinPath(dir, "export.json")} lists '${n}', which is not a placeholder of ${graphFile}`,
      );
    }
  }
  const weightsFile = joinPath(dir, "model.safetensors");
  const params = await loadSafetensors(weightsFile, {
    onProgress: opts.onProgress,
    filter: (n) => wanted.has(n),
  });
  try {
    for (const n of manifest ? wanted : []) {
      if (!(n in params)) {
        throw new InputError(
          `${weightsFile} has no tensor '${n}', which placeholder '${n}' of the graph needs`,
        );
      }
    }
    for (const [n, t] of Object.entries(params)) {
      const m = placeholders.get(n)!;
      if (t.dtype !== m.dtype) {
        throw new DTypeError(
          `${weightsFile}: tensor '${n}' is ${t.dtype} but placeholder '${n}' is ${m.dtype}`,
        );
      }
      if (shapeStr(t.shape) !== shapeStr(m.shape)) {
        throw new ShapeError(
          `${weightsFile}: tensor '${n}' has shape ${shapeStr(t.shape)} but placeholder ` +
            `'${n}' has ${shapeStr(m.shape)}`,
        );
      }
    }
  } catch (e) {
    for (const t of Object.values(params)) t.dispose();
    throw e;
  }
  return { graph, params, manifest };
}
