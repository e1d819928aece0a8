/**
 * vta sweep on a small grid (timing driver): a point's cycles and DRAM bytes are those of running
 * its config alone, slices merged give the table of the whole grid, and bad grids are one-line
 * E_GRID errors naming the entry and the field.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, vta } from '../robustness/vta-process.ts';
import { compileModel, modelInputs, runModel, type SourceModel } from '../../api/index.ts';
import { parseGrid, selectPoints } from '../../api/config-grid.ts';
import { mergeSweeps, missingPoints, sweepCsv, sweepPoints, sweepText } from '../../api/sweep.ts';
import { describeError } from '../../lib/errors.ts';
import type { Graph } from '../../graph/ir.ts';
import { sweepPlotSvg } from '../../viz/sweep-plot.ts';
import { GraphBuilder, randomTensor, rng } from '../compiler/helpers.ts';

/** `vta ARGS` as a user runs it, from the repository root. */
const run = (...args: string[]) => vta(args, ROOT, { timeoutMs: 120_000 });

/** A conv over 32 channels and a dense: large enough that the buffers and bus change the cycles. */
function network(): Graph {
  const r = rng(11);
  const b = new GraphBuilder('sweep-net', [{ name: 'x', shape: [1, 32, 12, 12], dtype: 'int8' }]);
  let t = b.node('conv2d', ['x', b.constant('w', randomTensor(r, [32, 32, 3, 3], 'int8'))], { pad: [1, 1, 1, 1] }, 'conv');
  t = b.node('requantize', [t], { shift: 9 }, 'rq');
  t = b.node('cast', [t], { dtype: 'int8' }, 'cast');
  t = b.node('reshape', [t], { shape: [1, 4608] }, 'flat');
  t = b.node('dense', [t, b.constant('fc_w', randomTensor(r, [16, 4608], 'int8'))], undefined, 'fc');
  t = b.node('requantize', [t], { shift: 12 }, 'fc_rq');
  return b.output(b.node('cast', [t], { dtype: 'int8' }, 'fc_cast'));
}

const GRID = {
  format: 'vta-config-grid/1',
  axes: { LOG_ACC_BUFF_SIZE: [14, 17], memory: ['ideal', 'pynq'] },
  points: [{ LOG_BUS_WIDTH: 7 }],
};

const source = (): SourceModel => ({ path: 'sweep-net.json', format: 'graph', graph: network(), notes: [] });

const gridError = (raw: unknown): string => {
  try {
    parseGrid(raw, 'g.json');
  } catch (e) {
    return describeError(e);
  }
  return 'no error';
};

describe('vta sweep (timing driver)', () => {
  it("gives each point the cycles and DRAM bytes of its config run alone; slices merge into the whole grid's table", async () => {
    const grid = parseGrid(GRID, 'g.json');
    expect(grid.points.map((p) => p.config.bitstream)).toEqual([
      '1x16_i8w8a32_15_15_18_14', '1x16_i8w8a32_15_15_18_14', '1x16_i8w8a32_15_15_18_17', '1x16_i8w8a32_15_15_18_17', '1x16_i8w8a32_15_15_18_17_bus128',
    ]);
    const src = source();
    const inputs = await modelInputs(src);
    const whole = await sweepPoints(src, grid, grid.points, { driver: 'timing', inputs });
    expect(whole.rows.every((r) => r.error === undefined && r.cycles! > 0)).toBe(true);
    // The points differ: smaller ACC, slower DRAM and a wider bus each change the cycles.
    expect(new Set(whole.rows.map((r) => r.cycles)).size).toBe(5);
    for (const p of [grid.points[1]!, grid.points[4]!]) {
      const model = compileModel(src, { config: p.config });
      const report = await runModel(model, inputs, { driver: 'timing', memory: p.memory });
      const cycles = report.kernels.reduce((n, k) => n + k.counters!.cycles!, 0);
      expect(whole.rows[p.index]!.cycles, `point ${p.index}`).toBe(cycles);
    }
    const a = await sweepPoints(src, grid, selectPoints(grid, '0..1'), { driver: 'timing', inputs });
    const b = await sweepPoints(src, grid, selectPoints(grid, '2..4'), { driver: 'timing', inputs });
    expect(missingPoints(a)).toEqual([2, 3, 4]);
    const merged = mergeSweeps([{ result: b, path: 'b.json' }, { result: a, path: 'a.json' }]);
    expect(merged).toEqual(whole);
    expect(sweepCsv(merged)).toBe(sweepCsv(whole));
    expect(() => mergeSweeps([{ result: a, path: 'a.json' }, { result: a, path: 'a2.json' }])).toThrow('a2.json: point 0 is also in a.json');
    const other = await sweepPoints(src, parseGrid({ ...GRID, points: [] }, 'h.json'), [], { driver: 'timing', inputs });
    expect(() => mergeSweeps([{ result: a, path: 'a.json' }, { result: other, path: 'h.json' }])).toThrow(/h\.json: grid \w+ differs from a\.json's \w+: not a slice of the same sweep/);
  }, 180_000);

  it('records a point the model does not fit as its error, and plots the others', async () => {
    const grid = parseGrid({ format: 'vta-config-grid/1', points: [{}, { LOG_BLOCK: 5, LOG_WGT_BUFF_SIZE: 13 }] }, 'g.json');
    const r = await sweepPoints(source(), grid, grid.points, { driver: 'timing', inputs: await modelInputs(source()) });
    expect(r.rows[0]!.error).toBeUndefined();
    expect(r.rows[1]!.error).toMatch(/^error\[E_UNTILEABLE\]: node conv \(conv2d\): cannot be tiled/);
    expect(sweepText(r).split('\n')[2]).toContain('error[E_UNTILEABLE]');
    const svg = sweepPlotSvg('a <b> & c', r.rows.map((row) => ({ label: `${row.index}`, ...row })));
    expect(svg).toContain('<title>a &lt;b&gt; &amp; c</title>');
    expect(svg.match(/<rect x=/g)).toHaveLength(2);
    expect(svg).toContain('cannot be tiled');
  }, 120_000);
});

describe('config grid errors', () => {
  it('names the entry and the field in one line', () => {
    const cases: [unknown, string][] = [
      [[], 'error[E_GRID]: g.json: a config grid is a JSON object with format "vta-config-grid/1"'],
      [{ axes: {} }, 'error[E_GRID]: g.json: format is undefined, expected "vta-config-grid/1"'],
      [{ format: 'vta-config-grid/1', axis: {} }, 'error[E_GRID]: g.json: unknown entry "axis" (entries: format, base, axes, points)'],
      [{ format: 'vta-config-grid/1' }, 'error[E_GRID]: g.json: no design points: give axes or points'],
      [{ format: 'vta-config-grid/1', axes: { LOG_BLOK: [3] } }, 'error[E_GRID]: g.json: axes: unknown field "LOG_BLOK" (fields: LOG_INP_WIDTH'],
      [{ format: 'vta-config-grid/1', axes: { LOG_BLOCK: [4, 9] } }, 'error[E_GRID]: g.json: axes.LOG_BLOCK[1]: LOG_BLOCK is 9; allowed range 3..5'],
      [{ format: 'vta-config-grid/1', axes: { LOG_BLOCK: [4, 4] } }, 'error[E_GRID]: g.json: axes.LOG_BLOCK[1]: 4 is listed twice'],
      [{ format: 'vta-config-grid/1', axes: { LOG_BLOCK: [] } }, 'error[E_GRID]: g.json: axes.LOG_BLOCK: [] is not a non-empty array of values'],
      [{ format: 'vta-config-grid/1', axes: { memory: ['pynqq'] } }, 'error[E_GRID]: g.json: axes.memory[0]: "pynqq" is not a memory preset (ideal, pynq, ultra96, zcu104)'],
      [{ format: 'vta-config-grid/1', axes: { LOG_BUS_WIDTH: ['7'] } }, 'error[E_GRID]: g.json: axes.LOG_BUS_WIDTH[0]: "7" is not a whole number'],
      [{ format: 'vta-config-grid/1', points: [{}, { memory_latency: 0 }] }, 'error[E_GRID]: g.json: points[1].memory_latency: 0 is outside 1..1000000'],
      [{ format: 'vta-config-grid/1', points: [3] }, 'error[E_GRID]: g.json: points[0]: 3 is not an object of field: value'],
      [{ format: 'vta-config-grid/1', base: { LOG_BLOCK: 4 }, points: [{}] }, 'error[E_GRID]: g.json: base: missing key'],
      [
        { format: 'vta-config-grid/1', axes: { LOG_BLOCK: [3, 4], LOG_ACC_BUFF_SIZE: [15] } },
        'error[E_GRID]: g.json: point 0 (LOG_BLOCK=3 LOG_ACC_BUFF_SIZE=15): gemm field',
      ],
    ];
    for (const [raw, want] of cases) {
      const got = gridError(raw);
      expect(got.startsWith(want), `${got}\n  should start with ${want}`).toBe(true);
      expect(got).not.toContain('\n');
    }
  });

  it('selects slices inside the grid only', () => {
    const grid = parseGrid(GRID, 'g.json');
    expect(selectPoints(grid, '3').map((p) => p.index)).toEqual([3]);
    expect(selectPoints(grid, '1..2').map((p) => p.index)).toEqual([1, 2]);
    expect(selectPoints(grid, '3..9').map((p) => p.index)).toEqual([3, 4]);
    expect(() => selectPoints(grid, '5..9')).toThrow("--points 5..9: outside the grid's points 0..4");
    expect(() => selectPoints(grid, '3..2')).toThrow("--points 3..2: outside the grid's points 0..4");
    expect(() => selectPoints(grid, 'a')).toThrow('--points a: expected I or I..J');
  });
});

describe('vta sweep (command line)', () => {
  it('writes the table and plot; two slices merged give the same CSV as the whole grid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vta-sweep-'));
    const model = join(dir, 'net.json');
    writeFileSync(model, JSON.stringify(network()));
    const grid = join(dir, 'grid.json');
    writeFileSync(grid, JSON.stringify({ format: 'vta-config-grid/1', axes: { LOG_ACC_BUFF_SIZE: [14, 17], LOG_BUS_WIDTH: [6, 7] } }));
    const whole = await run('sweep', model, '--config-grid', grid, '-o', join(dir, 'whole'));
    expect(whole.stderr).toBe('');
    expect(whole.stdout).toContain('sweep ' + model + ' on timing: 4 of 4 points');
    expect(readFileSync(join(dir, 'whole.svg'), 'utf8')).toMatch(/^<svg /);
    const a = await run('sweep', model, '--config-grid', grid, '--points', '0..2', '-o', join(dir, 'a'));
    const b = await run('sweep', model, '--config-grid', grid, '--point', '3', '-o', join(dir, 'b'));
    expect(a.stderr + b.stderr).toBe('');
    expect(a.stdout).toContain('3 of 4 points (missing 1: 3)');
    const m = await run('sweep', '--merge', join(dir, 'a.json'), join(dir, 'b.json'), '-o', join(dir, 'merged'));
    expect(m.stderr).toBe('');
    expect(readFileSync(join(dir, 'merged.csv'), 'utf8')).toBe(readFileSync(join(dir, 'whole.csv'), 'utf8'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"format": "vta-config-grid/1", "axes": {"LOG_BLOCK": [4, 6]}}');
    const e = await run('sweep', model, '--config-grid', bad);
    expect(e.stderr.trim()).toBe(`error[E_GRID]: ${bad}: axes.LOG_BLOCK[1]: LOG_BLOCK is 6; allowed range 3..5`);
  }, 240_000);
});
