/**
 * The profile page (`vta viz --profile REPORT.json -o profile.html`): per-kernel bars of cycles and
 * of GEMM and ALU utilisation, and a roofline of each kernel against the config's compute peak
 * (MACs per cycle) and the memory model's bandwidth (bytes per cycle). One self-contained HTML
 * page with inline SVG, no script. The report shape is defined here, where it is drawn; api/report.ts
 * builds it (docs/profiling.md lists the fields).
 */
import { maxOf } from '../lib/array-loops.ts';
import { VtaError } from '../lib/errors.ts';

/** Stall cycles by cause: token = waiting for a dependency token, memory = for DRAM, fetch = for an instruction. */
export interface StageStalls {
  fetch: { memory: number; queueFull: number };
  load: { token: number; memory: number; fetch: number };
  compute: { token: number; memory: number; fetch: number };
  store: { token: number; memory: number; fetch: number };
}

export interface KernelProfile {
  name: string;
  nodes?: string[];
  insns?: number;
  /** Absent on a driver without a clock, as are the figures per cycle, busy and stalls. */
  cycles?: number;
  gemmOps: number;
  aluOps: number;
  macs: number;
  dram: { moved: number; minimum: number; overMinimum: number };
  /** MACs per byte moved (the roofline's x). */
  intensity: number;
  gemmUtilisation?: number;
  aluUtilisation?: number;
  macsPerCycle?: number;
  bytesPerCycle?: number;
  busy?: { fetch: number; load: number; compute: number; store: number };
  stalls?: StageStalls;
}

export interface ProfileReport {
  format: string;
  driver: string;
  config: { bitstream: string; batch: number; blockIn: number; blockOut: number; json: object };
  memory: { name: string; description: string; readLatency: number; busBytes: number; bytesPerCycle: number };
  /** The roofline's roof: MACs per cycle of the config, bytes per cycle of the memory model (clocked drivers). */
  peak: { macsPerCycle: number; bytesPerCycle?: number };
  note?: string;
  batches: number;
  kernels: KernelProfile[];
  total?: KernelProfile;
}

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const num = (x: number): string => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e4 ? `${(x / 1e3).toFixed(1)} k` : `${Math.round(x)}`);

/** Read a report file's JSON: the fields the page draws must be there (one line naming the first missing). */
export function parseProfileReport(raw: unknown, where: string): ProfileReport {
  const bad = (what: string) => new VtaError('E_USAGE', `${where}: not a vta run --report file (${what})`);
  if (typeof raw !== 'object' || raw === null) throw bad('not a JSON object');
  const r = raw as Partial<ProfileReport>;
  if (typeof r.format !== 'string' || !r.format.startsWith('vta-report/')) throw bad('format is not vta-report/…');
  if (!Array.isArray(r.kernels)) throw bad('kernels is missing');
  if (typeof r.peak?.macsPerCycle !== 'number') throw bad('peak.macsPerCycle is missing');
  for (const k of r.kernels) {
    if (typeof k?.name !== 'string' || typeof k.macs !== 'number' || typeof k.dram?.moved !== 'number') throw bad('a kernel lacks name, macs or dram.moved');
  }
  return r as ProfileReport;
}

const BAR_H = 18;
const BAR_GAP = 6;
/** Room for the kernel names left of the bars: about 7 px per character at 12 px. */
const labelWidth = (kernels: KernelProfile[]): number => Math.max(120, 10 + 7 * Math.max(0, maxOf(kernels.map((k) => k.name.length))));
const BAR_W = 420;
const VALUE_W = 120;

/** One horizontal bar chart: a row per kernel, bars scaled to `max`; class names let tests find them. */
function barChart(title: string, kernels: KernelProfile[], value: (k: KernelProfile) => number, max: number, text: (v: number) => string, cls: string): string {
  const h = kernels.length * (BAR_H + BAR_GAP) + 30;
  const LABEL_W = labelWidth(kernels);
  const rows = kernels.map((k, i) => {
    const v = value(k);
    const y = 24 + i * (BAR_H + BAR_GAP);
    const w = max > 0 ? Math.max(1, (BAR_W * v) / max) : 1;
    return (
      `<text x="${LABEL_W - 8}" y="${y + 13}" text-anchor="end">${escapeXml(k.name)}</text>` +
      `<rect class="bar ${cls}" data-kernel="${escapeXml(k.name)}" data-value="${v}" x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}"><title>${escapeXml(k.name)}: ${text(v)}</title></rect>` +
      `<text x="${LABEL_W + w + 6}" y="${y + 13}">${text(v)}</text>`
    );
  });
  return (
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="${LABEL_W + BAR_W + VALUE_W}" height="${h}" font-family="sans-serif" font-size="12">` +
    `<text x="0" y="14" font-weight="bold">${escapeXml(title)}</text>${rows.join('')}</svg>`
  );
}

const RL_W = 560;
const RL_H = 360;
const RL_M = 50;

/**
 * Log-log roofline: attainable MACs/cycle = min(peak, intensity × bandwidth); each kernel a point
 * at (MACs per byte moved, MACs per cycle achieved).
 */
function roofline(report: ProfileReport, kernels: KernelProfile[]): string {
  const peak = report.peak.macsPerCycle;
  const bw = report.peak.bytesPerCycle!;
  const xs = kernels.map((k) => k.intensity).filter((x) => x > 0);
  const ridge = peak / bw;
  const xMin = Math.min(ridge / 100, ...xs) / 2;
  const xMax = Math.max(ridge * 10, maxOf(xs)) * 2;
  const ys = kernels.map((k) => k.macsPerCycle ?? 0).filter((y) => y > 0);
  const yMin = Math.min(peak / 1000, ...ys) / 2;
  const yMax = peak * 2;
  const sx = (x: number) => RL_M + ((Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * (RL_W - 2 * RL_M);
  const sy = (y: number) => RL_H - RL_M - ((Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (RL_H - 2 * RL_M);
  const decades = (lo: number, hi: number) => {
    const out: number[] = [];
    for (let e = Math.ceil(Math.log10(lo)); e <= Math.floor(Math.log10(hi)); e++) out.push(10 ** e);
    return out;
  };
  const tick = (v: number) => (v >= 1 ? String(v) : v.toPrecision(1));
  const ticks =
    decades(xMin, xMax).map((x) => `<text class="tick" x="${sx(x).toFixed(1)}" y="${RL_H - RL_M + 14}" text-anchor="middle" font-size="10">${tick(x)}</text>`).join('') +
    decades(yMin, yMax).map((y) => `<text class="tick" x="${RL_M - 4}" y="${(sy(y) + 3).toFixed(1)}" text-anchor="end" font-size="10">${tick(y)}</text>`).join('');
  const roof = [xMin, ridge, xMax].map((x) => `${sx(x).toFixed(1)},${sy(Math.min(peak, x * bw)).toFixed(1)}`).join(' ');
  const points = kernels
    .filter((k) => k.intensity > 0 && (k.macsPerCycle ?? 0) > 0)
    .map((k, i) => {
      const label = `${k.name}: ${k.intensity.toFixed(2)} MACs/B, ${k.macsPerCycle!.toFixed(1)} MACs/cycle (${pct(k.macsPerCycle! / peak)} of peak)`;
      return (
        `<circle class="point" data-kernel="${escapeXml(k.name)}" cx="${sx(k.intensity).toFixed(1)}" cy="${sy(k.macsPerCycle!).toFixed(1)}" r="5" fill="hsl(${(i * 47) % 360},65%,45%)"><title>${escapeXml(label)}</title></circle>` +
        `<text x="${(sx(k.intensity) + 7).toFixed(1)}" y="${(sy(k.macsPerCycle!) - 6).toFixed(1)}" font-size="10">${escapeXml(k.name)}</text>`
      );
    });
  return (
    `<svg class="roofline" xmlns="http://www.w3.org/2000/svg" width="${RL_W}" height="${RL_H}" font-family="sans-serif" font-size="12">` +
    `<rect x="${RL_M}" y="${RL_M}" width="${RL_W - 2 * RL_M}" height="${RL_H - 2 * RL_M}" fill="none" stroke="#ccc"/>` +
    `<polyline class="roof" points="${roof}" fill="none" stroke="#b91c1c" stroke-width="2"/>` +
    `<text x="${RL_W - RL_M}" y="${sy(peak) - 6}" text-anchor="end" fill="#b91c1c">peak ${peak} MACs/cycle; ${bw} B/cycle (${escapeXml(report.memory.name)})</text>` +
    ticks +
    points.join('') +
    `<text x="${RL_W / 2}" y="${RL_H - 12}" text-anchor="middle">arithmetic intensity (MACs per DRAM byte, log)</text>` +
    `<text transform="translate(14,${RL_H / 2}) rotate(-90)" text-anchor="middle">MACs per cycle (log)</text></svg>`
  );
}

function stallTable(kernels: KernelProfile[]): string {
  const head = ['kernel', 'cycles', 'GEMM util', 'ALU util', 'DRAM / min', 'load: token/mem/fetch', 'compute: token/mem/fetch', 'store: token/mem/fetch'];
  const stage = (s?: { token: number; memory: number; fetch: number }) => (s ? `${num(s.token)} / ${num(s.memory)} / ${num(s.fetch)}` : '');
  const rows = kernels.map((k) =>
    [k.name, k.cycles !== undefined ? num(k.cycles) : '—', k.gemmUtilisation !== undefined ? pct(k.gemmUtilisation) : '—', k.aluUtilisation !== undefined ? pct(k.aluUtilisation) : '—', `${k.dram.overMinimum.toFixed(2)}×`, stage(k.stalls?.load), stage(k.stalls?.compute), stage(k.stalls?.store)],
  );
  const tr = (cells: string[], tag: string) => `<tr>${cells.map((c) => `<${tag}>${escapeXml(c)}</${tag}>`).join('')}</tr>`;
  return `<table class="kernels">${tr(head, 'th')}${rows.map((r) => tr(r, 'td')).join('')}</table>`;
}

/** The whole page. Without cycles (fsim) it says so and draws the DRAM bars only. */
export function profileToHtml(report: ProfileReport): string {
  const kernels = report.kernels;
  const clocked = kernels.some((k) => k.cycles !== undefined) && report.peak.bytesPerCycle !== undefined;
  const title = `VTA profile: ${report.driver}, ${report.config.bitstream}`;
  const charts = clocked
    ? [
        barChart('Cycles per kernel', kernels, (k) => k.cycles ?? 0, Math.max(0, maxOf(kernels.map((k) => k.cycles ?? 0))), num, 'cycles'),
        barChart('GEMM utilisation (MACs / (cycles × peak))', kernels, (k) => k.gemmUtilisation ?? 0, 1, pct, 'gemm'),
        barChart('ALU utilisation (ALU uop-iterations / cycle)', kernels, (k) => k.aluUtilisation ?? 0, 1, pct, 'alu'),
        `<h2>Roofline</h2>${roofline(report, kernels)}`,
      ]
    : [`<p class="note">${escapeXml(report.note ?? 'the report has no cycle counts')}: no cycle bars and no roofline.</p>`];
  const dram = barChart('DRAM bytes moved / minimum', kernels, (k) => k.dram.overMinimum, Math.max(1, maxOf(kernels.map((k) => k.dram.overMinimum))), (v) => `${v.toFixed(2)}×`, 'dram');
  const total = report.total;
  const summary = total
    ? `<p class="summary">total: ${total.cycles !== undefined ? `${num(total.cycles)} cycles, GEMM utilisation ${pct(total.gemmUtilisation ?? 0)}, ` : ''}${num(total.macs)} MACs, DRAM ${num(total.dram.moved)} B (minimum ${num(total.dram.minimum)} B)</p>`
    : '';
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<style>body{font-family:sans-serif;margin:20px}svg{display:block;margin:10px 0}.bar.cycles{fill:#2563eb}.bar.gemm{fill:#16a34a}.bar.alu{fill:#d97706}.bar.dram{fill:#7c3aed}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}td:first-child,th:first-child{text-align:left}</style></head>
<body><h1>${escapeXml(title)}</h1>
<p>memory: ${escapeXml(report.memory.description)}; peak ${report.peak.macsPerCycle} MACs/cycle (BATCH × BLOCK_IN × BLOCK_OUT)${report.batches > 1 ? `; ${report.batches} batches summed` : ''}</p>
${summary}
${charts.join('\n')}
${dram}
<h2>Kernels</h2>${stallTable(kernels)}
</body></html>
`;
}
