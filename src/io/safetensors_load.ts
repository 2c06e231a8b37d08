// loadSafetensors: stream a safetensors file (Deno: a path; anywhere: a URL) straight into device
// Tensors, one tensor at a time, so host memory holds the header, one tensor and a read chunk —
// never the whole file.
import { InputError } from "../errors.ts";
import { getDevice } from "../runtime/device.ts";
import { type Tensor, tensor } from "../runtime/tensor.ts";
import { ByteQueue, openBytes, type ProgressFn } from "./bytes.ts";
import { decodeTensor, headerLength, parseHeader, type SafetensorsHeader } from "./safetensors.ts";

export interface LoadSafetensorsOptions {
  /** Bytes read so far and the total (null when unknown), after every chunk. */
  onProgress?: ProgressFn;
  /** Upload only the tensors this accepts (the others are read past). */
  filter?: (name: string) => boolean;
}

/** Reads the file at `src` and uploads each of its tensors (BF16/F64 as f32, I64 as i32, …;
 * see `readSafetensors`). Errors name the file and tensor; on an error every tensor made so
 * far is disposed. */
export async function loadSafetensors(
  src: string | URL,
  opts: LoadSafetensorsOptions = {},
): Promise<Record<string, Tensor>> {
  await getDevice(); // tensors upload as they complete, and their host copy is dropped
  const { name, total, stream } = await openBytes(src);
  const reader = stream.getReader();
  const q = new ByteQueue();
  let loaded = 0;
  let done = false;
  /** Reads until `n` bytes are queued; false if the stream ended first. */
  const fill = async (n: number): Promise<boolean> => {
    while (q.available < n && !done) {
      const r = await reader.read();
      if (r.done) done = true;
      else {
        q.push(r.value);
        loaded += r.value.length;
        opts.onProgress?.(loaded, total);
      }
    }
    return q.available >= n;
  };
  const out: Record<string, Tensor> = {};
  try {
    if (!(await fill(8))) headerLength(q.take(q.available), total, name); // throws: too short
    const hlen = headerLength(q.take(8), total, name);
    if (!(await fill(hlen))) {
      throw new InputError(
        `${name}: header length ${hlen} runs past the end of the ${8 + q.available}-byte file ` +
          `(truncated, or the length lies)`,
      );
    }
    const dataBytes = total === null ? null : total - 8 - hlen;
    const h: SafetensorsHeader = parseHeader(q.take(hlen), hlen, dataBytes, name);
    for (const e of h.entries) {
      const size = e.end - e.begin;
      if (!(await fill(size))) {
        throw new InputError(
          `${name}: truncated: tensor '${e.name}' needs data bytes [${e.begin}, ${e.end}) but ` +
            `the file ends at data byte ${e.begin + q.available}`,
        );
      }
      if (opts.filter && !opts.filter(e.name)) {
        q.skip(size);
        continue;
      }
      const t = decodeTensor(e, q.take(size), name, true);
      out[e.name] = tensor(t.data, t.shape, { dtype: t.dtype, name: e.name });
    }
    await fill(1);
    if (q.available > 0) {
      throw new InputError(
        `${name}: ${q.available}${done ? "" : "+"} trailing bytes after the last tensor belong ` +
          `to no tensor`,
      );
    }
    return out;
  } catch (e) {
    for (const t of Object.values(out)) t.dispose();
    throw e;
  } finally {
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
