// Shared machinery for generating one fused kernel: binding table, body inlining of fused
// members, register substitution of in-kernel reduction results.
import { contiguousStrides, type DType, gpuBytes, numel, wgslStorageType } from "../../dtype.ts";
import { config } from "../../config.ts";
import { CompileError } from "../../errors.ts";
import { iconst, type IndexExpr, ivar, ravel, unravel } from "../../inductor/index_expr.ts";
import type { IRBuffer } from "../../inductor/ir.ts";
import { type VExpr, vreg, vsubst } from "../../inductor/value_expr.ts";
import {
  F16_BITS_HELPERS,
  f16ArrayType,
  f16BindingHelpers,
  f16LoadFn,
  f16StoreFn,
  type F16WriteMode,
} from "./f16_storage.ts";
import type { KernelBinding } from "./kernel_spec.ts";
import {
  type BufferAccess,
  convert,
  type Scope,
  SPECIAL_FLOAT_DECLS,
  storeValue,
} from "./render.ts";
import type { AdapterFlavour, F16Storage } from "./target.ts";
import { texelLoad, TEXTURE_BINDING_TYPE, textureShape } from "./texture_operands.ts";
import { component, VectorAccess, vectorBase, vectorBindingFits } from "./vector_access.ts";
import type { ReductionLayout } from "./reduction_layout.ts";

export interface GroupInput {
  name: string;
  members: IRBuffer[];
  /** Members whose values leave the kernel (graph outputs, read by other kernels, mutations). */
  stores: Set<string>;
  buffer(name: string): IRBuffer;
  /** Storage a buffer name lives in (aliases and mutations resolve to the real buffer). */
  storage(name: string): string;
  /** Matmul template flavour for the adapter (default "shared"). */
  matmulKind?: "shared" | "register";
  /** Largest workgroup of a workgroup-per-row reduction (default 256). */
  reductionWorkgroup?: number;
  /** f16 storage: native `array<f16>` (default) or two halves per u32 (no shader-f16). */
  f16Storage?: F16Storage;
  /** Combine reduction partials with subgroup operations (default false). */
  subgroups?: boolean;
  /** Which adapter class a reduction's layout is chosen for (default "gpu"). */
  adapterClass?: "cpu" | "gpu";
  /** Which implementation the adapter is (matmul tiles for SwiftShader; default "other"). */
  adapterFlavour?: AdapterFlavour;
  /** A reduction's layout, when not chosen by shape and adapter class (autotune candidates). */
  reductionLayout?: ReductionLayout;
  /** Four-element vector loads and stores where the innermost dimension allows (default: the
   * inductor.vectorize knob). */
  vectorize?: boolean;
  /** Matmul operands read as textures (texture_operands.ts) where a vec4 register tile allows:
   * "on" always, "auto" (the target's choice on lavapipe-class adapters) for products of at
   * least TEXTURE_MIN_FLOP (matmul.ts), "off" (default) never. */
  matmulTextures?: "auto" | "on" | "off";
}

export class KernelContext implements BufferAccess {
  readonly bindings: KernelBinding[] = [];
  #ids = new Map<string, string>();
  readonly memberNames: Set<string>;
  /** Reduction results available as registers: buffer name -> [row index key, register]. */
  readonly regs = new Map<string, { rowKey: string; reg: string; dtype: DType }>();
  /** Values computed in the current element's registers (a matmul segment's epilogue):
   * buffer name -> the index key they stand for and their body. */
  readonly inlineAt = new Map<string, { key: string; value: VExpr }>();

  /** f16 bindings hold two halves per u32 (f16_storage.ts). */
  readonly f16Emulated: boolean;
  /** How the kernel writes emulated f16 bindings: halves with atomics, or whole words (a kernel
   * that owns both halves of every word it writes, and stores them itself). */
  f16Writes: F16WriteMode = "atomic";

  /** Vector (vec4) accesses of this rendering (vector_access.ts); none by default. */
  readonly vec: VectorAccess;
  /** Vector bindings read as rgba32float textures (texture_operands.ts): id -> texels per row. */
  readonly textures: ReadonlyMap<string, number>;

  constructor(
    readonly g: GroupInput,
    vec?: VectorAccess,
    textures: ReadonlyMap<string, number> = new Map(),
  ) {
    this.memberNames = new Set(g.members.map((m) => m.name));
    this.f16Emulated = g.f16Storage === "emulated";
    this.vec = vec ?? new VectorAccess(new Set());
    this.textures = textures;
  }

  #slot(buf: string, write: boolean): string {
    const b = this.g.buffer(buf);
    const storage = this.g.storage(buf);
    const key = `${storage}:${b.dtype}`;
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = `t${this.bindings.length}`;
      this.#ids.set(key, id);
      this.bindings.push({ storage, dtype: b.dtype, access: write ? "read_write" : "read" });
      const real = this.g.buffer(storage);
      const bytes = real ? numel(real.shape) * gpuBytes(real.dtype) : 0;
      if (this.vec.allows(id) && vectorBindingFits(b.dtype, bytes / gpuBytes(b.dtype))) {
        this.vec.declared.add(id);
        const width = this.textures.get(id);
        if (width !== undefined) {
          this.bindings[this.bindings.length - 1].texture = textureShape(bytes / 16, width);
        }
      }
    } else if (write) {
      this.bindings[Number(id.slice(1))].access = "read_write";
    }
    return id;
  }

  ident(buf: string): string {
    return this.#slot(buf, false);
  }
  writeIdent(buf: string): string {
    return this.#slot(buf, true);
  }
  dtype(buf: string): DType {
    return this.g.buffer(buf).dtype;
  }
  /** A load of `buf` at `index` from a vec4 binding: a component of a shared vector load while
   * a vector section renders an element at one of `vec.lanes`, else a component of the
   * element's vec4. */
  vectorLoad(buf: string, index: IndexExpr, scope: Scope): string | undefined {
    const id = this.ident(buf);
    if (!this.vec.declared.has(id)) return undefined;
    const wrap = (raw: string) => (this.dtype(buf) === "bool" ? `(${raw} != 0u)` : raw);
    let j = -1;
    let base = null;
    for (const l of this.vec.lanes) {
      base = vectorBase(index, l);
      if (base) {
        j = l;
        break;
      }
    }
    const width = this.textures.get(id);
    const vector = (q: string) => (width ? texelLoad(id, q, width) : `${id}[${q}]`);
    if (base) {
      this.vec.used.add(id);
      if (this.vec.lanes.length) this.vec.loopLoads.add(id);
      const key = `vec4(${id},${base.key})`;
      let r = scope.lookup(key);
      if (!r) {
        r = scope.bind(vector(scope.index(base)));
        scope.memo.set(key, r);
      }
      return wrap(component(r, j));
    }
    const at = scope.index(index);
    return wrap(`${vector(`(${at}) >> 2u`)}[(${at}) & 3u]`);
  }

  /** The statement storing four element values `vs` (dtype `from`) of member `m` at flat
   * indices `idx` as one vec4, or null when the binding is not vectorized or the indices are
   * not one aligned group. */
  vectorStoreStmt(
    m: IRBuffer,
    idx: IndexExpr[],
    vs: string[],
    from: DType,
    scope: Scope,
  ): string | null {
    const id = this.storeIdent(m);
    if (!this.vec.declared.has(id) || this.storesEmulatedF16(m)) return null;
    const bases = idx.map((e, j) => vectorBase(e, j));
    if (bases.some((b) => !b || b.key !== bases[0]!.key)) return null;
    this.vec.used.add(id);
    const to = this.dtype(m.target ?? m.name);
    const t = wgslStorageType(to);
    const parts = vs.map((v) => storeValue(v, from, to, scope.helpers));
    return `${id}[${scope.index(bases[0]!)}] = vec4<${t}>(${parts.join(", ")});`;
  }

  loadExpr(buf: string, index: string): string | undefined {
    if (!this.f16Emulated || this.dtype(buf) !== "f16") return undefined;
    return `${f16LoadFn(this.ident(buf))}(${index})`;
  }

  /** True when member `m` is stored as emulated f16 (two halves per u32). */
  storesEmulatedF16(m: IRBuffer): boolean {
    return this.f16Emulated && this.dtype(m.target ?? m.name) === "f16";
  }

  /** The statement storing register value `v` (of dtype `from`) as element `index` (a WGSL u32
   * expression) of member `m`'s storage. */
  storeStmt(m: IRBuffer, index: string, v: string, from: DType, helpers?: Set<string>): string {
    const id = this.storeIdent(m);
    if (this.storesEmulatedF16(m)) {
      if (this.f16Writes === "words") {
        throw new CompileError(
          `kernel ${this.g.name}: ${m.name} is f16 stored in whole words; store it as a pair`,
        );
      }
      return `${f16StoreFn(id)}(${index}, ${convert(v, from, "f32")});`;
    }
    const value = storeValue(v, from, this.dtype(m.target ?? m.name), helpers);
    if (this.vec.declared.has(id)) {
      // a scalar write makes the binding scalar in the final rendering (vector_access.ts)
      this.vec.scalarWrites.add(id);
      return `${id}[(${index}) >> 2u][(${index}) & 3u] = ${value};`;
    }
    return `${id}[${index}] = ${value};`;
  }

  /** Bring a member body into the kernel frame: rename its vars, inline fused pointwise
   * producers, and read in-kernel reduction results from registers. */
  body(body: VExpr, vars: ReadonlyMap<string, IndexExpr>): VExpr {
    return vsubst(body, vars, (buf, index) => this.#onLoad(buf, index));
  }

  #onLoad(buf: string, index: IndexExpr): VExpr | undefined {
    if (!this.memberNames.has(buf)) return undefined;
    const at = this.inlineAt.get(buf);
    if (at) {
      if (at.key !== index.key) {
        throw new CompileError(
          `kernel ${this.g.name}: ${buf} is computed per output element here but is read at ` +
            `another element (index ${index.key})`,
        );
      }
      return at.value;
    }
    if (this.g.buffer(buf).def.kind === "matmul") {
      throw new CompileError(
        `kernel ${this.g.name}: ${buf} (a matmul in this kernel) is read outside its epilogue`,
      );
    }
    const r = this.regs.get(buf);
    if (r) {
      if (r.rowKey !== index.key) {
        throw new CompileError(
          `kernel ${this.g.name}: ${buf} is a reduction computed in this kernel but is read at ` +
            `another row (index ${index.key}); the scheduler must not fuse these`,
        );
      }
      return vreg(r.reg, r.dtype);
    }
    const m = this.g.buffer(buf);
    if (m.def.kind !== "pointwise" || m.target) return undefined;
    // inline the producer's body at this index (recompute; CSE shares it with its own store)
    const idx = unravel(index, m.def.ranges);
    const map = new Map<string, IndexExpr>();
    m.def.ranges.forEach((_, i) => map.set(`x${i}`, idx[i]));
    return this.body(m.def.body, map);
  }

  /** Flat index at which a member is stored, given its vars in the kernel frame. */
  static flat(shape: readonly number[], idx: IndexExpr[]): IndexExpr {
    return ravel(idx, contiguousStrides(shape));
  }

  /** Storage identifier a member's value is written to (its own or its mutation target). */
  storeIdent(m: IRBuffer): string {
    return this.writeIdent(m.target ?? m.name);
  }

  declarations(): string {
    const hasF16 = this.bindings.some((b) => b.dtype === "f16");
    const lines = hasF16 && !this.f16Emulated ? ["enable f16;", ""] : [];
    lines.push(SPECIAL_FLOAT_DECLS);
    // with arena memory planning several bindings of a dispatch may be ranges of one buffer,
    // and WebGPU forbids mixing read-only and writable uses of a buffer in one dispatch: then
    // every binding is declared read_write
    const allWritable = config.bool("inductor.memoryPlanning");
    const helpers: string[] = [];
    this.bindings.forEach((b, i) => {
      if (b.texture) {
        lines.push(`@group(0) @binding(${i}) var t${i}: ${TEXTURE_BINDING_TYPE};`);
        return;
      }
      const acc = b.access === "read" && !allWritable ? "read" : "read_write";
      let type = this.vec.declared.has(`t${i}`)
        ? `array<vec4<${wgslStorageType(b.dtype)}>>`
        : `array<${wgslStorageType(b.dtype)}>`;
      if (b.dtype === "f16" && this.f16Emulated) {
        const atomic = b.access === "read_write" && this.f16Writes === "atomic";
        type = f16ArrayType(b.access === "read_write", this.f16Writes);
        helpers.push(f16BindingHelpers(`t${i}`, atomic));
      }
      lines.push(`@group(0) @binding(${i}) var<storage, ${acc}> t${i}: ${type};`);
    });
    if (helpers.length) lines.push(F16_BITS_HELPERS, ...helpers);
    return lines.join("\n");
  }
}

/** Whether a group's kernel may use vec4 accesses (its target's choice, else the config). */
export function vectorizeOn(g: GroupInput): boolean {
  return g.vectorize ?? config.bool("inductor.vectorize");
}

/** Kernel-frame vars for a member whose iteration space has the same element count as the
 * kernel's: go through the flat index (simplifies away when the shapes agree). */
export function varsViaFlat(
  kernelIdx: IndexExpr[],
  kernelShape: readonly number[],
  memberShape: readonly number[],
): Map<string, IndexExpr> {
  const flat = ravel(kernelIdx, contiguousStrides(kernelShape));
  const idx = unravel(flat, memberShape);
  return new Map(memberShape.map((_, i) => [`x${i}`, idx[i]] as const));
}

/** Named loop variables for a shape (size-1 dims are the constant 0). */
export function loopVars(prefix: string, shape: readonly number[]): IndexExpr[] {
  return shape.map((s, i) => (s === 1 ? iconst(0) : ivar(`${prefix}${i}`, s)));
}

/** Declarations of loop vars from a flat index variable. */
export function declareUnravel(
  flat: string,
  prefix: string,
  shape: readonly number[],
  suffix = "",
): string[] {
  const lines: string[] = [];
  const st = contiguousStrides(shape);
  shape.forEach((s, i) => {
    if (s === 1) return;
    const div = st[i] === 1 ? flat : `(${flat} / ${st[i]}u)`;
    const whole = i === 0;
    lines.push(`let ${prefix}${i}${suffix} = ${whole ? div : `${div} % ${s}u`};`);
  });
  return lines;
}
