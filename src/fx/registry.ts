// The op registry: name → OpDef. Built-in ops register at load; custom ops via custom_ops.ts.
import { GraphError, UnsupportedOpError } from "../errors.ts";
import type { OpDef } from "./op_def.ts";
import { BUILTIN_OPS } from "./ops/index.ts";

const registry = new Map<string, OpDef>();
let version = 0;

/** Bumped whenever an op is added, replaced or removed (compile caches key on it). */
export function registryVersion(): number {
  return version;
}

/** Add an op; a second op with the same name is an error unless `replace` is set. */
export function registerOp(def: OpDef, replace = false): OpDef {
  if (registry.has(def.name) && !replace) {
    throw new GraphError(`op '${def.name}' is already registered`);
  }
  registry.set(def.name, def);
  version++;
  return def;
}

/** Remove an op (tests that register throwaway custom ops); true if it was there. */
export function unregisterOp(name: string): boolean {
  version++;
  return registry.delete(canonicalName(name));
}

/** `ns::op.default` (torch's overload name) is the same op as `ns::op`. */
export function canonicalName(name: string): string {
  return name.endsWith(".default") ? name.slice(0, -".default".length) : name;
}

export function hasOp(name: string): boolean {
  return registry.has(canonicalName(name));
}

/** The op called `name`; UnsupportedOpError naming it, with the closest registered names. */
export function getOp(name: string): OpDef {
  const def = registry.get(canonicalName(name));
  if (def) return def;
  const close = suggest(name);
  const hint = close.length ? `; did you mean ${close.map((c) => `'${c}'`).join(", ")}?` : "";
  throw new UnsupportedOpError(`unknown op '${name}'${hint}`);
}

export function listOps(): string[] {
  return [...registry.keys()].sort();
}

/** Up to three registered names within a small edit distance (case and '_' ignored, so
 * 'layerNorm' finds 'layer_norm'). */
function suggest(name: string): string[] {
  const key = (s: string) => s.toLowerCase().replace(/_/g, "");
  const k = key(name);
  const limit = Math.max(2, Math.floor(k.length / 3));
  return [...registry.keys()]
    .map((n) => ({ n, d: editDistance(k, key(n)) }))
    .filter((c) => c.d <= limit)
    .sort((a, b) => a.d - b.d || a.n.localeCompare(b.n))
    .slice(0, 3)
    .map((c) => c.n);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

for (const def of BUILTIN_OPS) registerOp(def);
