// Symbolic index arithmetic: the port's stand-in for inductor's sympy index expressions.
// An index is an affine combination of atoms (loop variables, floor-divisions, modulos and
// indirect loads) with integer coefficients. Atoms know their value range, which lets the
// simplifier fold reshape-of-reshape patterns such as ((x0*B + x1) // B) -> x0.

export type Atom =
  | { k: "var"; name: string; size: number }
  | { k: "div"; e: IndexExpr; d: number }
  | { k: "mod"; e: IndexExpr; d: number }
  /** An index read from data (embedding): `value` is rendered by the value codegen. */
  | { k: "ind"; key: string; value: unknown; size: number };

export class IndexExpr {
  readonly key: string;
  constructor(
    /** Atom key → [atom, coefficient]; coefficients are non-zero integers. */
    readonly terms: ReadonlyMap<string, readonly [Atom, number]>,
    readonly c: number,
  ) {
    const parts = [...terms.keys()].sort().map((k) => `${terms.get(k)![1]}*${k}`);
    this.key = parts.length ? `${parts.join("+")}+${c}` : `${c}`;
  }

  isConst(): boolean {
    return this.terms.size === 0;
  }

  /** Inclusive [lo, hi] bounds of the value. */
  range(): [number, number] {
    let lo = this.c, hi = this.c;
    for (const [atom, coef] of this.terms.values()) {
      const [alo, ahi] = atomRange(atom);
      if (coef >= 0) {
        lo += coef * alo;
        hi += coef * ahi;
      } else {
        lo += coef * ahi;
        hi += coef * alo;
      }
    }
    return [lo, hi];
  }
}

function atomKey(a: Atom): string {
  switch (a.k) {
    case "var":
      return a.name;
    case "div":
      return `(${a.e.key})//${a.d}`;
    case "mod":
      return `(${a.e.key})%${a.d}`;
    case "ind":
      return `ind(${a.key})`;
  }
}

function atomRange(a: Atom): [number, number] {
  switch (a.k) {
    case "var":
      return [0, a.size - 1];
    case "ind":
      return [0, a.size - 1];
    case "div": {
      const [lo, hi] = a.e.range();
      return [Math.floor(lo / a.d), Math.floor(hi / a.d)];
    }
    case "mod":
      return [0, a.d - 1];
  }
}

function fromTerms(entries: Iterable<readonly [Atom, number]>, c: number): IndexExpr {
  const m = new Map<string, [Atom, number]>();
  for (const [a, coef] of entries) {
    if (coef === 0) continue;
    const k = atomKey(a);
    const prev = m.get(k);
    const nc = (prev ? prev[1] : 0) + coef;
    if (nc === 0) m.delete(k);
    else m.set(k, [a, nc]);
  }
  return recombine(m, c) ?? new IndexExpr(m, c);
}

/** k * (e % d) + k*d * (e // d) = k * e (a flat index split by a reshape and joined again by
 * another, as sympy folds it upstream); null when no such pair is present. */
function recombine(m: Map<string, [Atom, number]>, c: number): IndexExpr | null {
  for (const [key, [a, k]] of m) {
    if (a.k !== "mod") continue;
    const divKey = `(${a.e.key})//${a.d}`;
    const div = m.get(divKey);
    if (!div || div[1] !== k * a.d) continue;
    const rest = new Map(m);
    rest.delete(key);
    rest.delete(divKey);
    return iadd(new IndexExpr(rest, c), imul(a.e, k));
  }
  return null;
}

export function iconst(c: number): IndexExpr {
  return new IndexExpr(new Map(), c);
}

export function ivar(name: string, size: number): IndexExpr {
  return fromTerms([[{ k: "var", name, size }, 1]], 0);
}

export function iind(key: string, value: unknown, size: number): IndexExpr {
  return fromTerms([[{ k: "ind", key, value, size }, 1]], 0);
}

export function iadd(...es: IndexExpr[]): IndexExpr {
  const all: (readonly [Atom, number])[] = [];
  let c = 0;
  for (const e of es) {
    all.push(...e.terms.values());
    c += e.c;
  }
  return fromTerms(all, c);
}

export function imul(e: IndexExpr, k: number): IndexExpr {
  if (k === 0) return iconst(0);
  return fromTerms([...e.terms.values()].map(([a, c]) => [a, c * k] as const), e.c * k);
}

/** Floor division by a positive constant, simplified with range information. */
export function idiv(e: IndexExpr, d: number): IndexExpr {
  if (d === 1) return e;
  const [lo, hi] = e.range();
  if (lo >= 0 && hi < d) return iconst(0);
  if (e.isConst()) return iconst(Math.floor(e.c / d));
  // Split terms whose coefficient is a multiple of d: (d*a + b) // d = a + b // d when b >= 0.
  const whole: (readonly [Atom, number])[] = [];
  const rest: (readonly [Atom, number])[] = [];
  for (const [a, coef] of e.terms.values()) {
    if (coef % d === 0) whole.push([a, coef / d]);
    else rest.push([a, coef]);
  }
  const wc = Math.floor(e.c / d) * d === e.c ? e.c / d : 0;
  const rc = wc * d === e.c ? 0 : e.c;
  const restE = fromTerms(rest, rc);
  const [rlo] = restE.range();
  if (whole.length > 0 || wc !== 0) {
    if (rlo >= 0) return iadd(fromTerms(whole, wc), idiv(restE, d));
  }
  // (e // a) // b == e // (a*b) for positive a, b.
  if (e.terms.size === 1 && e.c === 0) {
    const [[a, coef]] = [...e.terms.values()];
    if (coef === 1 && a.k === "div") return idiv(a.e, a.d * d);
  }
  return fromTerms([[{ k: "div", e, d }, 1]], 0);
}

/** Modulo by a positive constant (non-negative operands), simplified with range information. */
export function imod(e: IndexExpr, d: number): IndexExpr {
  if (d === 1) return iconst(0);
  const [lo, hi] = e.range();
  if (lo >= 0 && hi < d) return e;
  if (e.isConst()) return iconst(((e.c % d) + d) % d);
  const rest: (readonly [Atom, number])[] = [];
  for (const [a, coef] of e.terms.values()) {
    if (coef % d !== 0) rest.push([a, coef]);
  }
  const restE = fromTerms(rest, ((e.c % d) + d) % d);
  if (rest.length !== e.terms.size || restE.c !== e.c) {
    const [rlo, rhi] = restE.range();
    if (rlo >= 0 && rhi < d) return restE;
    if (rlo >= 0) return imod(restE, d);
  }
  return fromTerms([[{ k: "mod", e, d }, 1]], 0);
}

/** Row-major flat index of a multi-index over `shape` (size-1 dims contribute nothing). */
export function ravel(idx: IndexExpr[], strides: readonly number[]): IndexExpr {
  return iadd(...idx.map((e, i) => imul(e, strides[i])));
}

/** Multi-index of a flat index over `shape`. */
export function unravel(flat: IndexExpr, shape: readonly number[]): IndexExpr[] {
  const out: IndexExpr[] = new Array(shape.length);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = shape[i] === 1 ? iconst(0) : imod(idiv(flat, stride), shape[i]);
    stride *= shape[i];
  }
  return out;
}

/** Replace variables by expressions (used to move a node's body into a kernel's loop vars). */
export function isubst(
  e: IndexExpr,
  sub: ReadonlyMap<string, IndexExpr>,
  indSub?: (value: unknown) => unknown,
): IndexExpr {
  let out = iconst(e.c);
  for (const [a, coef] of e.terms.values()) {
    let t: IndexExpr;
    switch (a.k) {
      case "var":
        t = sub.get(a.name) ?? ivar(a.name, a.size);
        break;
      case "div":
        t = idiv(isubst(a.e, sub, indSub), a.d);
        break;
      case "mod":
        t = imod(isubst(a.e, sub, indSub), a.d);
        break;
      case "ind": {
        const v = indSub ? indSub(a.value) : a.value;
        t = iind(indSub ? String((v as { key: string }).key) : a.key, v, a.size);
        break;
      }
    }
    out = iadd(out, imul(t, coef));
  }
  return out;
}

/** Variables an index mentions (not looking into indirect loads). */
export function ivars(e: IndexExpr, out = new Set<string>()): Set<string> {
  for (const [a] of e.terms.values()) {
    if (a.k === "var") out.add(a.name);
    else if (a.k === "div" || a.k === "mod") ivars(a.e, out);
  }
  return out;
}

/** WGSL (u32) form, e.g. `x0 * 64u + x1`; negative parts are subtracted. */
export function istr(e: IndexExpr, renderInd: (v: unknown) => string = () => "ind"): string {
  // a constant index below 0 is only ever read on the untaken side of a select (cat's other
  // operand at a constant position) and must not be a constant expression that underflows or
  // indexes out of bounds (WGSL compile errors): read element 0 instead, a value never used
  if (e.terms.size === 0) return e.c > 0 ? `${e.c}u` : "0u";
  const pos: string[] = [];
  const neg: string[] = [];
  const atoms = [...e.terms.values()].sort((a, b) => atomKey(a[0]).localeCompare(atomKey(b[0])));
  for (const [a, coef] of atoms) {
    let s: string;
    switch (a.k) {
      case "var":
        s = a.name;
        break;
      case "div":
        s = `(${istr(a.e, renderInd)}) / ${a.d}u`;
        break;
      case "mod":
        s = `(${istr(a.e, renderInd)}) % ${a.d}u`;
        break;
      case "ind":
        s = renderInd(a.value);
        break;
    }
    const m = Math.abs(coef);
    (coef > 0 ? pos : neg).push(m === 1 ? s : `${s} * ${m}u`);
  }
  if (e.c > 0) pos.push(`${e.c}u`);
  if (e.c < 0) neg.push(`${-e.c}u`);
  if (pos.length === 0) pos.push("0u");
  return [pos.join(" + "), ...neg].join(" - ");
}
