/**
 * Drawing a Graph: DOT text (for Graphviz), a self-contained SVG, or an HTML page around that SVG.
 * When a partition is given, the nodes of each fused VTA kernel sit on one coloured panel and
 * host nodes are grey and dashed, so the picture shows what runs where. Layout is a simple
 * layered one (each node one row below its deepest producer), which suits these mostly-chain
 * networks and needs no external tool.
 */
import type { Graph } from '../graph/ir.ts';
import { inferShapes } from '../graph/load.ts';
import { byName, hasName } from '../lib/named.ts';
import { maxOf, minOf } from '../lib/array-loops.ts';

/** What the compiler decided: fused VTA kernels (node names) and the nodes left on the host. */
export interface GraphPartition {
  kernels: { name: string; nodes: string[]; rule?: string }[];
  hostNodes: { node: string; reason?: string }[];
}

interface Box {
  id: string;
  label: string;
  detail: string;
  kind: 'input' | 'const' | 'node' | 'output';
  row: number;
  col: number;
  x: number;
  y: number;
}

const BOX_W = 230;
/** Room left of the boxes for edges that skip rows (residual connections), so none hides behind a box. */
const GUTTER = 70;
const BOX_H = 40;
const ROW_GAP = 30;
const COL_GAP = 40;
const MARGIN = 30;
const KERNEL_COLORS = ['#dbeafe', '#dcfce7', '#fef3c7', '#fce7f3', '#ede9fe', '#cffafe', '#fee2e2', '#e0e7ff'];

export const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmtType = (t: { shape: number[]; dtype: string }): string => `${t.dtype}[${t.shape.join('×')}]`;

function attrText(attrs: object | undefined): string {
  const entries = Object.entries(attrs ?? {}).filter(([, v]) => v !== undefined);
  return entries.map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v}`).join(' ');
}

/** Boxes for graph inputs, nodes and outputs, placed in rows; constants are folded into node labels. */
function layout(graph: Graph): { boxes: Box[]; edges: [string, string, string][]; width: number; height: number } {
  const types = inferShapes(graph);
  const rowOf = new Map<string, number>(); // tensor -> row of its producer
  const producer = new Map<string, string>(); // tensor -> box id
  const boxes: Box[] = [];
  const edges: [string, string, string][] = [];
  for (const i of graph.inputs) {
    rowOf.set(i.name, 0);
    producer.set(i.name, `in:${i.name}`);
    boxes.push({ id: `in:${i.name}`, label: i.name, detail: `input ${fmtType(i)}`, kind: 'input', row: 0, col: 0, x: 0, y: 0 });
  }
  for (const n of graph.nodes) {
    const dataIns = n.inputs.filter((t) => !hasName(graph.tensors, t));
    const row = 1 + maxOf([0, ...dataIns.map((t) => rowOf.get(t) ?? 0)]);
    const consts = n.inputs.filter((t) => hasName(graph.tensors, t)).map((t) => `${t}: ${fmtType(byName(graph.tensors, t)!)}`);
    const detail = [`${n.op} ${attrText(n.attrs)}`.trim(), `→ ${fmtType(types.get(n.output)!)}`, ...consts].join('\n');
    boxes.push({ id: `node:${n.name}`, label: `${n.name}: ${n.op}`, detail, kind: 'node', row, col: 0, x: 0, y: 0 });
    for (const t of dataIns) edges.push([producer.get(t)!, `node:${n.name}`, fmtType(types.get(t)!)]);
    rowOf.set(n.output, row);
    producer.set(n.output, `node:${n.name}`);
  }
  for (const o of graph.outputs) {
    const row = (rowOf.get(o) ?? 0) + 1;
    // A constant as an output has no producing box: no edge, and the box says what it is.
    const from = producer.get(o);
    boxes.push({ id: `out:${o}`, label: o, detail: `output ${from ? '' : 'constant '}${fmtType(types.get(o)!)}`, kind: 'output', row, col: 0, x: 0, y: 0 });
    if (from) edges.push([from, `out:${o}`, fmtType(types.get(o)!)]);
  }
  const perRow = new Map<number, number>();
  for (const b of boxes) {
    b.col = perRow.get(b.row) ?? 0;
    perRow.set(b.row, b.col + 1);
  }
  const cols = maxOf(perRow.values());
  const rows = maxOf(boxes.map((b) => b.row)) + 1;
  const width = 2 * MARGIN + GUTTER + cols * BOX_W + (cols - 1) * COL_GAP + 160;
  for (const b of boxes) {
    const inRow = perRow.get(b.row)!;
    const rowWidth = inRow * BOX_W + (inRow - 1) * COL_GAP;
    b.x = GUTTER + (width - GUTTER - 160 - rowWidth) / 2 + b.col * (BOX_W + COL_GAP);
    b.y = MARGIN + 40 + b.row * (BOX_H + ROW_GAP);
  }
  return { boxes, edges, width, height: MARGIN * 2 + 40 + rows * (BOX_H + ROW_GAP) };
}

/** Graphviz DOT text: one cluster per VTA kernel, host nodes dashed. */
export function graphToDot(graph: Graph, partition?: GraphPartition): string {
  const { boxes, edges } = layout(graph);
  const q = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
  const host = new Set(partition?.hostNodes.map((h) => `node:${h.node}`));
  const inKernel = new Map<string, number>();
  partition?.kernels.forEach((k, i) => k.nodes.forEach((n) => inKernel.set(`node:${n}`, i)));
  const line = (b: Box): string => {
    const shape = b.kind === 'node' ? 'box' : 'ellipse';
    const style = host.has(b.id) ? ', style="dashed,filled", fillcolor="#f3f4f6"' : b.kind === 'node' ? ', style=filled, fillcolor="#ffffff"' : '';
    return `    ${q(b.id)} [label=${q(`${b.label}\n${b.detail.split('\n')[1] ?? b.detail}`)}, shape=${shape}${style}];`;
  };
  const out = [`digraph ${q(graph.name)} {`, '  rankdir=TB;', '  node [fontname="Helvetica", fontsize=10];'];
  partition?.kernels.forEach((k, i) => {
    out.push(`  subgraph ${q(`cluster_${i}`)} {`, `    label=${q(`VTA kernel ${k.name}${k.rule ? ` (${k.rule})` : ''}`)};`, `    style=filled; color=${q(KERNEL_COLORS[i % KERNEL_COLORS.length]!)};`);
    for (const b of boxes) if (inKernel.get(b.id) === i) out.push(line(b));
    out.push('  }');
  });
  for (const b of boxes) if (!inKernel.has(b.id)) out.push(line(b).slice(2));
  for (const [from, to, label] of edges) out.push(`  ${q(from)} -> ${q(to)} [label=${q(label)}, fontsize=8];`);
  out.push('}');
  return out.join('\n') + '\n';
}

/** A standalone SVG picture (no scripts, no external references). */
export function graphToSvg(graph: Graph, partition?: GraphPartition): string {
  const { boxes, edges, width, height } = layout(graph);
  const byId = new Map(boxes.map((b) => [b.id, b]));
  const hostReason = new Map(partition?.hostNodes.map((h) => [`node:${h.node}`, h.reason ?? 'host']));
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`);
  parts.push(`<title>${escapeXml(graph.name)}</title>`);
  parts.push('<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6b7280"/></marker></defs>');
  parts.push(`<text x="${MARGIN}" y="${MARGIN + 4}" font-size="15" font-weight="bold">${escapeXml(graph.name)}</text>`);
  // Kernel panels first, so nodes draw on top of them.
  partition?.kernels.forEach((k, i) => {
    const members = k.nodes.map((n) => byId.get(`node:${n}`)).filter((b): b is Box => !!b);
    if (members.length === 0) return;
    const x0 = minOf(members.map((b) => b.x)) - 10;
    const y0 = minOf(members.map((b) => b.y)) - 10;
    const x1 = maxOf(members.map((b) => b.x)) + BOX_W + 10;
    const y1 = maxOf(members.map((b) => b.y)) + BOX_H + 10;
    const color = KERNEL_COLORS[i % KERNEL_COLORS.length]!;
    parts.push(`<g class="kernel" data-kernel="${escapeXml(k.name)}"><title>VTA kernel ${escapeXml(k.name)}${k.rule ? ` (rule ${escapeXml(k.rule)})` : ''}: ${escapeXml(k.nodes.join(', '))}</title>` +
      `<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" rx="10" fill="${color}" stroke="#64748b"/>` +
      `<text x="${x1 + 6}" y="${y0 + 14}" font-size="10" fill="#334155">VTA ${escapeXml(k.name)}</text></g>`);
  });
  let skipLane = 0;
  for (const [from, to, label] of edges) {
    const a = byId.get(from)!;
    const b = byId.get(to)!;
    if (b.row - a.row > 1) {
      // Skips rows: leave a's left side, run down the gutter (one lane per such edge), enter b's left side.
      const gx = Math.min(a.x, b.x) - 24 - 10 * (skipLane++ % 4);
      const ya = a.y + BOX_H / 2;
      const yb = b.y + BOX_H / 2;
      parts.push(`<g class="edge skip"><title>${escapeXml(`${a.label} → ${b.label}: ${label}`)}</title>` +
        `<path d="M${a.x},${ya} L${gx},${ya} L${gx},${yb} L${b.x},${yb}" fill="none" stroke="#7c3aed" stroke-width="1.5" marker-end="url(#arrow)"/></g>`);
      continue;
    }
    const x1 = a.x + BOX_W / 2;
    const y1 = a.y + BOX_H;
    const x2 = b.x + BOX_W / 2;
    const y2 = b.y;
    parts.push(`<g class="edge"><title>${escapeXml(label)}</title><line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="#6b7280" marker-end="url(#arrow)"/></g>`);
  }
  for (const b of boxes) {
    const reason = hostReason.get(b.id);
    const fill = b.kind === 'input' ? '#e0f2fe' : b.kind === 'output' ? '#f0fdf4' : reason ? '#f3f4f6' : '#ffffff';
    const dash = reason ? ' stroke-dasharray="4 3"' : '';
    const rx = b.kind === 'node' ? 4 : 20;
    const title = [b.label, b.detail, reason ? `runs on the host: ${reason}` : ''].filter(Boolean).join('\n');
    // A node's second line: its attributes (the shift, the kernel size...) and the type it produces.
    const [opLine = '', typeLine = ''] = b.detail.split('\n');
    const attrs = opLine.slice(opLine.indexOf(' ') + 1);
    const sub = b.kind === 'node' ? (opLine.includes(' ') && attrs.length <= 22 ? `${attrs} ${typeLine}` : typeLine) : opLine;
    parts.push(`<g class="${b.kind}${reason ? ' host' : ''}" data-id="${escapeXml(b.id)}"><title>${escapeXml(title)}</title>` +
      `<rect x="${b.x}" y="${b.y}" width="${BOX_W}" height="${BOX_H}" rx="${rx}" fill="${fill}" stroke="#334155"${dash}/>` +
      `<text x="${b.x + BOX_W / 2}" y="${b.y + 16}" text-anchor="middle" font-weight="bold">${escapeXml(b.label.length > 38 ? `${b.label.slice(0, 37)}…` : b.label)}</text>` +
      `<text x="${b.x + BOX_W / 2}" y="${b.y + 31}" text-anchor="middle" fill="#475569" font-size="10">${escapeXml(sub)}</text></g>`);
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** An HTML page with the SVG inline, a legend and a node table; opens offline in any browser. */
export function graphToHtml(graph: Graph, partition?: GraphPartition, note?: string): string {
  const svg = graphToSvg(graph, partition);
  const legend = partition
    ? `<p>${partition.kernels.length} VTA kernel(s) (coloured panels) and ${partition.hostNodes.length} host node(s) (grey, dashed). Hover a box for details.</p>`
    : `<p>No partition shown${note ? `: ${escapeXml(note)}` : ''}. Hover a box for details.</p>`;
  const rows = graph.nodes.map((n) => {
    const k = partition?.kernels.find((kk) => kk.nodes.includes(n.name));
    const h = partition?.hostNodes.find((hh) => hh.node === n.name);
    const where = k ? `VTA ${k.name}` : h ? `host${h.reason ? ` (${h.reason})` : ''}` : '';
    return `<tr><td>${escapeXml(n.name)}</td><td>${n.op}</td><td>${escapeXml(n.inputs.join(', '))}</td><td>${escapeXml(attrText(n.attrs))}</td><td>${escapeXml(where)}</td></tr>`;
  });
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(graph.name)}: VTA graph</title>
<style>body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#0f172a}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #cbd5e1;padding:3px 8px;text-align:left}svg{max-width:100%;height:auto}</style>
</head><body>
<h1>${escapeXml(graph.name)}</h1>
${legend}
${svg}
<h2>Nodes</h2>
<table><tr><th>node</th><th>op</th><th>inputs</th><th>attributes</th><th>runs on</th></tr>
${rows.join('\n')}
</table>
</body></html>
`;
}
