// Matmul template: a workgroup computes a tileM x tileN block of out[b] with each invocation
// holding a threadM x threadN register tile; operands are staged through workgroup memory in
// tileK slices (or, for CPU adapters, read straight into registers). Operand loads and the
// epilogue are generated from loop bodies, so transposes, broadcasts, casts and single-use
// pointwise producers (prologue) and bias, activation, residual and other pointwise consumers
// (epilogue) cost no extra kernel. Matmuls that share their A operand fuse horizontally:
//  - "paired" when they have the same n: each invocation accumulates every matmul for the same
//    output element, so an epilogue may combine them (SwiGLU's silu(x·W1) * (x·W3)) and the
//    products never reach memory;
//  - "side by side" otherwise: B operands are laid along n and each column segment stores to
//    its own buffer.
// The inner k loop over a slice is fully unrolled: straight-line WGSL ran 5–9x faster than the
// same kernels written with loops on CPU adapters (measured in Chromium/SwiftShader).
// The fixed text of each flavour is a template in shaders/ (matmul_shared.wgsl,
// matmul_shared_pipelined.wgsl, matmul_register.wgsl, matmul_register_vec4.wgsl, with the parts
// matmul_tile_origin.wgsl, matmul_shared_tile_load.wgsl and matmul_output_element.wgsl); this
// file generates the statements its slots take.
import { CompileError } from "../../errors.ts";
import { iadd, iconst, imul, type IndexExpr, ivar, ravel } from "../../inductor/index_expr.ts";
import { valueVars, type VExpr, vrenameRegs } from "../../inductor/value_expr.ts";
import { type GroupInput, KernelContext, varsViaFlat, vectorizeOn } from "./kernel_context.ts";
import { settleVectorBindings, VEC, VectorAccess } from "./vector_access.ts";
import { foldGrid3, type KernelSpec, MAX_GRID_DIM } from "./kernel_spec.ts";
import { Scope } from "./render.ts";
import { fillShaderLines, type ShaderSlots } from "./shader_template.ts";
import { chooseMatmulConfig, type MatmulConfig } from "./matmul_config.ts";
import { textureOperands } from "./texture_operands.ts";
import { gpuBytes, numel } from "../../dtype.ts";
import { opaqueStep, opaqueZeroInitFrom } from "./ieee.ts";
import { matmulSegments, type Segment } from "./matmul_segments.ts";

export { chooseMatmulConfig, DEFAULT_MATMUL_CONFIG, type MatmulConfig } from "./matmul_config.ts";

export function genMatmul(g: GroupInput, cfg?: MatmulConfig): KernelSpec {
  if (!vectorizeOn(g)) return renderMatmul(g, cfg);
  // register tiles of four contiguous columns where the shape allows (vec4 operand loads);
  // without a single vector load, the lane-strided scalar tile
  let last: VectorAccess | undefined;
  const v = settleVectorBindings(true, (vec) => {
    last = vec;
    const spec = renderMatmul(g, cfg, vec);
    return vec.used.size ? spec : null;
  });
  if (!v) return renderMatmul(g, cfg);
  // the k steps' operands as storage textures (texture_operands.ts) on lavapipe-class adapters
  // (the target's "auto"): faster at every vec4 tile measured, copies included (lavapipe, CPU
  // time: matmul 1024 170 ms against 455, 512 21 against 54, 128x64 @ 64x192 0.49 against
  // 1.0, 8x128 @ 128x512 0.73 against 1.6, 1x4096 @ 4096x4096 54 against 84, 1x128 @ 128x512
  // even; bench/matmul_variants.ts ours-tex, ours-buf). "auto" leaves products under ~1 MFLOP
  // on buffers (no gain measured there, and each texture is one more copy per launch); an
  // explicit config (autotune's candidates, timed on storage buffers) keeps buffers.
  const mode = g.matmulTextures ?? "off";
  if (mode === "off" || cfg || !last) return v;
  if (mode === "auto" && matmulFlop(g) < TEXTURE_MIN_FLOP) return v;
  const textures = textureOperands(
    last,
    v.bindings,
    (b) => numel(g.buffer(b.storage).shape) * gpuBytes(b.dtype),
  );
  return textures.size ? renderMatmul(g, cfg, new VectorAccess(last.allowed), textures) : v;
}

/** Products below this many FLOPs keep storage buffers under "auto" (see genMatmul). */
export const TEXTURE_MIN_FLOP = 1 << 20;

/** FLOPs of a matmul group: 2 * batch * m * n * k, n counting every horizontally fused product. */
function matmulFlop(g: GroupInput): number {
  const { first, nTotal } = matmulSegments(g);
  return 2 * first.batch * first.m * nTotal * first.k;
}

function renderMatmul(
  g: GroupInput,
  cfg?: MatmulConfig,
  vec?: VectorAccess,
  textures?: ReadonlyMap<string, number>,
): KernelSpec {
  const ctx = new KernelContext(g, vec, textures);
  const { first, paired, segments, nTotal, epilogueOf } = matmulSegments(g);
  const M = first.m, K = first.k, B = first.batch;
  // (the wide vec4 tile only where vector loads are tried)
  const c = cfg ?? chooseMatmulConfig(
    M,
    nTotal,
    g.matmulKind ?? "shared",
    vec ? K : 0,
    g.adapterFlavour,
  );
  const { tileM, tileN, tileK, threadM, threadN } = c;
  const wgX = tileN / threadN, wgY = tileM / threadM;
  const threads = wgX * wgY;
  if (!Number.isInteger(wgX) || !Number.isInteger(wgY) || threads > 256) {
    throw new CompileError(`kernel ${g.name}: bad matmul tile config ${JSON.stringify(c)}`);
  }
  // one workgroup per tileM x tileN block of each batch; a grid past 65535 workgroups in a
  // dimension (millions of rows, a batch of 70000) is folded and unfolded from a linear id
  const gridX = Math.ceil(nTotal / tileN), gridY = Math.ceil(M / tileM);
  const tiles = gridX * gridY * B;
  const folded = gridX > MAX_GRID_DIM || gridY > MAX_GRID_DIM || B > MAX_GRID_DIM;
  if (tiles > 0xffffffff) {
    throw new CompileError(`kernel ${g.name}: ${tiles} workgroups overflow 32-bit indexing`);
  }
  const register = c.kind === "register";
  // vec4 register tiles: each invocation's columns contiguous in groups of four and k stepped
  // by four, so an operand contiguous along n or along k is read as vec4s (vector_access.ts).
  // Measured on lavapipe, matmul 1024: 574 ms with the lane-strided scalar tile below, 296 ms
  // with 8x8 vec4-loaded tiles of 8x8 invocations.
  const vecTile = vec !== undefined && register && threadN % VEC === 0 && tileK === VEC &&
    K % VEC === 0 && nTotal % tileN === 0 && (paired || segments.length === 1);
  // Which output element register (i, j) of invocation (tr, tc) holds. The scalar register
  // template strides them by the workgroup size, so neighbouring invocations hold neighbouring
  // columns: CPU adapters run invocations as SIMD lanes, and lane-contiguous addresses load as
  // vectors where per-invocation runs would be gathers. The shared template and vec4 tiles keep
  // each invocation's tile contiguous.
  const strided = register && !vecTile;
  const pipelined = !register && c.pipelined === true;
  const rowOf = (i: number) =>
    strided ? `row0 + tr + ${i * wgY}u` : `row0 + tr * ${threadM}u + ${i}u`;
  const colOf = (j: number) =>
    strided || pipelined ? `col0 + tc + ${j * wgX}u` : `col0 + tc * ${threadN}u + ${j}u`;
  const top = new Scope(ctx);
  const bv = B === 1 ? iconst(0) : ivar("b", B);
  const vmap = (m: IndexExpr, n: IndexExpr | null, k: IndexExpr | null) => {
    const map = new Map<string, IndexExpr>([["b", bv], ["m", m]]);
    if (n) map.set("n", n);
    if (k) map.set("k", k);
    return map;
  };
  /** B operand value for column `col` (a WGSL u32 expression name) at k, in scope `sc`:
   * paired: one value per segment; side by side: the value of the column's segment. */
  const bValues = (
    sc: Scope,
    col: string | IndexExpr,
    k: IndexExpr,
    localNames: string[],
  ): string[] => {
    if (paired || segments.length === 1) {
      return segments.map((seg) =>
        sc.value(
          ctx.body(
            seg.def.b,
            vmap(iconst(0), typeof col === "string" ? ivar(col, seg.def.n) : col, k),
          ),
        )
      );
    }
    if (typeof col !== "string") throw new Error("codegen: side-by-side B needs named columns");
    let v = "";
    segments.forEach((seg, si) => {
      const sv = sc.value(ctx.body(seg.def.b, vmap(iconst(0), ivar(localNames[si], seg.def.n), k)));
      v = si === 0 ? sv : `select(${v}, ${sv}, ${col} >= ${seg.offset}u)`;
    });
    return [v];
  };
  /** Declarations of segment-local column indices for a side-by-side layout. */
  const localCols = (col: string, prefix: string): { lines: string[]; names: string[] } => {
    if (paired || segments.length === 1) return { lines: [], names: [] };
    const names = segments.map((_, si) => `${prefix}_${si}`);
    const lines = segments.map((seg, si) =>
      `let ${names[si]} = min(select(0u, ${col} - ${seg.offset}u, ${col} >= ${seg.offset}u), ${
        seg.def.n - 1
      }u);`
    );
    return { lines, names };
  };
  const nB = paired ? segments.length : 1;
  const accs: string[] = [];
  for (let s = 0; s < nB; s++) {
    for (let i = 0; i < threadM; i++) {
      for (let j = 0; j < threadN; j++) accs.push(`var ${segments[s].acc}${i}_${j} = 0.0;`);
    }
  }
  const fmas = (aName: (i: number) => string, bName: (s: number, j: number) => string) => {
    const out: string[] = [];
    for (let s = 0; s < nB; s++) {
      for (let i = 0; i < threadM; i++) {
        for (let j = 0; j < threadN; j++) {
          const acc = `${segments[s].acc}${i}_${j}`;
          out.push(`${acc} = fma(${aName(i)}, ${bName(s, j)}, ${acc});`);
        }
      }
    }
    return out;
  };

  /** The FMAs of `count` k steps, each accumulator's steps together: the large vec4 tiles'
   * accumulators live in spill slots on CPU adapters, so one load and store of each serves
   * `count` FMAs (lavapipe, 16x16 tiles at matmul 512: 28 ms CPU time against 50 ms with the
   * steps one after another). */
  const accMajorFmas = (count: number): string[] => {
    const out: string[] = [];
    for (let s = 0; s < nB; s++) {
      for (let i = 0; i < threadM; i++) {
        for (let j = 0; j < threadN; j++) {
          const acc = `${segments[s].acc}${i}_${j}`;
          for (let kk = 0; kk < count; kk++) {
            out.push(`${acc} = fma(a${i}_${kk}, b${s}_${j}_${kk}, ${acc});`);
          }
        }
      }
    }
    return out;
  };

  const loop: ShaderSlots = register ? registerLoop() : sharedLoop();

  /** The k loop of the register kernel: straight-line, unrolled by tileK, operands read at
   * (where a tile can overhang) clamped indices; out-of-range elements are never stored. */
  function registerLoop(): ShaderSlots {
    const out: string[] = [];
    const unroll = tileK;
    const kMain = K - (K % unroll);
    // clamp only where a tile can hang over the edge: a min() hides the contiguity of the
    // loads from the driver's vectoriser
    const clamp = (e: string, limit: number, exact: boolean) =>
      exact ? e : `min(${e}, ${limit - 1}u)`;
    for (let i = 0; i < threadM; i++) {
      out.push(`let mi${i} = ${clamp(rowOf(i), M, M % tileM === 0)};`);
    }
    const locals: string[][] = [];
    /** Column j's index: a named column, or (vec4 tiles) 4 * nq{group} + j % 4. */
    const cols: (string | IndexExpr)[] = [];
    for (let j = 0; j < threadN; j++) {
      if (vecTile) {
        if (j % VEC === 0) {
          out.push(`let nq${j / VEC} = col0 / ${VEC}u + tc * ${threadN / VEC}u + ${j / VEC}u;`);
        }
        cols.push(iadd(imul(ivar(`nq${Math.floor(j / VEC)}`, nTotal / VEC), VEC), iconst(j % VEC)));
        locals.push([]);
        continue;
      }
      out.push(`let nj${j} = ${clamp(colOf(j), nTotal, nTotal % tileN === 0)};`);
      cols.push(`nj${j}`);
      const lc = localCols(`nj${j}`, `nl${j}`);
      out.push(...lc.lines);
      locals.push(lc.names);
    }
    // an operand constant along k (a broadcast) is one value in every fma of the unrolled steps:
    // give it a distinct opaque copy per step, or the sum is factored (ieee.ts opaqueStep). The
    // shared template reads tile memory per step, which no compiler can equate.
    const aSameAlongK = !valueVars(first.a).has("k");
    const bSameAlongK = segments.some((seg) => !valueVars(seg.def.b).has("k"));
    const step = (kExpr: (kk: number) => IndexExpr, count: number): string[] => {
      const lines: string[] = [];
      // vec4 tiles render the four k steps in one scope: they share their vector loads
      const shared = vecTile ? top.child() : null;
      for (let kk = 0; kk < count; kk++) {
        const sc = shared ?? top.child();
        const k = kExpr(kk);
        for (let i = 0; i < threadM; i++) {
          // A is read along k (its row-major layout)
          if (vecTile) vec!.lanes = [kk];
          const v = sc.value(ctx.body(first.a, vmap(ivar(`mi${i}`, M), null, k)));
          sc.emit(`let a${i}_${kk} = ${aSameAlongK ? opaqueStep(v, sc.index(k)) : v};`);
        }
        for (let j = 0; j < threadN; j++) {
          // B along n (row-major) or along k (a transposed weight)
          if (vecTile) vec!.lanes = [j % VEC, kk];
          bValues(sc, cols[j], k, locals[j]).forEach((v, s) =>
            sc.emit(`let b${s}_${j}_${kk} = ${bSameAlongK ? opaqueStep(v, sc.index(k)) : v};`)
          );
        }
        if (vecTile) vec!.lanes = [];
        if (!shared) sc.lines.push(...fmas((i) => `a${i}_${kk}`, (s, j) => `b${s}_${j}_${kk}`));
        if (!shared) lines.push(...sc.lines);
      }
      if (shared) lines.push(...shared.lines, ...accMajorFmas(count));
      return lines;
    };
    if (vecTile) {
      // k = 4 * kq + kk: the alignment of k is visible to the vector loads
      const k = (kk: number) => iadd(imul(ivar("kq", K / VEC), VEC), iconst(kk));
      return { ROWS_AND_COLUMNS: out, K_QUADS: K / VEC, K_STEPS: step(k, VEC) };
    }
    const main = kMain > 0 ? step((kk) => iadd(ivar("k0", K), iconst(kk)), unroll) : [];
    const tail = kMain < K ? step(() => ivar("k1", K), 1) : [];
    return {
      ROWS_AND_COLUMNS: out,
      MAIN_LOOP: kMain > 0,
      MAIN_STEPS: main,
      TAIL_LOOP: kMain < K,
      TAIL_STEP: tail,
      K_MAIN: kMain,
      TILE_K: unroll,
      K,
    };
  }

  /** The k loop of the shared kernel: cooperative loads of the A slice (tileM x tileK) and one
   * B slice (tileK x tileN) per paired segment into workgroup memory, then the unrolled
   * register-tile product. */
  function sharedLoop(): ShaderSlots {
    /** Staging of one operand slice: each invocation's elements `e`, loaded at slice `kName`
     * and stored to workgroup memory, or (`dest`) into registers `dest<i>` only. */
    const loadTile = (which: "a" | number, kName = "k0", dest?: string): string[] => {
      const lines: string[] = [];
      const isA = which === "a";
      const [rows, cols, rowLimit, colLimit] = isA
        ? [tileM, tileK, M, K]
        : [tileK, tileN, K, nTotal];
      const total = rows * cols;
      const per = Math.ceil(total / threads);
      const tile = isA ? "tileA" : `tileB${which}`;
      for (let i = 0; i < per; i++) {
        const e = `e${isA ? "a" : `b${which}_`}${i}`;
        const [rowBase, colBase] = isA ? ["row0", kName] : [kName, "col0"];
        const s = top.child();
        let v: string;
        if (isA) v = s.value(ctx.body(first.a, vmap(ivar("gr", M), null, ivar("gc", K))));
        else {
          const lc = localCols("gc", "gl");
          s.lines.push(...lc.lines);
          v = paired || segments.length === 1
            ? s.value(
              ctx.body(segments[which].def.b, vmap(iconst(0), ivar("gc", nTotal), ivar("gr", K))),
            )
            : bValues(s, "gc", ivar("gr", K), lc.names)[0];
        }
        lines.push(...fillShaderLines("matmul_shared_tile_load", {
          E: e,
          FIRST: i * threads,
          ROW_BASE: rowBase,
          COL_BASE: colBase,
          COLS: cols,
          ROW_LIMIT: rowLimit,
          COL_LIMIT: colLimit,
          PARTIAL: i * threads + threads > total,
          TILE_SIZE: total,
          LOAD: s.lines,
          VALUE: v,
          TO_REGISTER: dest !== undefined,
          REGISTER: `${dest}${i}`,
          TILE: tile,
        }));
      }
      return lines;
    };
    const inner: string[] = [];
    for (let kk = 0; kk < tileK; kk++) {
      for (let i = 0; i < threadM; i++) {
        inner.push(`let a${i}_${kk} = tileA[(tr * ${threadM}u + ${i}u) * ${tileK}u + ${kk}u];`);
      }
      for (let s = 0; s < nB; s++) {
        for (let j = 0; j < threadN; j++) {
          const col = pipelined ? `tc + ${j * wgX}u` : `tc * ${threadN}u + ${j}u`;
          inner.push(`let b${s}_${j}_${kk} = tileB${s}[${kk}u * ${tileN}u + ${col}];`);
        }
      }
      inner.push(...fmas((i) => `a${i}_${kk}`, (s, j) => `b${s}_${j}_${kk}`));
    }
    const tiles: ShaderSlots = {
      TILE_A_SIZE: tileM * tileK,
      TILE_B_DECLS: Array.from(
        { length: nB },
        (_, s) => `var<workgroup> tileB${s}: array<f32, ${tileK * tileN}>;`,
      ),
      K,
      TILE_K: tileK,
      TILE_PRODUCT: inner,
    };
    if (!pipelined) {
      const loads = [...loadTile("a")];
      for (let s = 0; s < nB; s++) loads.push(...loadTile(s));
      return { ...tiles, LOAD_TILES: loads };
    }
    // register double buffering (shaders/matmul_shared_pipelined.wgsl): operand `w`'s elements
    // of a slice in registers `r<i>`, stored to workgroup memory at the top of the loop body
    const ops: ["a" | number, string][] = [["a", "pa"]];
    for (let s = 0; s < nB; s++) ops.push([s, `pb${s}_`]);
    const regs: string[] = [], stores: string[] = [];
    for (const [w, r] of ops) {
      const total = w === "a" ? tileM * tileK : tileK * tileN;
      const tile = w === "a" ? "tileA" : `tileB${w}`;
      for (let i = 0; i < Math.ceil(total / threads); i++) {
        const e = `lid + ${i * threads}u`;
        const guard = i * threads + threads > total ? `if (${e} < ${total}u) ` : "";
        regs.push(`var ${r}${i} = 0.0;`);
        stores.push(`${guard}{ ${tile}[${e}] = ${r}${i}; }`);
      }
    }
    const prefetch = () => ops.flatMap(([w, r]) => loadTile(w, "kp", r));
    return {
      ...tiles,
      PREFETCH_REGISTERS: regs,
      PREFETCH_FIRST: prefetch(),
      STORE_TILES: stores,
      PREFETCH_NEXT: prefetch(),
    };
  }

  // epilogue: per output element, each segment's value (its own epilogue over the
  // accumulator), the stored matmuls, and the stored epilogue members
  const stored = new Set<string>();
  const epi: string[] = [];
  const om = ivar("om", M);
  // a store is guarded only along a dimension the tiles overhang (matmul_output_element.wgsl)
  const inside = [
    ...(M % tileM === 0 ? [] : [`om < ${M}u`]),
    ...(nTotal % tileN === 0 ? [] : [`on < ${nTotal}u`]),
  ];
  const storeGuard = inside.length ? `if (${inside.join(" && ")}) ` : "";
  for (let i = 0; i < threadM; i++) {
    for (let j = 0; j < threadN; j++) {
      const segmentLines: string[] = [];
      const groups: Segment[][] = paired ? [segments] : segments.map((sg) => [sg]);
      groups.forEach((group, gi) => {
        const s = new Scope(ctx, null, new Map(), top.counter, top.helpers);
        const seg0 = group[0];
        const N = seg0.def.n;
        const onl = seg0.offset === 0 ? ivar("on", N) : ivar("onl", N);
        const canonical = ravel([bv, om, onl], [M * N, N, 1]);
        ctx.inlineAt.clear();
        for (const seg of group) {
          const si = segments.indexOf(seg);
          const accReg = `${segments[paired ? si : 0].acc}${i}_${j}`;
          const value: VExpr = vrenameRegs(
            ctx.body(seg.def.epilogue, vmap(om, onl, null)),
            new Map([["acc", accReg]]),
          );
          s.regs.set(accReg, accReg);
          ctx.inlineAt.set(seg.mm.name, { key: canonical.key, value });
        }
        const body: string[] = [];
        for (const seg of group) {
          if (!g.stores.has(seg.mm.name)) continue;
          const value = ctx.inlineAt.get(seg.mm.name)!.value;
          const v = s.value(value);
          body.push(
            ...s.lines.splice(0),
            ctx.storeStmt(seg.mm, s.index(canonical), v, value.dtype, s.helpers),
          );
          stored.add(seg.mm.name);
        }
        for (const [e, seg] of epilogueOf) {
          if (!group.includes(seg) || !g.stores.has(e.name) || e.def.kind !== "pointwise") continue;
          const vars = varsViaFlat([bv, om, onl], [B, M, N], e.def.ranges);
          const v = s.value(ctx.body(e.def.body, vars));
          const idx = KernelContext.flat(
            e.def.ranges,
            e.def.ranges.map((_, d) => vars.get(`x${d}`)!),
          );
          body.push(
            ...s.lines.splice(0),
            ctx.storeStmt(e, s.index(idx), v, e.def.body.dtype, s.helpers),
          );
          stored.add(e.name);
        }
        ctx.inlineAt.clear();
        const last = gi === groups.length - 1;
        const cond = last ? "" : `if (on < ${seg0.offset + N}u) `;
        segmentLines.push(gi === 0 ? `${cond}{` : `else ${cond}{`);
        if (seg0.offset !== 0) segmentLines.push(`  let onl = on - ${seg0.offset}u;`);
        segmentLines.push(...body.map((l) => "  " + l), `}`);
      });
      epi.push(...fillShaderLines("matmul_output_element", {
        ROW: rowOf(i),
        COL: colOf(j),
        GUARD: storeGuard,
        SEGMENTS: segmentLines,
      }));
    }
  }
  const flavour = !register
    ? pipelined ? "matmul_shared_pipelined" : "matmul_shared"
    : vecTile
    ? "matmul_register_vec4"
    : "matmul_register";
  const src = fillShaderLines(flavour, {
    ...loop,
    // declarations last: generating the body registers the bindings
    DECLARATIONS: [ctx.declarations()],
    HELPERS: [...top.helpers],
    WG_X: wgX,
    WG_Y: wgY,
    // (t0 may be a texture: the first storage binding's length; the output is always one)
    OPAQUE_ZERO_INIT: opaqueZeroInitFrom(`t${ctx.bindings.findIndex((b) => !b.texture)}`),
    TILE_ORIGIN: fillShaderLines("matmul_tile_origin", {
      WG_X: wgX,
      FOLDED: folded,
      TILES: tiles,
      GRID_XY: gridX * gridY,
      GRID_X: gridX,
      GRID_Y: gridY,
      TILE_M: tileM,
      TILE_N: tileN,
    }),
    ACCUMULATORS: accs,
    EPILOGUE: epi,
  }).join("\n") + "\n";
  return {
    name: g.name,
    wgsl: src,
    bindings: ctx.bindings,
    workgroups: folded ? foldGrid3(tiles) : [gridX, gridY, B],
    computes: g.members.map((m) => m.name),
    stores: [...stored],
  };
}
