/**
 * The plot of a design-space sweep (`vta sweep`): a self-contained SVG with one row per design
 * point and two bar panels, cycles and DRAM bytes, each scaled to its own largest value. A point
 * that did not run shows its error instead of bars. Hovering a bar shows the exact figure.
 */
import { escapeXml } from './graph-view.ts';

export interface PlotRow {
  label: string;
  cycles?: number;
  dramBytes?: number;
  error?: string;
}

const ROW = 22;
const BAR = 14;
/** Label column: about 6.5 px per character at 11 px, at least this wide. */
const LABEL_MIN_W = 160;
const LABEL_CHAR_W = 6.5;
const PANEL_W = 300;
const GAP = 40;
const TOP = 56;
const MARGIN = 16;

const figure = (v: number) => v.toLocaleString('en-US');

/** One panel's bar for a row: width proportional to the panel's largest value, the figure after it. */
function bar(x0: number, y: number, value: number, max: number, colour: string, what: string): string {
  const w = max > 0 ? Math.max(1, (value / max) * (PANEL_W - 90)) : 1;
  return `<g><title>${escapeXml(`${what}: ${figure(value)}`)}</title><rect x="${x0}" y="${y}" width="${w.toFixed(1)}" height="${BAR}" fill="${colour}"/>` +
    `<text x="${(x0 + w + 4).toFixed(1)}" y="${y + BAR - 3}" font-size="10" fill="#334155">${figure(value)}</text></g>`;
}

/** The SVG text of the plot titled `title`. */
export function sweepPlotSvg(title: string, rows: PlotRow[]): string {
  const labelW = Math.ceil(Math.max(LABEL_MIN_W, ...rows.map((r) => r.label.length * LABEL_CHAR_W + 16)));
  const width = MARGIN * 2 + labelW + 2 * PANEL_W + GAP;
  const height = TOP + rows.length * ROW + MARGIN;
  const maxOf = (f: (r: PlotRow) => number | undefined) => Math.max(0, ...rows.map((r) => f(r) ?? 0));
  const maxCycles = maxOf((r) => r.cycles);
  const maxBytes = maxOf((r) => r.dramBytes);
  const cyclesX = MARGIN + labelW;
  const bytesX = cyclesX + PANEL_W + GAP;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${MARGIN}" y="${MARGIN + 8}" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${cyclesX}" y="${TOP - 10}" font-size="12" font-weight="bold">cycles</text>`,
    `<text x="${bytesX}" y="${TOP - 10}" font-size="12" font-weight="bold">DRAM bytes (loads + stores)</text>`,
  ];
  rows.forEach((r, i) => {
    const y = TOP + i * ROW;
    parts.push(`<text x="${MARGIN}" y="${y + BAR - 3}" font-size="11">${escapeXml(r.label)}</text>`);
    if (r.error !== undefined || r.cycles === undefined) {
      parts.push(`<text x="${cyclesX}" y="${y + BAR - 3}" font-size="10" fill="#b91c1c">${escapeXml(r.error ?? 'did not run')}</text>`);
      return;
    }
    parts.push(bar(cyclesX, y, r.cycles, maxCycles, '#2563eb', 'cycles'));
    parts.push(bar(bytesX, y, r.dramBytes ?? 0, maxBytes, '#d97706', 'DRAM bytes'));
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
