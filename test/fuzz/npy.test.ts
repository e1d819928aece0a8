/**
 * Fuzzing `.npy` reading (every `--input`): byte mutants of valid arrays, header fields set to odd
 * values, and headers without their closing brace. Each case must parse to an array whose data
 * match its shape (and, when the bytes are unchanged, the array written) or be refused cleanly.
 */
import { expect, it } from 'vitest';
import type { DType } from '../../lib/dtype.ts';
import { type NpyArray, parseNpy, writeNpy } from '../../lib/npy.ts';
import { mutateBytes } from './mutate.ts';
import { type Rand, campaignSeeds, newReport, prng, runCase, summary } from './runner.ts';

const SEEDS = campaignSeeds(120, 3000);

function randomArray(r: Rand): NpyArray {
  const dtype = r.pick<DType>(['int8', 'uint8', 'int32', 'float32']);
  const shape = Array.from({ length: r.int(0, 4) }, () => r.int(0, 5));
  const count = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'int8' ? new Int8Array(count) : dtype === 'uint8' ? new Uint8Array(count) : dtype === 'int32' ? new Int32Array(count) : new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = r.int(-100, 100);
  return { shape, dtype, data } as NpyArray;
}

/** A header whose dict is rewritten with one odd field value. */
function oddHeader(r: Rand, a: NpyArray): Uint8Array {
  const descr = r.pick(["'|i1'", "'<f8'", "'>i4'", "''", '1', "'<i4"]);
  const shape = r.pick(['()', '(-1,)', '(1e3,)', '(99999999999,)', '(2,,3)', '[2, 3]', `(${a.shape.join(', ')},)`, '(' + '1, '.repeat(300) + ')']);
  const fortran = r.pick(['False', 'True', 'false', '0']);
  const dict = r.pick([
    `{'descr': ${descr}, 'fortran_order': False, 'shape': (${a.shape.join(', ')}${a.shape.length === 1 ? ',' : ''}), }`,
    `{'descr': '<i4', 'fortran_order': ${fortran}, 'shape': ${shape}, }`,
    `{'descr': '<i4', 'descr': '|u1', 'fortran_order': False, 'shape': (), }`,
    `{'shape': (), 'fortran_order': False, }`,
  ]);
  return withHeader(dict, a);
}

function withHeader(dict: string, a: NpyArray): Uint8Array {
  const text = dict + '\n';
  const head = Uint8Array.from([0x93, ...Buffer.from('NUMPY'), 1, 0, text.length & 0xff, text.length >> 8]);
  const data = writeNpy(a);
  const valid = parseNpy(data);
  const payload = data.subarray(data.length - valid.data.byteLength);
  return Uint8Array.from([...head, ...Buffer.from(text, 'latin1'), ...payload]);
}

it(`${SEEDS.length} .npy cases end as a consistent array or a clean refusal`, async () => {
  const report = newReport();
  for (const seed of SEEDS) {
    const r = prng(seed);
    const a = randomArray(r);
    const valid = writeNpy(a);
    const kind = r.int(0, 9);
    const { value: bytes, category } =
      kind < 6 ? mutateBytes(r, valid)
      : kind < 9 ? { value: oddHeader(r, a), category: 'header-field' }
      : { value: withHeader('{' + ' '.repeat(r.int(100, 600)), a), category: 'header-unclosed' };
    await runCase(report, { target: 'npy', seed, category, bytes, ext: 'npy' }, () => {
      const got = parseNpy(bytes, `seed-${seed}.npy`);
      const count = got.shape.reduce((x, y) => x * y, 1);
      if (got.data.length !== count) return { kind: 'failed', why: `data holds ${got.data.length} values for shape (${got.shape})` };
      if (Buffer.from(bytes).equals(valid) && Buffer.compare(Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength), Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength)) !== 0) {
        return { kind: 'failed', why: 'an unchanged file read back other values' };
      }
    });
  }
  console.log(summary('npy', report));
  expect(report.failures).toEqual([]);
});
