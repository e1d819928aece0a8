/** packageRoot finds the vta-toolchain package from any module inside it (sources or bundle). */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packagePath, packageRoot } from '../../lib/paths.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

describe('packageRoot', () => {
  it('is the folder of the package.json named vta-toolchain', () => {
    expect(packageRoot()).toBe(ROOT);
    expect(JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).name).toBe('vta-toolchain');
  });

  it('joins paths inside the package', () => {
    expect(packagePath('config', 'vta_config.json')).toBe(join(ROOT, 'config', 'vta_config.json'));
  });
});
