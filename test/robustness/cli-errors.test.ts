/**
 * Bad input at the command line, as a user who makes mistakes meets it. Every case must end with a
 * non-zero exit and exactly one stderr line `error[E_CODE]: ...` naming the thing at fault, leave
 * no output file (nor a temporary one) behind, and finish quickly (runaway programs are bounded).
 * Cases run a few processes at a time; each group is one test so the file stays fast.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultVtaConfig } from '../../config/config.ts';
import { compileGraph, type CompiledModel } from '../../compiler/compile.ts';
import { validateGraph } from '../../graph/load.ts';
import { writePackage } from '../../compiler/package.ts';
import { listDrivers } from '../../drivers/registry.ts';
import { buildOnnxModel } from '../../frontend/onnx-builder.ts';
import { encodeProgram, finishInsn, gemmInsn } from '../../isa/index.ts';
import { writeNpy } from '../../lib/npy.ts';
import { TINY_MODEL } from './tiny-model.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const KIT_BUNDLE = join(ROOT, 'conformance', 'alu-s1-legal-b1000.bundle.json');
/** Far above the ~1 s a refused command takes; only a hang or a runaway run comes near it. */
const CASE_TIMEOUT_MS = 30_000;

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function vta(args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const p = spawn('node', [join(ROOT, 'bin/vta.mjs'), ...args], { cwd: dir, env: { ...process.env, VTA_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), CASE_TIMEOUT_MS);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface Case {
  args: string[];
  /** Error code expected in `error[CODE]:`. */
  code: string;
  /** Text the one line must contain: the file, option or value at fault (and what is wrong). */
  names: (string | RegExp)[];
}

let dir = '';
/** A fresh empty folder per case, for its outputs; it must still be empty afterwards. */
let outSeq = 0;
const outDir = () => {
  const d = join(dir, 'out', String(outSeq++));
  mkdirSync(d, { recursive: true });
  return d;
};

/** Run cases a few at a time and check every one against the standard; failures are listed together. */
async function expectRefused(cases: (Case & { out?: string })[]): Promise<void> {
  const problems: string[] = [];
  const queue = cases.map((c, i) => ({ c, i }));
  const results: Outcome[] = [];
  await Promise.all(
    [0, 1, 2].map(async () => {
      for (let next = queue.shift(); next; next = queue.shift()) results[next.i] = await vta(next.c.args);
    }),
  );
  cases.forEach((c, i) => {
    const r = results[i]!;
    const what = `vta ${c.args.join(' ')}`;
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    if (r.code === 0 || r.code === null) problems.push(`${what}: exit ${r.code}`);
    if (lines.length !== 1) problems.push(`${what}: ${lines.length} stderr lines: ${JSON.stringify(r.stderr.slice(0, 300))}`);
    const line = lines[0] ?? '';
    if (!new RegExp(`^error\\[${c.code}\\]: `).test(line)) problems.push(`${what}: expected error[${c.code}], got ${JSON.stringify(line)}`);
    for (const n of c.names) {
      if (typeof n === 'string' ? !line.includes(n) : !n.test(line)) problems.push(`${what}: line does not mention ${n}: ${JSON.stringify(line)}`);
    }
    if (c.out) {
      const left = readdirSync(c.out);
      if (left.length) problems.push(`${what}: left ${left.join(', ')} in its output folder`);
    }
  });
  expect(problems).toEqual([]);
}

// Fixtures ------------------------------------------------------------------------------------

const f = (name: string) => join(dir, name);
const good = () => JSON.parse(readFileSync(KIT_BUNDLE, 'utf8'));

function bundleOf(name: string, stream: Uint8Array): string {
  const cfg = defaultVtaConfig();
  const data = new Uint8Array(stream.length + 1024);
  data.set(stream);
  writeFileSync(
    f(name),
    JSON.stringify({
      format: 'vta-bundle/1',
      config: cfg.json,
      memory: { base: 4096, data: Buffer.from(data).toString('base64') },
      insn: { addr: 4096, count: stream.length / 16 },
      outputs: [{ name: 'out', addr: 4096 + stream.length, bytes: 16 }],
    }),
  );
  return f(name);
}

function mutated(name: string, change: (b: Record<string, any>) => void): string {
  const b = good();
  change(b);
  writeFileSync(f(name), JSON.stringify(b));
  return f(name);
}


let tsimReady = false;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vta-robust-'));
  const cfg = defaultVtaConfig();
  writeFileSync(f('good.bundle.json'), readFileSync(KIT_BUNDLE));
  writeFileSync(f('empty.json'), '');
  writeFileSync(f('trunc.bundle.json'), readFileSync(KIT_BUNDLE, 'utf8').slice(0, 300));
  mkdirSync(f('a-folder.json'));
  writeFileSync(f('a-file'), 'not a folder\n');
  // One opcode-7 word, then a FINISH.
  const unknown = new Uint8Array(32);
  unknown[0] = 7;
  unknown.set(encodeProgram(cfg, [finishInsn()]), 16);
  bundleOf('unknown-op.bundle.json', unknown);
  writeFileSync(f('unknown-op.bin'), unknown);
  writeFileSync(f('odd.bin'), new Uint8Array(17));
  // Compute pops a token that nothing pushes.
  bundleOf('deadlock.bundle.json', encodeProgram(cfg, [gemmInsn({ pop_prev: 1, uop_bgn: 0, uop_end: 1, iter_out: 1, iter_in: 1 }), finishInsn()]));
  // 2.2e12 uop-iterations: valid, but no budget allows it.
  bundleOf('runaway.bundle.json', encodeProgram(cfg, [gemmInsn({ reset_reg: 1, uop_bgn: 0, uop_end: 8191, iter_out: 16383, iter_in: 16383 }), finishInsn()]));
  bundleOf('no-finish.bundle.json', encodeProgram(cfg, [gemmInsn({ reset_reg: 1, uop_bgn: 0, uop_end: 1, iter_out: 1, iter_in: 1 })]));
  mutated('str-base.bundle.json', (b) => (b.memory.base = '4096'));
  mutated('neg-base.bundle.json', (b) => (b.memory.base = -4096));
  mutated('huge-count.bundle.json', (b) => (b.insn.count = 1e12));
  mutated('garbage-b64.bundle.json', (b) => (b.memory.data = '!!!not base64???'));
  mutated('bad-config.bundle.json', (b) => (b.config.LOG_BLOCK = 9));
  mutated('huge-output.bundle.json', (b) => (b.outputs[0].bytes = 2 ** 31));
  mutated('not-built.bundle.json', (b) => (b.config.LOG_UOP_BUFF_SIZE = 14));
  writeFileSync(f('bad.json'), JSON.stringify({ ...cfg.json, LOG_BLOCK: 9 }));
  writeFileSync(f('not-built.json'), JSON.stringify({ ...cfg.json, LOG_UOP_BUFF_SIZE: 14 }));
  writeFileSync(f('b2x8.json'), readFileSync(join(ROOT, 'config', 'b2x8.json')));
  writeFileSync(f('bad.asm'), 'gemm uop_bgn=0 uop_end=1\nfrobnicate x=1\nfinish\n');
  writeFileSync(f('good.asm'), 'gemm reset_reg=1 uop_bgn=0 uop_end=1 iter_out=1 iter_in=1\nfinish\n');
  const mlp = readFileSync(join(ROOT, 'models', 'mlp.onnx'));
  writeFileSync(f('trunc.onnx'), mlp.subarray(0, 100));
  writeFileSync(f('random.onnx'), Uint8Array.from({ length: 2000 }, (_, i) => (i * 2246822519) >>> 24));
  writeFileSync(
    f('float.onnx'),
    buildOnnxModel({
      name: 'float-only',
      inputs: [{ name: 'x', type: 'float', shape: [1, 4] }],
      outputs: [{ name: 'y', type: 'float', shape: [1, 3] }],
      initializers: [{ name: 'W', type: 'float', dims: [4, 3], values: Array(12).fill(0.5) }],
      nodes: [{ op: 'MatMul', inputs: ['x', 'W'], outputs: ['y'] }],
    }),
  );
  writeFileSync(f('tiny.json'), JSON.stringify(TINY_MODEL));
  writeFileSync(f('tiny-badop.json'), JSON.stringify({ ...TINY_MODEL, nodes: [{ ...TINY_MODEL.nodes[0], op: 'matmul' }, TINY_MODEL.nodes[1]] }));
  writeFileSync(f('in-i32.npy'), writeNpy({ shape: [1, 4], dtype: 'int32', data: new Int32Array(4) }));
  const i8 = writeNpy({ shape: [1, 4], dtype: 'int8', data: new Int8Array(4) });
  writeFileSync(f('in-trunc.npy'), i8.subarray(0, i8.length - 2));
  const f8 = Buffer.from(i8);
  f8.write("{'descr': '<f8'", 10, 'latin1');
  writeFileSync(f('in-f8.npy'), Buffer.concat([f8, Buffer.alloc(12)]));
  writeFileSync(f('in.npy'), i8);
  // Packages whose header was damaged after compiling: each used to crash the loader, runner or
  // disassembler with an internal error instead of naming the field.
  const compiled = () => compileGraph(validateGraph(TINY_MODEL), { config: cfg });
  const damaged = (name: string, change: (m: Record<string, any>) => void) => {
    const m = compiled() as unknown as Record<string, any>;
    change(m);
    writeFileSync(f(name), writePackage(m as CompiledModel));
  };
  writeFileSync(f('tiny.vtapkg'), writePackage(compiled()));
  damaged('no-activations.vtapkg', (m) => delete m.activations);
  damaged('no-graph-nodes.vtapkg', (m) => delete m.graph.nodes);
  damaged('no-kernel-nodes.vtapkg', (m) => delete m.kernels[0].nodes);
  damaged('str-insn-start.vtapkg', (m) => (m.kernels[0].insnStart = '0'));
  damaged('ghost-step.vtapkg', (m) => (m.steps = [{ kind: 'host', node: 'ghost', reason: '' }]));
  damaged('no-steps.vtapkg', (m) => (m.steps = []));
  const nullHeader = Buffer.alloc(16);
  nullHeader.write('VTAPKG01', 0, 'latin1');
  nullHeader.writeUInt32LE(4, 8);
  nullHeader.write('null', 12, 'latin1');
  writeFileSync(f('null-header.vtapkg'), nullHeader);
  if (existsSync('/dev/zero')) symlinkSync('/dev/zero', f('zero.vtapkg'));
  tsimReady = (await listDrivers()).some((d) => d.name === 'tsim' && d.unavailable?.() === undefined);
});

// Cases -----------------------------------------------------------------------------------------

describe('vta usage', () => {
  it('unknown verbs and options, bad choices: one line each', async () => {
    const o = outDir();
    await expectRefused([
      { args: [], code: 'E_USAGE', names: ['name a command'] },
      { args: ['frobnicate'], code: 'E_USAGE', names: ['frobnicate'] },
      // yargs writes invalid choices on several lines: still one.
      { args: ['import', f('trunc.onnx'), '-o', join(o, 'g.json'), '--scales', 'foo'], code: 'E_USAGE', names: ['scales', 'foo'], out: o },
      { args: ['replay', f('good.bundle.json'), '-o', join(o, 'a.json'), '--out-dir', o], code: 'E_USAGE', names: ['out-dir'], out: o },
    ]);
  });
});

describe('vta replay', () => {
  it('unreadable, empty, truncated and mistyped bundles name the file and the field', async () => {
    await expectRefused([
      { args: ['replay', f('missing.bundle.json')], code: 'E_BUNDLE', names: [f('missing.bundle.json'), 'no such file'] },
      { args: ['replay', f('a-folder.json')], code: 'E_BUNDLE', names: [f('a-folder.json')] },
      { args: ['replay', f('empty.json')], code: 'E_BUNDLE', names: [f('empty.json'), 'not valid JSON'] },
      { args: ['replay', f('trunc.bundle.json')], code: 'E_BUNDLE', names: [f('trunc.bundle.json'), 'not valid JSON'] },
      { args: ['replay', f('str-base.bundle.json')], code: 'E_BUNDLE', names: ['memory.base is "4096"'] },
      { args: ['replay', f('neg-base.bundle.json')], code: 'E_BUNDLE', names: ['memory.base is -4096'] },
      { args: ['replay', f('huge-count.bundle.json')], code: 'E_BUNDLE', names: ['insn.count is 1000000000000'] },
      { args: ['replay', f('garbage-b64.bundle.json')], code: 'E_BUNDLE', names: ['memory.data must be a base64 string'] },
      { args: ['replay', f('bad-config.bundle.json')], code: 'E_CONFIG', names: [f('bad-config.bundle.json'), 'LOG_BLOCK is 9'] },
      // 2 GiB to read back: refused at once, not allocated and base64-encoded into a crash.
      { args: ['replay', f('huge-output.bundle.json')], code: 'E_BUNDLE', names: ['outputs[0].bytes is 2147483648', 'at most'] },
    ]);
  });

  it('an endless device as input is refused at the size cap instead of read forever', async (ctx) => {
    if (!existsSync('/dev/zero')) ctx.skip();
    await expectRefused([
      { args: ['replay', '/dev/zero'], code: 'E_BUNDLE', names: ['/dev/zero', 'MiB'] },
      { args: ['import', '/dev/zero', '-o', f('z.json')], code: 'E_READ', names: ['/dev/zero', 'MiB'] },
    ]);
  });

  it('bad programs (unknown opcode, deadlock, runaway loop nest, no FINISH) fail fast and write nothing', async () => {
    const o = outDir();
    await expectRefused([
      { args: ['replay', f('unknown-op.bundle.json'), '-o', join(o, 'r.json')], code: 'E_SIM_INSN', names: ['insn #0', 'unknown opcode 7'], out: o },
      { args: ['replay', f('deadlock.bundle.json'), '-o', join(o, 'r.json')], code: 'E_SIM_DEADLOCK', names: ['insn #0', 'waiting for l2g'], out: o },
      { args: ['replay', f('runaway.bundle.json'), '-o', join(o, 'r.json')], code: 'E_SIM_BUDGET', names: ['budget', 'insn #0'], out: o },
      { args: ['replay', f('no-finish.bundle.json')], code: 'E_SIM_NO_FINISH', names: ['no FINISH'] },
    ]);
  });

  it('bad options: budget that is not a positive number, a waveform without a clock, --config, unknown driver', async () => {
    await expectRefused([
      // NaN used to switch the bound off entirely.
      { args: ['replay', f('good.bundle.json'), '--budget', 'abc'], code: 'E_USAGE', names: ['--budget', 'not a number'] },
      { args: ['replay', f('good.bundle.json'), '--budget', '-5'], code: 'E_USAGE', names: ['--budget', '-5'] },
      { args: ['replay', f('good.bundle.json'), '--trace', f('t.vcd')], code: 'E_USAGE', names: ['--trace', 'fsim'] },
      { args: ['replay', f('good.bundle.json'), '--config', f('b2x8.json')], code: 'E_USAGE', names: ['--config', 'replay'] },
      { args: ['replay', f('good.bundle.json'), '-d', 'nosuch'], code: 'E_DRIVER', names: ["'nosuch'", 'fsim'] },
      { args: ['replay', f('good.bundle.json'), f('good.bundle.json'), '-o', f('r.json')], code: 'E_USAGE', names: ['--out-dir'] },
    ]);
  });

  it('an output path that is one of the inputs is refused, and the input survives', async () => {
    const before = readFileSync(f('good.bundle.json'));
    const asm = readFileSync(f('good.asm'));
    await expectRefused([
      { args: ['replay', f('good.bundle.json'), '-o', join(dir, '.', 'good.bundle.json')], code: 'E_USAGE', names: ['good.bundle.json', 'also an input'] },
      { args: ['asm', f('good.asm'), '-o', f('good.asm')], code: 'E_USAGE', names: [f('good.asm'), 'also an input'] },
      { args: ['import', f('float.onnx'), '-o', f('float.onnx')], code: 'E_USAGE', names: [f('float.onnx'), 'also an input'] },
    ]);
    expect(readFileSync(f('good.bundle.json')).equals(before)).toBe(true);
    expect(readFileSync(f('good.asm')).equals(asm)).toBe(true);
  });

  it('outputs that cannot be written, and a bad bundle after a good one, leave no file behind', async () => {
    const o = outDir();
    await expectRefused([
      // The parent "folder" is a file: used to surface as an internal ENOTDIR error from the cleanup.
      { args: ['replay', f('good.bundle.json'), '-o', join(f('a-file'), 'r.json')], code: 'E_WRITE', names: [join(f('a-file'), 'r.json'), 'folder'] },
      { args: ['replay', f('good.bundle.json'), '-o', o], code: 'E_WRITE', names: [o, 'folder'], out: o },
      // Every bundle is checked before any runs, so the good first one leaves no result either.
      { args: ['replay', f('good.bundle.json'), f('trunc.bundle.json'), '--out-dir', o], code: 'E_BUNDLE', names: [f('trunc.bundle.json')], out: o },
    ]);
  });
});

describe('outputs that are not regular files', () => {
  it('a named pipe given as -o is written through, not replaced by a file', async (ctx) => {
    const fifo = f('pipe.bin');
    const made = await new Promise<number | null>((res) => spawn('mkfifo', [fifo]).on('close', res).on('error', () => res(null)));
    if (made !== 0) ctx.skip();
    const reader = spawn('cat', [fifo]);
    const chunks: Buffer[] = [];
    reader.stdout.on('data', (d: Buffer) => chunks.push(d));
    const readerDone = new Promise((res) => reader.on('close', res));
    const r = await vta(['asm', f('good.asm'), '-o', fifo]);
    // Had the pipe been replaced by a file, the reader would wait for a writer forever.
    const stop = setTimeout(() => reader.kill(), 5000);
    await readerDone;
    clearTimeout(stop);
    expect(r.code).toBe(0);
    expect(Buffer.concat(chunks).length).toBe(32);
    expect(statSync(fifo).isFIFO()).toBe(true);
  });
});

describe('vta conformance, disasm, asm, config, drivers', () => {
  it('refuses with one line', async () => {
    const o = outDir();
    await expectRefused([
      // One error up front, not one FAIL line per bundle.
      { args: ['conformance', '-d', 'nosuch'], code: 'E_DRIVER', names: ["'nosuch'"] },
      { args: ['conformance', f('missing-kit')], code: 'E_READ', names: [f('missing-kit'), 'no such file'] },
      { args: ['conformance', f('a-file')], code: 'E_READ', names: [f('a-file'), 'folder'] },
      { args: ['disasm', f('odd.bin')], code: 'E_ASM', names: [f('odd.bin'), '17 bytes'] },
      { args: ['disasm', f('unknown-op.bin'), '--config', f('bad.json')], code: 'E_CONFIG', names: [f('bad.json'), 'LOG_BLOCK is 9'] },
      { args: ['disasm', f('good.bundle.json'), '--config', f('b2x8.json')], code: 'E_USAGE', names: [f('good.bundle.json'), '2x8_'] },
      { args: ['asm', f('bad.asm'), '-o', join(o, 'x.bin')], code: 'E_ASM', names: [`${f('bad.asm')}:2`, 'frobnicate'], out: o },
      { args: ['asm', f('good.asm'), '-o', join(f('a-file'), 'x.bin')], code: 'E_WRITE', names: [join(f('a-file'), 'x.bin')] },
      { args: ['config', f('bad.json')], code: 'E_CONFIG', names: [f('bad.json'), 'LOG_BLOCK is 9'] },
      { args: ['config', f('b2x8.json'), '--config', f('bad.json')], code: 'E_USAGE', names: [f('b2x8.json'), f('bad.json')] },
      { args: ['drivers', '--config', f('bad.json')], code: 'E_CONFIG', names: [f('bad.json')] },
    ]);
  });
});

describe('vta import, viz, compile, run', () => {
  it('bad ONNX files, models and options: one line and no output file', async () => {
    const o = outDir();
    await expectRefused([
      { args: ['import', f('trunc.onnx'), '-o', join(o, 'g.json')], code: 'E_ONNX', names: [f('trunc.onnx'), 'not a valid ONNX model'], out: o },
      { args: ['import', f('random.onnx'), '-o', join(o, 'g.json')], code: 'E_ONNX', names: [f('random.onnx'), 'not a valid ONNX model'], out: o },
      // A float-only model imports since issue 9 (all host, with a note): test/frontend/onnx.test.ts.
      { args: ['import', join(ROOT, 'models', 'mlp.onnx'), '-o', join(o, 'g.json'), '--config', f('b2x8.json')], code: 'E_USAGE', names: ['--config', 'import'], out: o },
      // A bad --config used to be swallowed as "could not partition" with exit 0.
      { args: ['viz', f('tiny.json'), '-o', join(o, 'v.html'), '--config', f('bad.json')], code: 'E_CONFIG', names: [f('bad.json')], out: o },
      { args: ['viz', f('tiny.json'), '-o', join(o, 'v.png')], code: 'E_USAGE', names: ['v.png', '.html'], out: o },
      { args: ['compile', f('tiny-badop.json'), '-o', join(o, 'm.vtapkg')], code: 'E_MODEL', names: [f('tiny-badop.json'), 'matmul'], out: o },
      { args: ['compile', f('tiny.json'), '-o', join(o, 'm.vtapkg'), '--config', f('bad.json')], code: 'E_CONFIG', names: [f('bad.json')], out: o },
      { args: ['compile', f('tiny.json'), '-o', join(f('a-file'), 'm.vtapkg')], code: 'E_WRITE', names: [join(f('a-file'), 'm.vtapkg')] },
      { args: ['run', f('tiny.json'), '--input', f('in-i32.npy'), '--output', join(o, 'y.npy')], code: 'E_INPUT', names: [f('in-i32.npy'), 'int32'], out: o },
      { args: ['run', f('tiny.json'), '--input', f('in-trunc.npy')], code: 'E_NPY', names: [f('in-trunc.npy')] },
      { args: ['run', f('tiny.json'), '--input', f('in-f8.npy')], code: 'E_NPY', names: [f('in-f8.npy'), '<f8'] },
      { args: ['run', f('tiny.json'), '--driver', 'tsim', '--config', f('not-built.json'), '--output', join(o, 'y.npy')], code: 'E_DRIVER', names: ['1x16_i8w8a32_14_15_18_17'], out: o },
    ]);
  });
});

describe('vta replay on tsim', () => {
  it('a config the RTL is not built for, a runaway loop nest refused before clocking, a deadlock', async (ctx) => {
    if (!tsimReady) ctx.skip();
    const o = outDir();
    await expectRefused([
      { args: ['replay', f('not-built.bundle.json'), '-d', 'tsim', '-o', join(o, 'r.json')], code: 'E_DRIVER', names: ['not built', '1x16_i8w8a32_14_15_18_17'], out: o },
      // 2.2e12 uop-iterations cannot fit the default 2e8-cycle budget: refused at once, not after minutes.
      { args: ['replay', f('runaway.bundle.json'), '-d', 'tsim', '-o', join(o, 'r.json')], code: 'E_SIM_BUDGET', names: ['cannot be met', 'insn #0'], out: o },
      { args: ['replay', f('deadlock.bundle.json'), '-d', 'tsim'], code: 'E_SIM_DEADLOCK', names: ['compute stage', 'insn #0'] },
      { args: ['replay', f('good.bundle.json'), '-d', 'tsim', '--trace', join(o, 't.txt')], code: 'E_USAGE', names: ['t.txt', '.vcd'], out: o },
    ]);
  });
});

describe('vta compile and run: options, names, packages, endless and clashing files', () => {
  it('a NAME=FILE whose NAME is not a tensor of the model is refused, not written as a literal path', async () => {
    const o = outDir();
    const rel = join('out', o.split('/').at(-1)!, 'y.npy');
    await expectRefused([
      { args: ['run', f('tiny.json'), '--output', `qq=${rel}`], code: 'E_USAGE', names: ['qq is not an output', 'outputs: y'], out: o },
      { args: ['run', f('tiny.json'), '--input', `zz=${f('in.npy')}`, '--output', join(o, 'y.npy')], code: 'E_USAGE', names: ['zz is not an input', 'inputs: x'], out: o },
      { args: ['run', f('tiny.json'), '--output', `y=${join(o, 'a.npy')}`, '--output', `y=${join(o, 'b.npy')}`], code: 'E_USAGE', names: ['output y is given twice'], out: o },
      { args: ['run', f('tiny.json'), '--input', 'x='], code: 'E_USAGE', names: ['x=', "no file after '='"] },
    ]);
    expect(existsSync(join(dir, 'qq=out'))).toBe(false);
  });

  it('--seed that is not a non-negative whole number, and --races where nothing would observe', async () => {
    const cases: (Case & { out?: string })[] = [
      { args: ['run', f('tiny.json'), '--seed', 'abc'], code: 'E_USAGE', names: ['--seed', 'not a number'] },
      { args: ['run', f('tiny.json'), '--seed', '-1'], code: 'E_USAGE', names: ['--seed', '-1'] },
      { args: ['run', f('tiny.json'), '--seed', '1.5'], code: 'E_USAGE', names: ['--seed', '1.5'] },
    ];
    // tsim runs the RTL, which calls no observer hooks: "races: none" would be a false claim.
    if (tsimReady) cases.push({ args: ['run', f('tiny.json'), '--driver', 'tsim', '--races'], code: 'E_USAGE', names: ['--races', 'tsim', 'nothing would be checked'] });
    // A package not named *.vtapkg would later be read as a model JSON by run and disasm.
    const o = outDir();
    cases.push({ args: ['compile', f('tiny.json'), '-o', join(o, 'm.json')], code: 'E_USAGE', names: ['m.json', '*.vtapkg'], out: o });
    await expectRefused(cases);
  });

  it('a damaged .vtapkg header is one E_PACKAGE line naming the file and the field', async () => {
    const pkg = (name: string) => f(name);
    await expectRefused([
      { args: ['run', pkg('no-activations.vtapkg')], code: 'E_PACKAGE', names: [pkg('no-activations.vtapkg'), 'model.activations'] },
      { args: ['run', pkg('no-graph-nodes.vtapkg')], code: 'E_PACKAGE', names: [pkg('no-graph-nodes.vtapkg'), 'model.graph', 'nodes'] },
      { args: ['disasm', pkg('no-kernel-nodes.vtapkg')], code: 'E_PACKAGE', names: [pkg('no-kernel-nodes.vtapkg'), 'model.kernels[0].nodes'] },
      { args: ['run', pkg('str-insn-start.vtapkg')], code: 'E_PACKAGE', names: ['model.kernels[0].insnStart', '"0"'] },
      { args: ['run', pkg('ghost-step.vtapkg')], code: 'E_PACKAGE', names: ['model.steps[0]', 'ghost'] },
      { args: ['run', pkg('no-steps.vtapkg')], code: 'E_PACKAGE', names: ['model.steps never compute the output y'] },
      { args: ['disasm', pkg('null-header.vtapkg')], code: 'E_PACKAGE', names: [pkg('null-header.vtapkg'), 'header must be a JSON object'] },
    ]);
  });

  it('an endless device as model, package or rules file is refused at the size cap', async (ctx) => {
    if (!existsSync('/dev/zero')) ctx.skip();
    const o = outDir();
    await expectRefused([
      { args: ['compile', '/dev/zero', '-o', join(o, 'z.vtapkg')], code: 'E_READ', names: ['/dev/zero', 'MiB'], out: o },
      { args: ['run', '/dev/zero'], code: 'E_READ', names: ['/dev/zero', 'MiB'] },
      { args: ['run', f('zero.vtapkg')], code: 'E_READ', names: [f('zero.vtapkg'), 'MiB'] },
      { args: ['compile', f('tiny.json'), '--rules', '/dev/zero', '-o', join(o, 'z.vtapkg')], code: 'E_RULES', names: ['/dev/zero', 'MiB'], out: o },
      { args: ['run', f('tiny.json'), '--input', '/dev/zero'], code: 'E_READ', names: ['/dev/zero', 'MiB'] },
    ]);
  });

  it('unreadable inputs say why; outputs that are the command\'s own inputs are refused and the inputs survive', async () => {
    const model = readFileSync(f('tiny.json'));
    const input = readFileSync(f('in.npy'));
    await expectRefused([
      { args: ['run', f('tiny.json'), '--input', f('missing.npy')], code: 'E_READ', names: [f('missing.npy'), 'no such file'] },
      { args: ['run', f('tiny.json'), '--input', f('a-folder.json')], code: 'E_READ', names: [f('a-folder.json'), 'folder'] },
      { args: ['run', f('missing.vtapkg')], code: 'E_READ', names: [f('missing.vtapkg'), 'no such file'] },
      { args: ['compile', f('tiny.json'), '-o', f('tiny.json')], code: 'E_USAGE', names: [f('tiny.json'), 'also an input'] },
      { args: ['run', f('tiny.json'), '--output', `y=${f('tiny.json')}`], code: 'E_USAGE', names: ['--output', f('tiny.json'), 'also an input'] },
      { args: ['run', f('tiny.json'), '--input', f('in.npy'), '--output', f('in.npy')], code: 'E_USAGE', names: ['--output', f('in.npy'), 'also an input'] },
    ]);
    expect(readFileSync(f('tiny.json')).equals(model)).toBe(true);
    expect(readFileSync(f('in.npy')).equals(input)).toBe(true);
  });

  it('good runs still work: a package, a file whose name holds = written via ./, --races on fsim', async () => {
    const o = outDir();
    const r = await vta(['run', f('tiny.vtapkg'), '--input', `x=${f('in.npy')}`, '--output', `./${join('out', o.split('/').at(-1)!, 'y=1.npy')}`, '--races', '--seed', '7']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('races: none');
    expect(readdirSync(o)).toEqual(['y=1.npy']);
  });
});
