// SVG/HTML strings for the demo panels (no DOM access, so Deno tests can render them too).
import { type Analysis, formatBytes, type Step } from "./analysis.ts";

export function esc(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + "…" : s);

interface Box {
  id: string;
  label: string;
  sub: string;
  cls: "input" | "kernel" | "host" | "output";
  title: string;
  layer: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The partition graph: kernels as boxes, host (custom-op) steps as dashed boxes, graph inputs
 * and outputs as pills; an arrow wherever one step reads a storage another wrote. Layered top to
 * bottom by longest path; each input sits just above its first reader. */
export function graphSvg(a: Analysis): string {
  const boxes = new Map<string, Box>();
  const preds = new Map<string, string[]>();
  for (const e of a.edges) preds.set(e.to, [...(preds.get(e.to) ?? []), e.from]);
  const stepLayer = new Map<number, number>();
  for (const s of a.steps) {
    const ps = (preds.get(`step:${s.index}`) ?? []).filter((p) => p.startsWith("step:"));
    const l = Math.max(0, ...ps.map((p) => stepLayer.get(Number(p.slice(5)))! + 1));
    stepLayer.set(s.index, l + 1);
  }
  const stepBox = (s: Step): Box => ({
    id: `step:${s.index}`,
    label: s.kind === "host" ? `host: ${s.name}` : s.name,
    sub: s.kind === "host"
      ? `custom op · ${s.members.length} buffer(s)`
      : `${s.nodeKind} · ${s.members.length} op${s.members.length === 1 ? "" : "s"} · grid ${
        (s.workgroups ?? []).join("×")
      }${s.partition === null ? "" : ` · p${s.partition}`}`,
    cls: s.kind === "host" ? "host" : "kernel",
    title: `${s.name} [${s.nodeKind}]${
      s.partition === null ? "" : ` in partition ${s.partition}`
    } computes ${s.members.join(", ")}\nreads ${s.reads.join(", ") || "-"}\nwrites ${
      s.writes.join(", ") || "-"
    }\n${s.reason}`,
    layer: stepLayer.get(s.index)!,
    x: 0,
    y: 0,
    w: 240,
    h: 44,
  });
  for (const s of a.steps) boxes.set(`step:${s.index}`, stepBox(s));
  const lastLayer = Math.max(0, ...stepLayer.values());
  for (const i of a.inputs) {
    const consumers = a.edges.filter((e) => e.from === `in:${i}`).map((e) =>
      boxes.get(e.to)?.layer ?? 1
    );
    const lt = a.storages.find((l) => l.name === i);
    boxes.set(`in:${i}`, {
      id: `in:${i}`,
      label: i,
      sub: lt ? `${lt.dtype}[${lt.shape.join(", ")}]` : "",
      cls: "input",
      title: `graph input ${i}`,
      layer: consumers.length ? Math.max(0, Math.min(...consumers) - 1) : 0,
      x: 0,
      y: 0,
      w: 120,
      h: 34,
    });
  }
  for (const o of a.outputs) {
    const lt = a.storages.find((l) => l.tenants.some((t) => t.buffer === o));
    boxes.set(`out:${o}`, {
      id: `out:${o}`,
      label: `output ${o}`,
      sub: lt ? `${lt.dtype}[${lt.shape.join(", ")}]` : "",
      cls: "output",
      title: `graph output ${o}`,
      layer: lastLayer + 1,
      x: 0,
      y: 0,
      w: 130,
      h: 34,
    });
  }
  // Rows, ordered by the mean x of each box's predecessors (one barycentre pass).
  const rows: Box[][] = [];
  for (const b of boxes.values()) (rows[b.layer] ??= []).push(b);
  const gapX = 22, gapY = 46, pad = 16;
  let y = pad, width = 0;
  for (const row of rows) {
    if (!row) continue;
    const key = (b: Box) => {
      const ps = (preds.get(b.id) ?? []).map((p) => boxes.get(p)).filter((p): p is Box =>
        !!p && p.layer < b.layer
      );
      return ps.length ? ps.reduce((s, p) => s + p.x + p.w / 2, 0) / ps.length : -1;
    };
    row.sort((p, q) => key(p) - key(q));
    let x = pad;
    const h = Math.max(...row.map((b) => b.h));
    for (const b of row) {
      b.x = x;
      b.y = y + (h - b.h) / 2;
      x += b.w + gapX;
    }
    width = Math.max(width, x - gapX + pad);
    y += h + gapY;
  }
  const height = y - gapY + pad;
  const parts: string[] = [];
  // replayable partitions as bands behind their kernels
  const byPartition = new Map<number, Box[]>();
  for (const st of a.steps) {
    if (st.partition !== null) {
      byPartition.set(st.partition, [
        ...(byPartition.get(st.partition) ?? []),
        boxes.get(`step:${st.index}`)!,
      ]);
    }
  }
  for (const [pi, bs] of byPartition) {
    const x0 = Math.min(...bs.map((b) => b.x)) - 8, y0 = Math.min(...bs.map((b) => b.y)) - 14;
    const x1 = Math.max(...bs.map((b) => b.x + b.w)) + 8,
      y1 = Math.max(...bs.map((b) => b.y + b.h)) + 6;
    parts.push(
      `<g class="partition" data-partition="${pi}"><rect x="${x0}" y="${y0}" width="${
        x1 - x0
      }" height="${y1 - y0}" rx="10"/>` +
        `<text x="${x1 - 6}" y="${
          y0 + 11
        }" text-anchor="end">partition ${pi} (replayed)</text></g>`,
    );
  }
  for (const e of a.edges) {
    const f = boxes.get(e.from), t = boxes.get(e.to);
    if (!f || !t) continue;
    const x1 = f.x + f.w / 2, y1 = f.y + f.h, x2 = t.x + t.w / 2, y2 = t.y;
    const my = (y1 + y2) / 2;
    parts.push(
      `<path class="edge" d="M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${
        y2 - 2
      }" marker-end="url(#arrow)">` +
        `<title>${esc(e.buffers.join(", "))}</title></path>`,
    );
  }
  for (const b of boxes.values()) {
    const rx = b.cls === "input" || b.cls === "output" ? b.h / 2 : 6;
    parts.push(
      `<g class="node ${b.cls}" data-id="${esc(b.id)}"><title>${esc(b.title)}</title>` +
        `<rect x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" rx="${rx}"/>` +
        `<text x="${b.x + b.w / 2}" y="${
          b.y + (b.sub ? b.h / 2 - 3 : b.h / 2 + 4)
        }" class="label">${
          esc(clip(b.label, b.cls === "kernel" || b.cls === "host" ? 34 : 17))
        }</text>` +
        (b.sub
          ? `<text x="${b.x + b.w / 2}" y="${b.y + b.h / 2 + 12}" class="sub">${
            esc(clip(b.sub, 42))
          }</text>`
          : "") +
        `</g>`,
    );
  }
  return `<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" role="img" aria-label="partition graph">` +
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" ` +
    `orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>${
      parts.join("")
    }</svg>`;
}

/** Memory timeline: one row per storage (graph inputs, then allocations in order) with a bar
 * segment for each buffer that occupies it — several segments in one row are the reuse plan at
 * work — and the live non-input bytes after each step as a strip on top. */
export function memorySvg(a: Analysis): string {
  const n = Math.max(a.steps.length, 1);
  const labelW = 200, rightW = 120, cell = Math.max(12, Math.min(36, Math.floor(720 / n)));
  const rowH = 18, top = 64;
  const rows = [...a.storages].sort((p, q) =>
    (p.role === "input" ? 0 : 1) - (q.role === "input" ? 0 : 1) || p.first - q.first ||
    p.last - q.last
  );
  const width = labelW + n * cell + rightW, height = top + rows.length * rowH + 24;
  const parts: string[] = [];
  const peak = Math.max(a.peakLiveBytes, 1);
  a.liveBytes.forEach((b, i) => {
    const h = (b / peak) * 40;
    parts.push(
      `<rect class="live" x="${labelW + i * cell + 1}" y="${8 + 40 - h}" width="${
        cell - 2
      }" height="${h}">` +
        `<title>step ${i}: ${formatBytes(b)} live</title></rect>`,
    );
  });
  parts.push(
    `<text class="axis" x="${labelW - 6}" y="32" text-anchor="end">live bytes (peak ${
      formatBytes(a.peakLiveBytes)
    })</text>`,
  );
  for (let i = 0; i < n; i++) {
    if (n <= 40 || i % Math.ceil(n / 40) === 0) {
      parts.push(
        `<text class="axis" x="${labelW + i * cell + cell / 2}" y="${
          top - 4
        }" text-anchor="middle">${i}</text>`,
      );
    }
  }
  rows.forEach((st, r) => {
    const y = top + r * rowH;
    const segs = st.tenants.map((t, k) =>
      `<rect class="tenant ${t.role}${k ? " reuse" : ""}" x="${labelW + t.first * cell + 1}" y="${
        y + 2
      }" ` +
      `width="${(t.last - t.first + 1) * cell - 2}" height="${rowH - 4}" rx="3"><title>${
        esc(`${t.buffer} (${t.role}) in storage ${st.name}, steps ${t.first}–${t.last}`)
      }</title></rect>`
    ).join("");
    const label = st.tenants.length > 1
      ? `${st.name} → ${st.tenants.slice(1).map((t) => t.buffer).join(" → ")}`
      : `${st.name} ${st.dtype}[${st.shape.join(",")}]`;
    parts.push(
      `<g class="storage ${st.role}" data-storage="${esc(st.name)}">` +
        `<text class="name" x="${labelW - 6}" y="${y + rowH - 5}" text-anchor="end">${
          esc(clip(label, 30))
        }</text>` +
        segs +
        `<text class="bytes" x="${labelW + n * cell + 6}" y="${y + rowH - 5}">${
          formatBytes(st.bytes)
        }${st.tenants.length > 1 ? ` ×${st.tenants.length} bufs` : ""}</text></g>`,
    );
  });
  parts.push(
    `<text class="axis" x="${labelW}" y="${
      height - 6
    }">program step → (inputs grey, intermediates blue, ` +
      `outputs green; a row with several segments is one storage reused)</text>`,
  );
  return `<svg class="memory" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" role="img" aria-label="memory timeline">${
      parts.join("")
    }</svg>`;
}

export interface TimingBar {
  group: string;
  series: string;
  ms: number;
  note?: string;
}

/** Horizontal bar chart of timings in milliseconds, grouped by metric, one colour per series. */
export function timingSvg(bars: TimingBar[]): string {
  const groups = [...new Set(bars.map((b) => b.group))];
  const series = [...new Set(bars.map((b) => b.series))];
  const labelW = 150, chartW = 480, barH = 16, gap = 10;
  const max = Math.max(...bars.map((b) => b.ms), 1e-3);
  const parts: string[] = [];
  let y = 8;
  for (const g of groups) {
    const gb = bars.filter((b) => b.group === g);
    parts.push(
      `<text class="group" x="${labelW - 8}" y="${
        y + (gb.length * barH) / 2 + 4
      }" text-anchor="end">${esc(g)}</text>`,
    );
    for (const b of gb) {
      const w = Math.max(1, (b.ms / max) * chartW);
      parts.push(
        `<g class="bar s${series.indexOf(b.series)}"><title>${
          esc(`${b.group} (${b.series}): ${b.ms.toFixed(2)} ms${b.note ? ` — ${b.note}` : ""}`)
        }</title>` +
          `<rect x="${labelW}" y="${y}" width="${w}" height="${barH - 3}" rx="2"/>` +
          `<text x="${labelW + w + 5}" y="${y + barH - 5}">${esc(b.series)} ${
            b.ms.toFixed(2)
          } ms</text></g>`,
      );
      y += barH;
    }
    y += gap;
  }
  const width = labelW + chartW + 170;
  return `<svg class="timings" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" ` +
    `role="img" aria-label="timings">${parts.join("")}</svg>`;
}

/** The kernel list: one <details> per step with its WGSL (host steps have none). */
export function kernelsHtml(a: Analysis): string {
  return a.steps.map((s) => {
    const head = s.kind === "host"
      ? `<span class="tag host">host</span> <b>${esc(s.name)}</b> custom op — ${
        esc(s.members.join(", "))
      }`
      : `<span class="tag ${esc(s.nodeKind)}">${esc(s.nodeKind)}</span> <b>${
        esc(s.name)
      }</b> — ${s.members.length} op(s): ${esc(clip(s.members.join(", "), 90))} · grid ${
        (s.workgroups ?? []).join("×")
      } · ${s.bindings?.length ?? 0} binding(s)`;
    const body = s.kind === "host"
      ? `<p>Runs on the host between GPU partitions. Reads ${
        esc(s.reads.join(", ") || "-")
      }, writes ${esc(s.writes.join(", ") || "-")}.</p>`
      : `<p class="reason">${esc(s.reason)}</p><p>bindings: ${
        (s.bindings ?? []).map((b) => `${esc(b.storage)} (${esc(b.dtype)}, ${esc(b.access)})`).join(
          ", ",
        )
      }</p><pre class="wgsl"><code>${esc(s.wgsl ?? "")}</code></pre>`;
    return `<details class="kernel" data-kind="${s.kind}" data-step="${s.index}"><summary>${head}</summary>${body}</details>`;
  }).join("\n");
}
