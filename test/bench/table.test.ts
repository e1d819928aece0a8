/** The one table format of `make bench`: figures beside their anchors, printed and as JSON. */
import { describe, expect, it } from 'vitest';
import { figure, figuresJson, formatTable, type Figures } from '../../bench/table.ts';

const figures: Figures = {
  'fsim run': figure(0.3, 'CPU s', { name: "TVM's fsim", value: 1.2 }, '≤ 0.25 s'),
  'kernels': 29,
  'tile': '8,4,7,14,2',
};

describe('bench table', () => {
  it('prints each figure with its unit, anchor, anchor value, ratio and goal', () => {
    const lines = formatTable('fsim', figures).split('\n');
    expect(lines[1]).toBe('fsim');
    expect(lines[2]).toMatch(/^ {2}figure \(median\) +value +unit +anchor +anchor value +ratio +goal$/);
    const run = lines.find((l) => l.includes('fsim run'))!;
    expect(run).toMatch(/0\.3000 +CPU s +TVM's fsim +1\.200 +0\.250× +≤ 0\.25 s$/);
    expect(lines.find((l) => l.includes('kernels'))).toMatch(/kernels +29$/);
    expect(lines.find((l) => l.includes('tile'))).toMatch(/tile +8,4,7,14,2$/);
  });

  it('writes the same figures to JSON, the ratio computed from the anchor', () => {
    const json = figuresJson(figures);
    expect(json['fsim run']).toEqual({ value: 0.3, unit: 'CPU s', anchor: "TVM's fsim", anchor_value: 1.2, ratio: 0.3 / 1.2, goal: '≤ 0.25 s' });
    expect(json.kernels).toEqual({ value: 29 });
    expect(json.tile).toEqual({ value: '8,4,7,14,2' });
  });
});
