/**
 * Every field of a .vtapkg header, deleted or replaced by a value of the wrong type or range: the
 * package is either refused by readPackage, or it loads, runs and checks, with any failure a
 * VtaError (one coded line), never a TypeError from deep inside the runner or the disassembler.
 */
import { describe, expect, it } from 'vitest';
import { summarize } from '../../cli/summary.ts';
import { randomInput } from '../../api/inputs.ts';
import { checkAgainstReference } from '../../compiler/check.ts';
import { compileGraph } from '../../compiler/compile.ts';
import { runCompiled } from '../../compiler/execute.ts';
import { validateGraph } from '../../graph/load.ts';
import { readPackage, writePackage } from '../../compiler/package.ts';
import { defaultVtaConfig } from '../../config/config.ts';
import { VtaError } from '../../lib/errors.ts';
import { TINY_MODEL } from './tiny-model.ts';

const MODEL = {
  ...TINY_MODEL,
  name: 'two-kernels',
  outputs: ['z'],
  nodes: [
    ...TINY_MODEL.nodes,
    // A host step between VTA kernels, so steps of both kinds are in the header.
    { name: 'flat', op: 'reshape', inputs: ['y'], output: 'r', attrs: { shape: [1, 3] } },
    { name: 'twice', op: 'add', inputs: ['r', 'r'], output: 's' },
    { name: 'narrow2', op: 'cast', inputs: ['s'], output: 'z', attrs: { dtype: 'int8' } },
  ],
};

const WRONG = [undefined, null, 'x', -1, 1e9, 0.5, {}, [], [0], true];

/** Every path into the header's model section (the first few elements of each list). */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out = at.length ? [at] : [];
  if (at.length > 6 || v === null || typeof v !== 'object') return out;
  const entries = Array.isArray(v) ? v.slice(0, 3).map((x, i) => [i, x] as const) : Object.entries(v).slice(0, 12);
  for (const [k, x] of entries) out.push(...paths(x, [...at, k]));
  return out;
}

/** The package with the header value at `path` replaced (undefined: deleted); sections stay in place. */
function withHeaderChange(bytes: Uint8Array, header: Record<string, unknown>, path: (string | number)[], value: unknown): Uint8Array | undefined {
  const h = structuredClone(header);
  // Without its digests (a package written before them), so that the edit reaches the field checks.
  delete h.sha256;
  let o = h as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (value !== undefined) o[last] = value;
  else if (Array.isArray(o)) o.splice(last as number, 1);
  else delete o[last];
  const text = Buffer.from(JSON.stringify(h));
  const length = Buffer.from(bytes).readUInt32LE(8);
  if (text.length > length) return undefined;
  const out = Buffer.from(bytes);
  out.fill(0x20, 12, 12 + length); // JSON allows trailing spaces
  text.copy(out, 12);
  return new Uint8Array(out);
}

describe('.vtapkg header corruption', () => {
  it('every field deleted or mistyped is refused or harmless, always as a VtaError', async () => {
    const model = compileGraph(validateGraph(MODEL), { config: defaultVtaConfig() });
    expect(model.steps.map((s) => s.kind)).toEqual(['vta', 'host', 'vta']);
    const bytes = writePackage(model);
    const length = Buffer.from(bytes).readUInt32LE(8);
    const header = JSON.parse(Buffer.from(bytes.subarray(12, 12 + length)).toString('utf8'));
    const problems: string[] = [];
    let refused = 0;
    let tried = 0;
    for (const path of paths(header.model, ['model'])) {
      for (const value of WRONG) {
        const damaged = withHeaderChange(bytes, header, path, value);
        if (!damaged) continue;
        tried++;
        try {
          const m = readPackage(damaged, 'd.vtapkg');
          // What run, --check and disasm read from an accepted package.
          summarize(m);
          for (const k of m.kernels) k.nodes.join(' + ');
          const inputs = Object.fromEntries(m.graph.inputs.map((i, n) => [i.name, randomInput(i.shape, i.dtype, n)]));
          const r = await runCompiled(m, inputs, { keepAll: true });
          checkAgainstReference(m, inputs, r.tensors);
        } catch (e) {
          refused++;
          const what = `${path.join('.')} = ${JSON.stringify(value)}`;
          if (!(e instanceof VtaError)) problems.push(`${what}: ${(e as Error).message.split('\n')[0]}`);
          else if (e.code === 'E_INTERNAL') problems.push(`${what}: internal: ${e.message}`);
        }
      }
    }
    expect(problems).toEqual([]);
    // The sweep really damaged packages (most changes must be refused).
    expect(tried).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(tried / 2);
  });
});
