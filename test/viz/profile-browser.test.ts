/**
 * The profile page in a real browser: headless Chromium (`make chromium` installs Debian's) loads
 * the page written by `vta viz --profile`, and the DOM it builds holds the bars and roofline points
 * of every kernel, with no console error; a screenshot is not blank. Skipped, saying why, when
 * Chromium is not installed.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { clockedReport } from './profile-fixtures.ts';

const ROOT = join(import.meta.dirname, '..', '..');

function chromiumPath(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
const CHROMIUM = chromiumPath();
if (!CHROMIUM) console.warn('profile page browser test skipped: chromium is not installed (make chromium installs it)');

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--enable-logging=stderr', '--v=0'];

async function chromium(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(CHROMIUM!, [...FLAGS, ...args], { timeout: 90_000, maxBuffer: 1 << 26 });
}

/** Distinct RGB colours of an 8-bit RGB(A) PNG without interlacing (what Chromium writes). */
function pngColours(png: Buffer): number {
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const channels = png[25] === 6 ? 4 : 3;
  const idat: Buffer[] = [];
  for (let off = 8; off < png.length; ) {
    const len = png.readUInt32BE(off);
    if (png.toString('latin1', off + 4, off + 8) === 'IDAT') idat.push(png.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const prev = new Uint8Array(stride);
  const cur = new Uint8Array(stride);
  const colours = new Set<number>();
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i]!;
      const a = i >= channels ? cur[i - channels]! : 0;
      const b = prev[i]!;
      const c = i >= channels ? prev[i - channels]! : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      cur[i] = (x + [0, a, b, (a + b) >> 1, paeth][filter]!) & 0xff;
    }
    for (let i = 0; i < stride; i += channels) colours.add((cur[i]! << 16) | (cur[i + 1]! << 8) | cur[i + 2]!);
    prev.set(cur);
  }
  return colours.size;
}

describe.skipIf(!CHROMIUM)('profile page in headless Chromium', () => {
  it('the DOM has every kernel bar and roofline point, no console error, and the page is not blank', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vta-profile-'));
    const reportFile = join(dir, 'report.json');
    const page = join(dir, 'profile.html');
    const report = clockedReport();
    writeFileSync(reportFile, JSON.stringify(report));
    // The page as the command writes it.
    await promisify(execFile)('node', [join(ROOT, 'bin/vta.mjs'), 'viz', '--profile', reportFile, '-o', page], {
      cwd: ROOT, env: { ...process.env, VTA_DEV: '1' }, timeout: 60_000,
    });
    const url = pathToFileURL(page).href;
    const { stdout: dom, stderr } = await chromium('--dump-dom', url);
    const count = (re: RegExp) => (dom.match(re) ?? []).length;
    expect(dom).toContain(`<title>VTA profile: tsim, ${report.config.bitstream}</title>`);
    for (const cls of ['cycles', 'gemm', 'alu', 'dram']) expect(count(new RegExp(`<rect class="bar ${cls}"`, 'g'))).toBe(report.kernels.length);
    expect(count(/<circle class="point"/g)).toBe(report.kernels.filter((k) => k.macs > 0).length);
    expect(count(/<polyline class="roof"/g)).toBe(1);
    expect(count(/<tr>/g)).toBe(report.kernels.length + 1);
    expect(stderr).not.toMatch(/CONSOLE|Uncaught/);

    const shot = join(dir, 'profile.png');
    await chromium('--window-size=1000,1400', `--screenshot=${shot}`, url);
    // Bars of four colours, text and background: far more than a blank page's one colour.
    expect(pngColours(readFileSync(shot))).toBeGreaterThan(8);
  });
});
