/**
 * The profile page's HTML (viz/profile.ts): a bar per kernel in each chart sized by its value, a
 * roofline point per kernel that did GEMM work, names escaped, and without cycles a note instead
 * of the cycle charts. Reading a report file refuses what is not one, in one line.
 */
import { describe, expect, it } from 'vitest';
import { parseProfileReport, profileToHtml } from '../../viz/profile.ts';
import { clockedReport, unclockedReport } from './profile-fixtures.ts';

const attr = (html: string, re: RegExp): string[] => [...html.matchAll(re)].map((m) => m[1]!);

describe('profile page', () => {
  it('draws cycle, GEMM, ALU and DRAM bars per kernel and a roofline point per GEMM kernel', () => {
    const report = clockedReport();
    const html = profileToHtml(report);
    for (const cls of ['cycles', 'gemm', 'alu', 'dram']) {
      expect(attr(html, new RegExp(`<rect class="bar ${cls}" data-kernel="([^"]*)"`, 'g'))).toEqual(report.kernels.map((k) => k.name.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')));
    }
    const cycles = attr(html, /<rect class="bar cycles" [^>]*data-value="([^"]*)"/g).map(Number);
    expect(cycles).toEqual(report.kernels.map((k) => k.cycles));
    // The longest kernel has the longest bar.
    const widths = attr(html, /<rect class="bar cycles" [^>]*width="([^"]*)"/g).map(Number);
    expect(widths.indexOf(Math.max(...widths))).toBe(cycles.indexOf(Math.max(...cycles)));
    const points = attr(html, /<circle class="point" data-kernel="([^"]*)"/g);
    expect(points).toEqual(report.kernels.filter((k) => k.macs > 0).map((k) => k.name.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')));
    expect(html).toContain('<polyline class="roof"');
    expect(html).not.toContain('conv<1>');
    expect(html).toContain('ideal (read latency 1, no limit on outstanding reads, 64-bit bus, write latency 1)');
  });

  it('without cycles: a note, DRAM bars, no cycle bars and no roofline', () => {
    const html = profileToHtml(unclockedReport());
    expect(html).toMatch(/class="note">cycles, utilisation and stalls are unavailable/);
    expect(html).not.toContain('class="bar cycles"');
    expect(html).not.toContain('class="roofline"');
    expect(html.match(/class="bar dram"/g)!.length).toBe(3);
  });

  it('refuses a file that is not a run report, naming it', () => {
    expect(() => parseProfileReport({ traceEvents: [] }, 'x.json')).toThrow(/^x\.json: not a vta run --report file \(format is not vta-report/);
    expect(() => parseProfileReport([], 'y.json')).toThrow(/^y\.json: not a vta run --report file/);
    const r = JSON.parse(JSON.stringify(clockedReport()));
    delete r.kernels[1].macs;
    expect(() => parseProfileReport(r, 'z.json')).toThrow(/a kernel lacks name, macs or dram\.moved/);
    expect(parseProfileReport(JSON.parse(JSON.stringify(clockedReport())), 'ok.json').kernels.length).toBe(3);
  });
});
