// Version-gated patch registry (DESIGN.md §3). The analogue of vLLM's env_override.py, which
// monkeypatches torch only under `is_torch_equal("2.9.0")` and friends: each patch here declares
// a semver range and is applied only when the upstream version we port (PORTED_FROM) satisfies
// it. Patch modules call `registerPatch` when imported; src/env_override.ts imports them and then
// calls `applyPatches`.
// A full npm: specifier (not the import map's bare "semver") so that scripts importing src/mod.ts
// from outside this repository, without our deno.json, still resolve it.
// deno-lint-ignore no-import-prefix
import semverUntyped from "npm:semver@7.8.6";
import { ConfigError, InductorError } from "../errors.ts";

// npm:semver ships no types; name the three calls we use.
const semver = semverUntyped as {
  valid(v: string): string | null;
  validRange(r: string): string | null;
  satisfies(v: string, r: string): boolean;
};

/** The environment variable (config key `patches.disable`) that turns patches off. */
export const DISABLE_ENV = "WEBGPU_INDUCTOR_DISABLE_PATCHES";

export interface Patch {
  /** Short id used in the disable list, e.g. "A". */
  id: string;
  /** What it replaces, e.g. "WrapperCodegen.memoryPlanReuse". */
  target: string;
  /** Semver range of upstream versions that carry the defect, e.g. "2.9.0" or ">=2.9.0 <2.9.2". */
  range: string;
  /** The upstream fix or workaround it mirrors, e.g. "pytorch#165514". */
  upstream: string;
  description: string;
  apply(): void;
  /** Must undo apply exactly; must also be safe after a partial or failed apply. */
  revert(): void;
}

export interface PatchReport {
  id: string;
  target: string;
  range: string;
  upstream: string;
  applied: boolean;
  reason: string;
}

export interface ApplyOptions {
  /** Upstream version to gate on (PORTED_FROM unless a test overrides it). */
  portedFrom: string;
  /** "" (none), "all", or a comma list of patch ids. */
  disable?: string;
}

/** A set of patches and their state. The module-level functions below use one global registry;
 * tests may build their own. */
export class PatchRegistry {
  #patches: Patch[] = [];
  #reports = new Map<string, PatchReport>();
  /** Patches currently applied, in application order (reverted in reverse). */
  #applied: Patch[] = [];
  #active = false;

  register(p: Patch): void {
    if (this.#patches.some((q) => q.id === p.id)) {
      throw new ConfigError(`patch '${p.id}' is already registered (target ${p.target})`);
    }
    if (!/^[A-Za-z0-9_-]+$/.test(p.id) || p.id.toLowerCase() === "all") {
      throw new ConfigError(`patch id '${p.id}' must be alphanumeric and not 'all'`);
    }
    if (semver.validRange(p.range) === null) {
      throw new ConfigError(`patch '${p.id}' has an invalid semver range '${p.range}'`);
    }
    this.#patches.push(p);
  }

  /** Forget a patch that is not applied (for tests). */
  unregister(id: string): void {
    if (this.#applied.some((p) => p.id === id)) {
      throw new InductorError(`patch '${id}' is applied; revert patches before unregistering`);
    }
    this.#patches = this.#patches.filter((p) => p.id !== id);
    this.#reports.delete(id);
  }

  ids(): string[] {
    return this.#patches.map((p) => p.id);
  }

  /** Apply every registered patch whose range admits `portedFrom` and that is not disabled.
   * All-or-nothing: if one patch throws, everything applied in this call is reverted and the
   * error names the patch. Calling it again before `revert()` is an error, so no patch is ever
   * applied twice. */
  apply(opts: ApplyOptions): PatchReport[] {
    if (this.#active) {
      throw new InductorError(
        `patches are already applied (${this.#applied.map((p) => p.id).join(", ") || "none"}); ` +
          "call revertPatches() first",
      );
    }
    const version = semver.valid(opts.portedFrom);
    if (version === null) {
      throw new ConfigError(
        `ported-from version ${
          JSON.stringify(opts.portedFrom)
        } (config key 'patches.portedFrom', ` +
          `env WEBGPU_INDUCTOR_PORTED_FROM) is not a semver version like "2.9.0"`,
      );
    }
    const disabled = this.#parseDisable(opts.disable ?? "");
    this.#reports.clear();
    this.#active = true;
    for (const p of this.#patches) {
      const report = (applied: boolean, reason: string) =>
        this.#reports.set(p.id, {
          id: p.id,
          target: p.target,
          range: p.range,
          upstream: p.upstream,
          applied,
          reason,
        });
      if (!semver.satisfies(version, p.range)) {
        report(false, `version ${version} outside range ${p.range}`);
      } else if (disabled === "all" || disabled.has(p.id)) {
        report(false, `disabled by ${DISABLE_ENV}=${opts.disable}`);
      } else {
        try {
          p.apply();
        } catch (e) {
          this.#rollback(p, e);
        }
        this.#applied.push(p);
        report(true, `version ${version} satisfies range ${p.range}`);
      }
    }
    return this.reports();
  }

  /** Undo a failed apply: the failing patch's partial work, then every patch this call applied. */
  #rollback(failed: Patch, cause: unknown): never {
    const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));
    const problems: string[] = [];
    try {
      failed.revert();
    } catch (e) {
      problems.push(`${failed.id}: ${msg(e)}`);
    }
    const undone = this.#applied.map((p) => p.id);
    problems.push(...this.#revertAll());
    for (const r of this.#reports.values()) {
      if (r.applied) r.reason = `rolled back: patch ${failed.id} failed to apply`;
      r.applied = false;
    }
    this.#reports.set(failed.id, {
      id: failed.id,
      target: failed.target,
      range: failed.range,
      upstream: failed.upstream,
      applied: false,
      reason: `apply failed: ${msg(cause)}`,
    });
    this.#active = false;
    throw new InductorError(
      `patch '${failed.id}' (${failed.target}) failed to apply: ${msg(cause)}; ` +
        `rolled back ${[failed.id, ...undone].join(", ")}` +
        (problems.length ? `; revert errors: ${problems.join("; ")}` : ""),
    );
  }

  /** Revert the applied patches in reverse order; returns "id: message" for each that threw. */
  #revertAll(): string[] {
    const problems: string[] = [];
    while (this.#applied.length) {
      const p = this.#applied.pop()!;
      try {
        p.revert();
      } catch (e) {
        problems.push(`${p.id}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return problems;
  }

  /** Revert every applied patch, last applied first. Keeps going past a failing revert and then
   * throws naming each one. */
  revert(): void {
    const reverted = new Set(this.#applied.map((p) => p.id));
    const problems = this.#revertAll();
    this.#active = false;
    for (const r of this.#reports.values()) {
      if (reverted.has(r.id)) {
        r.applied = false;
        r.reason = `reverted (was applied: ${r.reason})`;
      }
    }
    if (problems.length) {
      throw new InductorError(`reverting patches failed: ${problems.join("; ")}`);
    }
  }

  /** One report per registered patch, in registration order, from the last apply/revert. */
  reports(): PatchReport[] {
    return this.#patches.map((p) =>
      this.#reports.get(p.id) ?? {
        id: p.id,
        target: p.target,
        range: p.range,
        upstream: p.upstream,
        applied: false,
        reason: "not applied yet",
      }
    ).map((r) => ({ ...r }));
  }

  #parseDisable(raw: string): Set<string> | "all" {
    const ids = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
    if (ids.some((s) => s.toLowerCase() === "all")) return "all";
    const known = this.ids();
    const unknown = ids.filter((s) => !known.includes(s));
    if (unknown.length) {
      throw new ConfigError(
        `${DISABLE_ENV} (config key 'patches.disable') names unknown patch ids: ` +
          `${unknown.join(", ")}; known ids: ${known.join(", ") || "(none registered)"}, or 'all'`,
      );
    }
    return new Set(ids);
  }
}

/** The process-wide registry that patch modules register into. */
export const patchRegistry: PatchRegistry = new PatchRegistry();

export function registerPatch(p: Patch): void {
  patchRegistry.register(p);
}
export function applyPatches(opts: ApplyOptions): PatchReport[] {
  return patchRegistry.apply(opts);
}
export function appliedPatches(): PatchReport[] {
  return patchRegistry.reports();
}
export function revertPatches(): void {
  patchRegistry.revert();
}

export interface Swap {
  apply(): void;
  revert(): void;
  readonly applied: boolean;
}

/** A reversible replacement of one property (usually a prototype method), for patch bodies.
 * Applying twice throws; revert restores the original property descriptor, so the target is
 * identity-equal to the stock function again (or deletes the own property if it was inherited).
 * Reverting an unapplied swap is a no-op, which makes rollback after a partial apply safe. */
export function swapMember<T extends object, K extends keyof T>(
  obj: T,
  name: K,
  make: (original: T[K]) => T[K],
): Swap {
  let saved: PropertyDescriptor | undefined;
  let applied = false;
  return {
    get applied() {
      return applied;
    },
    apply() {
      if (applied) throw new InductorError(`${String(name)} is already swapped`);
      saved = Object.getOwnPropertyDescriptor(obj, name);
      const replacement = make(obj[name]);
      Object.defineProperty(obj, name, {
        configurable: true,
        enumerable: saved?.enumerable ?? false,
        writable: true,
        value: replacement,
      });
      applied = true;
    },
    revert() {
      if (!applied) return;
      if (saved) Object.defineProperty(obj, name, saved);
      else delete obj[name];
      applied = false;
    },
  };
}
