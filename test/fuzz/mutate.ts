/**
 * Mutators shared by the fuzzers: byte-level (bit flips, random bytes, truncation, insertion,
 * duplicated chunks) and structural (one field of a parsed JSON value replaced, removed, retyped,
 * or set to a name that is a JavaScript object key). Each returns the mutation's category, which
 * failure reports and pending.ts use.
 */
import type { Rand } from './runner.ts';

export interface Mutant<T> {
  value: T;
  category: string;
}

/** One to a few byte-level mutations of `bytes`. */
export function mutateBytes(r: Rand, bytes: Uint8Array): Mutant<Uint8Array> {
  // A copy: Buffer's slice() is a view, and mutating it would corrupt the caller's original.
  let out = Uint8Array.from(bytes);
  const kind = r.pick(['flip', 'set', 'truncate', 'insert', 'duplicate'] as const);
  const at = () => r.int(0, Math.max(0, out.length - 1));
  for (let n = r.int(1, 4); n > 0; n--) {
    if (kind === 'flip') out[at()]! ^= 1 << r.int(0, 7);
    else if (kind === 'set') out[at()] = r.pick([0, 0xff, 0x7f, 0x80, r.int(0, 255)]);
    else if (kind === 'truncate') out = out.slice(0, at());
    else if (kind === 'insert') {
      const i = at();
      out = Uint8Array.from([...out.subarray(0, i), ...r.bytes(r.int(1, 16)), ...out.subarray(i)]);
    } else {
      const i = at();
      const j = Math.min(out.length, i + r.int(1, 64));
      out = Uint8Array.from([...out.subarray(0, j), ...out.subarray(i, j), ...out.subarray(j)]);
    }
  }
  return { value: out, category: `bytes:${kind}` };
}

/** Names that are keys of every JavaScript object. */
export const OBJECT_KEY_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

/** Every path to a value inside a JSON value. */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (out.length > 5000) return out;
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  return out;
}

function randomValue(r: Rand, like: unknown): unknown {
  return r.pick([
    null, true, -1, 0, 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, 1e308, 0.5, -0.0, '', 'x', '0', 'NaN',
    [], {}, [1, 2, 3], { a: 1 }, typeof like === 'string' ? like + like : 7, Array.isArray(like) ? [...like, ...like] : 3,
  ]);
}

/** A value nested `depth` arrays deep (stack-depth attacks). */
function deep(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** One structural mutation of a JSON value (the input is not modified). */
export function mutateJson(r: Rand, value: unknown, names: readonly string[] = []): Mutant<unknown> {
  const copy = structuredClone(value) as unknown;
  const all = paths(copy).filter((p) => p.length > 0);
  if (all.length === 0) return { value: randomValue(r, copy), category: 'field:root' };
  // Renaming a user-chosen name everywhere it occurs (a tensor, a bundle output) to an object key.
  if (names.length > 0 && r.bit(0.15)) {
    const from = r.pick(names);
    const to = r.pick(OBJECT_KEY_NAMES);
    return { value: JSON.parse(JSON.stringify(copy).split(JSON.stringify(from)).join(JSON.stringify(to))), category: `name:${to}` };
  }
  const path = r.pick(all);
  const parent = path.slice(0, -1).reduce((o: any, k) => o[k], copy) as Record<string | number, unknown>;
  const key = path[path.length - 1]!;
  const kind = r.pick(['replace', 'remove', 'deep', 'grow'] as const);
  if (kind === 'remove') {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else if (kind === 'deep') parent[key] = deep(r.int(50, 2000));
  else if (kind === 'grow' && Array.isArray(parent[key])) parent[key] = Array.from({ length: r.int(2, 40) }, () => (parent[key] as unknown[])[0] ?? 0);
  else parent[key] = randomValue(r, parent[key]);
  return { value: copy, category: `field:${kind}:${String(key).replace(/^\d+$/, '#')}` };
}
