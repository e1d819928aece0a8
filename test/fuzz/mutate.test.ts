/**
 * The mutators must not touch their input: Buffer's slice() is a view, so mutating "a copy" made
 * with it corrupted the example model in memory, and every later case of a campaign fuzzed an
 * already broken original.
 */
import { expect, it } from 'vitest';
import { mutateBytes } from './mutate.ts';
import { prng } from './runner.ts';

it('mutateBytes leaves a Buffer input unchanged', () => {
  const original = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const before = Buffer.from(original);
  for (let seed = 1; seed <= 200; seed++) mutateBytes(prng(seed), original);
  expect(original.equals(before)).toBe(true);
});
