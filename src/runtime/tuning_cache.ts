// Persistent store for autotuning results: a JSON file in Deno (only where read/write permission
// is already granted: never a prompt), IndexedDB in a browser, memory elsewhere. Keys are hashes
// of (adapter, kernel source); values are small JSON.
import { hashString } from "./hash.ts";

const DB = "webgpu-inductor";
const STORE = "tuning";

export interface TuningCache {
  get(key: string): Promise<number | undefined>;
  set(key: string, value: number): Promise<void>;
}

// deno-lint-ignore no-explicit-any
const g = globalThis as any;

function granted(name: "read" | "write", path: string): boolean {
  try {
    return g.Deno.permissions.querySync({ name, path }).state === "granted";
  } catch {
    return false;
  }
}

/** Where the Deno file cache lives: $WEBGPU_INDUCTOR_CACHE_DIR, else .webgpu-inductor-cache in
 * the working directory. */
export function cacheDir(): string | null {
  if (!g.Deno) return null;
  let dir: string | undefined;
  try {
    if (
      g.Deno.permissions.querySync({ name: "env", variable: "WEBGPU_INDUCTOR_CACHE_DIR" }).state ===
        "granted"
    ) {
      dir = g.Deno.env.get("WEBGPU_INDUCTOR_CACHE_DIR");
    }
  } catch { /* no env access */ }
  if (!dir) {
    try {
      dir = `${g.Deno.cwd()}/.webgpu-inductor-cache`;
    } catch {
      return null;
    }
  }
  return dir!;
}

function fileCache(dir: string): TuningCache {
  const file = `${dir}/tuning.json`;
  let data: Record<string, number> | null = null;
  const load = async () => {
    if (data) return data;
    data = {};
    if (granted("read", file)) {
      try {
        data = JSON.parse(await g.Deno.readTextFile(file));
      } catch { /* missing or corrupt: start empty */ }
    }
    return data!;
  };
  return {
    get: async (k) => (await load())[hashString(k)],
    set: async (k, v) => {
      const d = await load();
      d[hashString(k)] = v;
      if (!granted("write", dir)) return;
      try {
        await g.Deno.mkdir(dir, { recursive: true });
        await g.Deno.writeTextFile(file, JSON.stringify(d));
      } catch { /* read-only location: keep it in memory */ }
    },
  };
}

function indexedDbCache(): TuningCache {
  const open = () =>
    new Promise<IDBDatabase>((resolve, reject) => {
      const r = g.indexedDB.open(DB, 1);
      r.onupgradeneeded = () => r.result.createObjectStore(STORE);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  const tx = async <T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>) => {
    const db = await open();
    return await new Promise<T>((resolve, reject) => {
      const req = f(db.transaction(STORE, mode).objectStore(STORE));
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  };
  return {
    get: async (k) => {
      try {
        return await tx("readonly", (s) => s.get(hashString(k))) as number | undefined;
      } catch {
        return undefined;
      }
    },
    set: async (k, v) => {
      try {
        await tx("readwrite", (s) => s.put(v, hashString(k)));
      } catch { /* private mode etc. */ }
    },
  };
}

function memoryCache(): TuningCache {
  const m = new Map<string, number>();
  return {
    get: (k) => Promise.resolve(m.get(k)),
    set: (k, v) => Promise.resolve(void m.set(k, v)),
  };
}

let current: TuningCache | null = null;

/** The process's tuning cache (memory in front of the persistent store). */
export function tuningCache(): TuningCache {
  if (current) return current;
  const mem = new Map<string, number>();
  const dir = cacheDir();
  const backing = dir ? fileCache(dir) : g.indexedDB ? indexedDbCache() : memoryCache();
  current = {
    get: async (k) => mem.get(k) ?? await backing.get(k),
    set: async (k, v) => {
      mem.set(k, v);
      await backing.set(k, v);
    },
  };
  return current;
}
