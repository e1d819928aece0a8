import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = new URL('../..', import.meta.url).pathname;
const KIT = join(ROOT, 'conformance');

async function vta(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run('node', [join(ROOT, 'bin/vta.mjs'), ...args], { cwd: ROOT, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const tmp = () => mkdtempSync(join(tmpdir(), 'vta-cli-'));
const BUNDLE = join(KIT, 'alu-s0-blocked-b1000.bundle.json');

describe('vta replay', () => {
  it('writes {outputs, counters} that match the expected bytes', async () => {
    const dir = tmp();
    const out = join(dir, 'r.json');
    const r = await vta('replay', BUNDLE, '-o', out);
    expect(r.code).toBe(0);
    const result = JSON.parse(readFileSync(out, 'utf8'));
    const expected = JSON.parse(readFileSync(BUNDLE.replace('.bundle.', '.expected.'), 'utf8'));
    expect(result.outputs).toEqual(expected.outputs);
    expect(result.counters.alu_counter).toBeGreaterThan(0);
  });

  it('writes DIR/NAME.result.json for each bundle with --out-dir', async () => {
    const dir = tmp();
    const b2 = join(KIT, 'load-s0-blocked-b1000.bundle.json');
    const r = await vta('replay', BUNDLE, b2, '--out-dir', dir);
    expect(r.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['alu-s0-blocked-b1000.result.json', 'load-s0-blocked-b1000.result.json']);
  });

  it('refuses an invalid bundle with one line, a non-zero exit and no result file', async () => {
    const dir = tmp();
    const bad = join(dir, 'bad.bundle.json');
    const b = JSON.parse(readFileSync(BUNDLE, 'utf8'));
    b.insn.addr += 8; // misaligned
    writeFileSync(bad, JSON.stringify(b));
    const out = join(dir, 'bad.result.json');
    const r = await vta('replay', bad, '-o', out);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^error\[E_\w+\]: .*(align|16)/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual(['bad.bundle.json']);
  });

  it('refuses a deadlocked program naming the blocked stages', async () => {
    const dir = tmp();
    const asm = join(dir, 'p.s');
    // The store waits for a token that compute never pushes.
    writeFileSync(asm, 'store.out pop_prev sram_base=0 dram_base=0x100 y_size=1 x_size=1 x_stride=1\nfinish\n');
    const bin = join(dir, 'p.bin');
    expect((await vta('asm', asm, '-o', bin)).code).toBe(0);
    const prog = readFileSync(bin);
    const image = Buffer.alloc(0x2000);
    prog.copy(image, 0);
    const bundle = {
      format: 'vta-bundle/1',
      config: JSON.parse(readFileSync(join(ROOT, 'config/vta_config.json'), 'utf8')),
      memory: { base: 0x1000, data: image.toString('base64') },
      insn: { addr: 0x1000, count: 2 },
      outputs: [{ name: 'out', addr: 0x1000, bytes: 16 }],
    };
    const path = join(dir, 'dead.bundle.json');
    writeFileSync(path, JSON.stringify(bundle));
    const r = await vta('replay', path);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/deadlock|tokens|blocked|never/i);
  });

  it('refuses -o with several bundles', async () => {
    const r = await vta('replay', BUNDLE, BUNDLE, '-o', join(tmp(), 'x.json'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--out-dir/);
  });

  it('names an unknown driver and lists the known ones', async () => {
    const r = await vta('replay', BUNDLE, '--driver', 'nope');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown driver 'nope' \(known: .*fsim/);
  });
});

describe('vta conformance', () => {
  it('replays the kit on fsim and ends with N passed, N failed', async () => {
    const r = await vta('conformance', '--driver', 'fsim', '--filter', 's1-');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^\d+ passed, 0 failed$/);
  });

  it('reports the first differing byte of a wrong expectation', async () => {
    const dir = tmp();
    const name = 'alu-s0-blocked-b1000';
    writeFileSync(join(dir, `${name}.bundle.json`), readFileSync(join(KIT, `${name}.bundle.json`)));
    const exp = JSON.parse(readFileSync(join(KIT, `${name}.expected.json`), 'utf8'));
    const bytes = Buffer.from(exp.outputs.out, 'base64');
    bytes[5] = bytes[5]! ^ 0xff;
    exp.outputs.out = bytes.toString('base64');
    writeFileSync(join(dir, `${name}.expected.json`), JSON.stringify(exp));
    const r = await vta('conformance', dir);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toMatch(/FAIL alu-s0-blocked-b1000: output out differs at byte 5/);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('0 passed, 1 failed');
  });
});

describe('vta asm / disasm', () => {
  it('round-trips a bundle through disasm and asm', async () => {
    const dir = tmp();
    const d = await vta('disasm', BUNDLE, '--no-uops');
    expect(d.code).toBe(0);
    const text = d.stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/^\s*\d+\s+/, '')).join('\n');
    writeFileSync(join(dir, 'p.s'), text);
    expect((await vta('asm', join(dir, 'p.s'), '-o', join(dir, 'p.bin'))).code).toBe(0);
    const b = JSON.parse(readFileSync(BUNDLE, 'utf8'));
    const image = Buffer.from(b.memory.data, 'base64');
    const start = b.insn.addr - b.memory.base;
    expect(readFileSync(join(dir, 'p.bin'))).toEqual(image.subarray(start, start + b.insn.count * 16));
  });

  it('reports an assembler error with file and line and writes nothing', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'p.s'), 'finish\n# comment\ngemm uop_end=99999\n');
    const r = await vta('asm', join(dir, 'p.s'), '-o', join(dir, 'p.bin'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/p\.s:3: gemm field uop_end = 99999 does not fit/);
    expect(existsSync(join(dir, 'p.bin'))).toBe(false);
  });
});

describe('vta config', () => {
  it('shows derived quantities', async () => {
    const r = await vta('config', '--json');
    expect(JSON.parse(r.stdout)).toMatchObject({ uopDepth: 8192, inpDepth: 2048, wgtDepth: 1024, accDepth: 2048 });
  });

  it('names the bad key and its allowed range', async () => {
    const dir = tmp();
    const cfg = JSON.parse(readFileSync(join(ROOT, 'config/vta_config.json'), 'utf8'));
    cfg.LOG_BATCH = 7;
    writeFileSync(join(dir, 'c.json'), JSON.stringify(cfg));
    const r = await vta('config', join(dir, 'c.json'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/LOG_BATCH is 7; allowed range 0\.\.2/);
  });
});

describe('help', () => {
  it('every verb has --help', async () => {
    const top = await vta('--help');
    const verbs = [...top.stdout.matchAll(/^\s+vta (\w+)/gm)].map((m) => m[1]!);
    expect(verbs).toEqual(expect.arrayContaining(['asm', 'config', 'conformance', 'disasm', 'drivers', 'replay']));
    for (const v of verbs) {
      const r = await vta(v, '--help');
      expect(r.code, v).toBe(0);
      expect(r.stdout).toContain(`vta ${v}`);
    }
  });
});
