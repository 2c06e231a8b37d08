// Bytes from a file path (Deno) or a URL (fetch; the only way in a browser), as a stream with
// its total size when known, so loaders can report progress and never hold more than they need.
// Deno's API is looked up at call time, never at import, so the browser bundle loads cleanly.
import { InputError } from "../errors.ts";

/** Called as bytes arrive: bytes read so far and the total (null when the server gives none). */
export type ProgressFn = (loaded: number, total: number | null) => void;

export interface ByteSource {
  /** How errors name it: the path or URL. */
  name: string;
  /** Size in bytes when known (a file's size, a response's Content-Length). */
  total: number | null;
  stream: ReadableStream<Uint8Array>;
}

interface DenoFs {
  open(
    path: string | URL,
  ): Promise<{ readable: ReadableStream<Uint8Array>; stat(): Promise<{ size: number }> }>;
  errors: { NotFound: new (...a: never[]) => Error };
}

function denoFs(): DenoFs | undefined {
  return (globalThis as { Deno?: DenoFs }).Deno;
}

/** A URL (`https://…`, `file:///…`, `blob:…`) rather than a path; `C:\…` is a path. */
export function isUrl(src: string | URL): boolean {
  if (src instanceof URL) return true;
  return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(src) && !/^[A-Za-z]:[\\/]/.test(src);
}

/** `file` inside the folder `dir` (a path or a URL). */
export function joinPath(dir: string | URL, file: string): string | URL {
  if (dir instanceof URL || isUrl(dir)) {
    const base = new URL(String(dir));
    if (!base.pathname.endsWith("/")) base.pathname += "/";
    return new URL(file, base);
  }
  return dir === "" ? file : `${dir.replace(/[\\/]+$/, "")}/${file}`;
}

/** Opens `src` for streaming: Deno reads paths and file: URLs from disk, everything else (and
 * everything in a browser, where paths resolve against the page) goes through fetch. */
export async function openBytes(src: string | URL): Promise<ByteSource> {
  const name = String(src);
  const fs = denoFs();
  const fileUrl = src instanceof URL ? src.protocol === "file:" : /^file:/i.test(src);
  if (fs && (!isUrl(src) || fileUrl)) {
    try {
      const f = await fs.open(fileUrl ? new URL(name) : name);
      const { size } = await f.stat();
      return { name, total: size, stream: f.readable };
    } catch (e) {
      if (e instanceof fs.errors.NotFound) {
        throw new InputError(`cannot open '${name}': no such file`);
      }
      throw new InputError(`cannot open '${name}': ${(e as Error).message}`);
    }
  }
  let res: Response;
  try {
    res = await fetch(src);
  } catch (e) {
    throw new InputError(`fetching '${name}' failed: ${(e as Error).message}`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new InputError(`fetching '${name}' failed: HTTP ${res.status} ${res.statusText}`.trim());
  }
  const len = res.headers.get("content-length");
  // a compressed response's length is the compressed size: no total then
  const total = len !== null && !res.headers.get("content-encoding") ? Number(len) : null;
  return { name, total: Number.isFinite(total) ? total : null, stream: res.body };
}

/** The whole of `src` as bytes, reporting progress per chunk. */
export async function readBytes(
  src: string | URL,
  opts: { onProgress?: ProgressFn } = {},
): Promise<Uint8Array> {
  const { total, stream } = await openBytes(src);
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for await (const c of stream) {
    chunks.push(c);
    loaded += c.length;
    opts.onProgress?.(loaded, total);
  }
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The whole of `src` as UTF-8 text. */
export async function readText(src: string | URL): Promise<string> {
  return new TextDecoder().decode(await readBytes(src));
}

/** A queue of stream chunks that hands out exact byte counts (copied, so typed arrays over
 * them are aligned). */
export class ByteQueue {
  #chunks: Uint8Array[] = [];
  #head = 0;
  available = 0;

  push(c: Uint8Array): void {
    if (c.length === 0) return;
    this.#chunks.push(c);
    this.available += c.length;
  }

  /** The next `n` bytes (n <= available), removed from the queue. */
  take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const c = this.#chunks[0];
      const k = Math.min(n - at, c.length - this.#head);
      out.set(c.subarray(this.#head, this.#head + k), at);
      at += k;
      this.#head += k;
      if (this.#head === c.length) {
        this.#chunks.shift();
        this.#head = 0;
      }
    }
    this.available -= n;
    return out;
  }

  /** Drops the next `n` bytes (n <= available). */
  skip(n: number): void {
    let left = n;
    while (left > 0) {
      const c = this.#chunks[0];
      const k = Math.min(left, c.length - this.#head);
      left -= k;
      this.#head += k;
      if (this.#head === c.length) {
        this.#chunks.shift();
        this.#head = 0;
      }
    }
    this.available -= n;
  }
}
