// Read/write dependencies of scheduler nodes (upstream torch/_inductor/dependencies.py):
// MemoryDep (a load at an index), StarDep (the whole buffer, e.g. an opaque custom op),
// WeakDep (ordering only: a mutation must wait for earlier readers of the storage it writes).
import type { IndexExpr } from "./index_expr.ts";
import type { IRBuffer } from "./ir.ts";
import { loadsOf, type VExpr, vindex } from "./value_expr.ts";

export type Dep =
  | { kind: "memory"; name: string; index: IndexExpr }
  | { kind: "star"; name: string }
  | { kind: "weak"; name: string; mutatingBuf: string };

/** Reads of one buffer's computation. */
export function bufferReads(b: IRBuffer): Dep[] {
  const d = b.def;
  const deps: Dep[] = [];
  const fromBody = (e: VExpr) => {
    for (const l of loadsOf(e).values()) deps.push({ kind: "memory", name: l.buf, index: l.index });
  };
  switch (d.kind) {
    case "pointwise":
      fromBody(d.body);
      // a write at computed indices reads the index tensor too
      if (d.store) fromBody(vindex(d.store.index));
      if (d.store?.guard) fromBody(d.store.guard);
      break;
    case "reduction":
      fromBody(d.body);
      break;
    case "matmul":
      fromBody(d.a);
      fromBody(d.b);
      fromBody(d.epilogue);
      break;
    case "fallback":
      for (const a of d.args) {
        if (a && typeof a === "object" && "buf" in a) {
          deps.push({ kind: "star", name: (a as { buf: string }).buf });
        }
      }
      break;
  }
  return deps;
}
