// The matmuls of a matmul kernel and its epilogue: the members share one A operand and are laid
// out "paired" (same n: every invocation accumulates each of them for the same output element)
// or "side by side" along n; each pointwise member attaches to the matmul (segment) it reads.
// Checked here so that a group the scheduler should not have formed fails with the kernel's
// and the members' names (src/codegen/wgsl/matmul.ts renders the kernel).
import { CompileError } from "../../errors.ts";
import type { IRBuffer, MatmulDef } from "../../inductor/ir.ts";
import { loadsOf } from "../../inductor/value_expr.ts";
import type { GroupInput } from "./kernel_context.ts";

export interface Segment {
  mm: IRBuffer;
  def: MatmulDef;
  /** First column in the side-by-side layout (0 when paired). */
  offset: number;
  /** Accumulator name prefix of this segment. */
  acc: string;
}

/** Which matmul members a buffer's value depends on inside the group (through inlined
 * pointwise members). */
function matmulSources(b: IRBuffer, g: GroupInput, seen = new Set<string>()): Set<string> {
  const out = new Set<string>();
  if (seen.has(b.name)) return out;
  seen.add(b.name);
  if (b.def.kind !== "pointwise") return out;
  const names = new Set(g.members.map((m) => m.name));
  for (const l of loadsOf(b.def.body).values()) {
    if (!names.has(l.buf)) continue;
    const src = g.buffer(l.buf);
    if (src.def.kind === "matmul") out.add(src.name);
    else for (const x of matmulSources(src, g, seen)) out.add(x);
  }
  return out;
}

export interface MatmulSegments {
  /** The first matmul's def: A operand, batch, m and k are the same for every segment. */
  first: MatmulDef;
  /** Same n for every matmul (paired), else side by side. */
  paired: boolean;
  segments: Segment[];
  /** Output columns of the kernel: n when paired, the sum of the segments' n otherwise. */
  nTotal: number;
  /** Each pointwise epilogue member and the segment whose output it reads. */
  epilogueOf: Map<IRBuffer, Segment>;
}

/** The segments of matmul kernel `g` and its epilogue members; a CompileError for matmuls
 * that do not share an A operand and for an epilogue that is not pointwise, reads no (or, side
 * by side, more than one) matmul, or iterates another element count. */
export function matmulSegments(g: GroupInput): MatmulSegments {
  const mms = g.members.filter((m) => m.def.kind === "matmul");
  const first = mms[0].def as MatmulDef;
  for (const mm of mms) {
    const d = mm.def as MatmulDef;
    if (d.a.key !== first.a.key || d.batch !== first.batch || d.m !== first.m || d.k !== first.k) {
      throw new CompileError(
        `kernel ${g.name}: matmuls ${mms[0].name} and ${mm.name} do not share an A operand`,
      );
    }
  }
  const paired = mms.length > 1 && mms.every((m) => (m.def as MatmulDef).n === first.n);
  const segments: Segment[] = [];
  let nTotal = 0;
  for (const mm of mms) {
    const d = mm.def as MatmulDef;
    segments.push({ mm, def: d, offset: paired ? 0 : nTotal, acc: `acc${segments.length}_` });
    nTotal = paired ? d.n : nTotal + d.n;
  }
  // epilogue members, each attached to the segment(s) whose output it reads
  const epilogueOf = new Map<IRBuffer, Segment>();
  for (const m of g.members) {
    if (m.def.kind === "matmul") continue;
    if (m.def.kind !== "pointwise") {
      throw new CompileError(
        `kernel ${g.name}: ${m.name} (${m.def.kind}) cannot be a matmul epilogue`,
      );
    }
    const src = matmulSources(m, g);
    if (src.size === 0 || (!paired && src.size > 1)) {
      throw new CompileError(
        `kernel ${g.name}: epilogue ${m.name} must read ${paired ? "the" : "exactly one"} ` +
          `matmul of the kernel (reads ${src.size})`,
      );
    }
    const seg = segments.find((s) => src.has(s.mm.name))!;
    const count = m.def.ranges.reduce((p, x) => p * x, 1);
    if (count !== seg.def.batch * seg.def.m * seg.def.n) {
      throw new CompileError(
        `kernel ${g.name}: epilogue ${m.name} iterates ${count} elements, the matmul ` +
          `${seg.mm.name} makes ${seg.def.batch * seg.def.m * seg.def.n}`,
      );
    }
    epilogueOf.set(m, seg);
  }
  return { first, paired, segments, nTotal, epilogueOf };
}
