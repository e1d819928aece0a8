/**
 * The one table format of `make bench`: every bench file returns its figures in this shape, and
 * the printed table and the JSON in bench/results both come from here. A figure that has an anchor
 * (TVM's fsim, TVM's Chisel tsim, onnxruntime on the same model, `node -e 1`) carries it, with the
 * anchor's value in the same unit, so the ratio is printed and written beside it.
 */

/** One measured figure: a median, its unit, and the anchor it stands beside. */
export interface Figure {
  value: number | string;
  unit?: string;
  /** What the figure is compared with; `value` in the figure's unit (the ratio is figure / anchor). */
  anchor?: { name: string; value: number };
  /** The goal the figure is held to, as words ("≤ 1 s"). */
  goal?: string;
}

/** A bench file's figures by name (plain numbers and strings are figures without unit or anchor). */
export type Figures = Record<string, number | string | Figure>;

/** A figure with a unit and, when given, its anchor. */
export function figure(value: number | string, unit: string, anchor?: { name: string; value: number }, goal?: string): Figure {
  return { value, unit, ...(anchor ? { anchor } : {}), ...(goal ? { goal } : {}) };
}

const asFigure = (v: number | string | Figure): Figure => (typeof v === 'object' ? v : { value: v });

function show(v: number | string): string {
  if (typeof v === 'string') return v;
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(4);
}

/** The ratio of a figure to its anchor, when both are numbers. */
function ratioOf(f: Figure): number | undefined {
  return f.anchor && typeof f.value === 'number' && f.anchor.value !== 0 ? f.value / f.anchor.value : undefined;
}

/** The printed table: figure, value and unit, then the anchor, its value and the ratio, then the goal. */
export function formatTable(title: string, figures: Figures): string {
  const rows = Object.entries(figures).map(([name, v]) => {
    const f = asFigure(v);
    const ratio = ratioOf(f);
    return [name, show(f.value), f.unit ?? '', f.anchor?.name ?? '', f.anchor ? show(f.anchor.value) : '', ratio === undefined ? '' : `${ratio.toPrecision(3)}×`, f.goal ?? ''];
  });
  const head = ['figure (median)', 'value', 'unit', 'anchor', 'anchor value', 'ratio', 'goal'];
  const widths = head.map((h, c) => rows.reduce((w, r) => Math.max(w, r[c]!.length), h.length));
  const line = (cells: string[]) => `  ${cells.map((s, c) => (c === 1 || c === 4 || c === 5 ? s.padStart(widths[c]!) : s.padEnd(widths[c]!))).join('  ')}`.trimEnd();
  return [`\n${title}`, line(head), ...rows.map(line)].join('\n');
}

/** The figures as written to bench/results: value, unit, anchor, anchor value and ratio per figure. */
export function figuresJson(figures: Figures): Record<string, Record<string, number | string>> {
  return Object.fromEntries(Object.entries(figures).map(([name, v]) => {
    const f = asFigure(v);
    const ratio = ratioOf(f);
    return [name, {
      value: f.value,
      ...(f.unit ? { unit: f.unit } : {}),
      ...(f.anchor ? { anchor: f.anchor.name, anchor_value: f.anchor.value } : {}),
      ...(ratio !== undefined ? { ratio } : {}),
      ...(f.goal ? { goal: f.goal } : {}),
    }];
  }));
}
