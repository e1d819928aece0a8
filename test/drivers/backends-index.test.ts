/**
 * drivers/backends/index.ts lists every driver: each file of drivers/backends/ is in the list (a
 * file left out would be a driver `vta drivers` never shows), and the list holds nothing else.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../drivers/backends/index.ts';
import { listDrivers } from '../../drivers/registry.ts';
import { expectListsFolder } from '../listed-modules.ts';

describe('drivers/backends/index.ts', () => {
  it('lists the DriverInfo of every file in drivers/backends/, once, and nothing else', async () => {
    await expectListsFolder(join(import.meta.dirname, '..', '..', 'drivers', 'backends'), BACKENDS);
  });

  it('registers each listed driver under its name', async () => {
    const names = (await listDrivers()).map((d) => d.name);
    for (const info of BACKENDS) expect(names).toContain(info.name);
  });
});
