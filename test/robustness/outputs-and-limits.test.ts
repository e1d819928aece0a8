/**
 * Two outputs of one command naming one file, an error line longer than a pipe holds, and the
 * stated limits (docs/limits.md, lib/limits.ts): each limit is triggered here as cheaply as it can
 * be (sparse files stand for huge ones) and refused with its error code and a line naming it.
 */
import { existsSync, mkdtempSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelInputs, openModel } from '../../api/index.ts';
import { refuseClashes } from '../../cli/options.ts';
import { loadFusionRules } from '../../compiler/fuse.ts';
import { defaultVtaConfig, loadConfig } from '../../config/config.ts';
import { loadBundle, replayBundle } from '../../drivers/bundle.ts';
import { getDriver } from '../../drivers/registry.ts';
import { importOnnx } from '../../frontend/onnx/import.ts';
import { loadGraph, validateGraph } from '../../graph/load.ts';
import { encodeProgram, finishInsn, gemmInsn } from '../../isa/index.ts';
import { isVtaError } from '../../lib/errors.ts';
import { fileErrorReason, readFileCapped } from '../../lib/files.ts';
import { DEFAULT_WORK_BUDGET, FILE_LIMITS, MAX_BUNDLE_OUTPUT_BYTES, MAX_TENSOR_ELEMENTS } from '../../lib/limits.ts';
import { PHYS_LIMIT } from '../../sim/memory.ts';
import { parseNpy } from '../../lib/npy.ts';
import { vta } from './vta-process.ts';
import { TINY_MODEL } from './tiny-model.ts';

let dir = '';
const f = (name: string) => join(dir, name);

/** The VtaError a call throws (sync or async): code and message, which must be one line. */
async function refusal(call: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await call();
  } catch (e) {
    if (!isVtaError(e)) throw e;
    expect(e.message).not.toContain('\n');
    return { code: e.code, message: e.message };
  }
  throw new Error('expected a refusal');
}

/** A sparse file one byte over `bytes`: as large as the limit needs, without the disk or the time. */
function sparseFile(name: string, bytes: number): string {
  writeFileSync(f(name), '');
  truncateSync(f(name), bytes + 1);
  return f(name);
}

/** Two outputs, so two --output files can be given. */
const TINY = { ...TINY_MODEL, outputs: ['y', 'acc'] };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vta-limits-'));
  writeFileSync(f('tiny.json'), JSON.stringify(TINY));
});

describe('two outputs of one command never name the same file', () => {
  it('refuseClashes compares resolved paths, links followed, and names both options', () => {
    writeFileSync(f('t.vcd'), 'kept');
    symlinkSync(f('t.vcd'), f('link.vcd'));
    const clash = (outputs: [string, string | undefined][], inputs: string[] = []) => () => refuseClashes(outputs, inputs);
    expect(clash([['-o', f('t.vcd')], ['--trace', f('t.vcd')]])).toThrow(`--trace ${f('t.vcd')} and -o ${f('t.vcd')} name the same file`);
    expect(clash([['-o', f('t.vcd')], ['--trace', f('link.vcd')]])).toThrow('name the same file');
    expect(clash([['-o', join(dir, '.', 'new.json')], ['--trace', f('new.json')]])).toThrow('name the same file');
    expect(clash([['-o', f('a.json')], ['--trace', f('t.vcd')]], [f('link.vcd')])).toThrow('is also an input');
    expect(clash([['-o', f('a.json')], ['--trace', undefined], ['--trace', f('t.vcd')]])).not.toThrow();
  });

  it('vta replay -o t.vcd --trace t.vcd and vta run with two --output to one file are refused, writing nothing', async () => {
    const bundle = join(new URL('../..', import.meta.url).pathname, 'conformance', 'alu-s1-legal-b1000.bundle.json');
    const [replay, run] = await Promise.all([
      vta(['replay', bundle, '-o', 't.vcd', '--trace', './t.vcd'], dir),
      vta(['run', 'tiny.json', '--output', 'y=o.npy', '--output', `acc=${f('o.npy')}`], dir),
    ]);
    expect(replay.code).toBe(1);
    expect(replay.stderr).toMatch(/^error\[E_USAGE\]: --trace \.\/t\.vcd and -o t\.vcd name the same file: one output would replace the other\n$/);
    expect(readFileSync(f('t.vcd'), 'utf8')).toBe('kept');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error\[E_USAGE\]: --output .*o\.npy and --output o\.npy name the same file/);
    expect(existsSync(f('o.npy'))).toBe(false);
  });
});

describe('an error line longer than a pipe holds', () => {
  it('reaches a slow reader whole, with its newline, before vta exits', async () => {
    const name = 'n'.repeat(100_000);
    const r = await vta(['run', 'tiny.json', '--input', `${name}=x.npy`], dir, { holdStderrMs: 1500 });
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('');
    expect(lines[0]).toMatch(/^error\[E_USAGE\]: --input n+=x\.npy: n+ is not an input of the model \(inputs: x\); write \.\/n+=x\.npy for a file whose name holds '='$/);
    expect(lines[0]!.length).toBeGreaterThan(3 * name.length);
  });
});

describe('stated limits (docs/limits.md), each refused with its code', () => {
  const mib = (bytes: number) => `${bytes / 2 ** 20} MiB`;

  it('model files: vta-graph/1 JSON and ONNX', async () => {
    const limit = FILE_LIMITS.model;
    for (const [file, load] of [['big.json', loadGraph], ['big.onnx', importOnnx]] as const) {
      const r = await refusal(() => load(sparseFile(file, limit.bytes)));
      expect(r.code).toBe('E_READ');
      expect(r.message).toContain(`larger than ${mib(limit.bytes)}, the most a model may be (docs/limits.md)`);
    }
  });

  it('packages', async () => {
    const r = await refusal(() => openModel(sparseFile('big.vtapkg', FILE_LIMITS.package.bytes)));
    expect(r).toEqual({ code: 'E_READ', message: expect.stringContaining(`the most a package may be`) });
  });

  it('tensor files (.npy inputs), and tensors of more than MAX_TENSOR_ELEMENTS elements', async () => {
    const model = { graph: validateGraph(TINY) };
    const r = await refusal(() => modelInputs(model, new Map([['x', sparseFile('big.npy', FILE_LIMITS.tensor.bytes)]])));
    expect(r).toEqual({ code: 'E_READ', message: expect.stringContaining('the most a tensor file may be') });
    const side = 2 ** 15;
    expect(side * side).toBeGreaterThan(MAX_TENSOR_ELEMENTS);
    const graph = await refusal(() => validateGraph({ ...TINY, inputs: [{ name: 'x', shape: [side, side], dtype: 'int8' }] }));
    expect(graph).toEqual({ code: 'E_MODEL', message: expect.stringContaining(`more than ${MAX_TENSOR_ELEMENTS} elements`) });
    const header = `{'descr': '|i1', 'fortran_order': False, 'shape': (${side}, ${side}), }\n`;
    const npy = new Uint8Array(10 + header.length);
    npy.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    new DataView(npy.buffer).setUint16(8, header.length, true);
    for (let i = 0; i < header.length; i++) npy[10 + i] = header.charCodeAt(i);
    expect(await refusal(() => parseNpy(npy, 'huge.npy'))).toEqual({ code: 'E_NPY', message: expect.stringContaining(`more than ${MAX_TENSOR_ELEMENTS} elements`) });
  });

  it('bundles, configs and fusion rules', async () => {
    expect(await refusal(() => loadBundle(sparseFile('big.bundle.json', FILE_LIMITS.bundle.bytes)))).toEqual({ code: 'E_BUNDLE', message: expect.stringContaining('the most a bundle may be') });
    const settings = sparseFile('big-settings.json', FILE_LIMITS.settings.bytes);
    expect(await refusal(() => loadConfig(settings))).toEqual({ code: 'E_CONFIG', message: expect.stringContaining('the most a config or rules file may be') });
    expect(await refusal(() => loadFusionRules(settings))).toEqual({ code: 'E_RULES', message: expect.stringContaining('the most a config or rules file may be') });
  });

  it('programs (vta disasm, vta asm)', async () => {
    sparseFile('big.bin', FILE_LIMITS.program.bytes);
    sparseFile('big.s', FILE_LIMITS.program.bytes);
    const [disasm, asm] = await Promise.all([vta(['disasm', 'big.bin'], dir), vta(['asm', 'big.s', '-o', 'big.out'], dir)]);
    for (const r of [disasm, asm]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error\[E_READ\]: cannot read big\.(bin|s): larger than 64 MiB, the most a program may be \(docs\/limits\.md\)\n$/);
    }
  });

  it('an endless device is refused once the limit is read, not after reading more', (ctx) => {
    if (!existsSync('/dev/zero')) ctx.skip();
    const limit = { bytes: 3 * 2 ** 20, what: 'a test input' };
    let error: unknown;
    try {
      readFileCapped('/dev/zero', limit);
    } catch (e) {
      error = e;
    }
    expect((error as NodeJS.ErrnoException).code).toBe('EFBIG');
    expect(fileErrorReason(error)).toBe('larger than 3 MiB, the most a test input may be (docs/limits.md)');
  });

  it('the outputs of a bundle, all together, and the device memory a run may allocate', async () => {
    const bundle = JSON.parse(readFileSync(join(new URL('../..', import.meta.url).pathname, 'conformance', 'alu-s1-legal-b1000.bundle.json'), 'utf8'));
    const addr = bundle.outputs[0].addr;
    bundle.outputs = [{ name: 'a', addr, bytes: MAX_BUNDLE_OUTPUT_BYTES }, { name: 'b', addr, bytes: 1 }];
    writeFileSync(f('wide.bundle.json'), JSON.stringify(bundle));
    expect(await refusal(() => loadBundle(f('wide.bundle.json')))).toEqual({ code: 'E_BUNDLE', message: expect.stringContaining(`may total at most ${MAX_BUNDLE_OUTPUT_BYTES} bytes`) });
    const cfg = defaultVtaConfig();
    const driver = await (await getDriver('fsim', cfg)).open(cfg);
    try {
      expect(await refusal(() => driver.memAlloc(PHYS_LIMIT))).toEqual({ code: 'E_DRAM', message: expect.stringContaining('4 GiB') });
    } finally {
      driver.close();
    }
  });

  it(`the work of one fsim run: ${DEFAULT_WORK_BUDGET} instructions plus uop-iterations unless a budget is given`, async () => {
    const cfg = defaultVtaConfig();
    const stream = encodeProgram(cfg, [gemmInsn({ reset_reg: 1, uop_bgn: 0, uop_end: 8191, iter_out: 16383, iter_in: 16383 }), finishInsn()]);
    const data = new Uint8Array(stream.length + 1024);
    data.set(stream);
    writeFileSync(f('runaway.bundle.json'), JSON.stringify({
      format: 'vta-bundle/1', config: cfg.json, memory: { base: 4096, data: Buffer.from(data).toString('base64') },
      insn: { addr: 4096, count: stream.length / 16 }, outputs: [{ name: 'out', addr: 4096 + stream.length, bytes: 16 }],
    }));
    const driver = await (await getDriver('fsim', cfg)).open(cfg);
    try {
      const r = await refusal(() => replayBundle(driver, loadBundle(f('runaway.bundle.json'))));
      expect(r.code).toBe('E_SIM_BUDGET');
      expect(r.message).toContain(`work budget ${DEFAULT_WORK_BUDGET} (instructions + uop-iterations) exceeded at insn #0`);
    } finally {
      driver.close();
    }
  });
});
