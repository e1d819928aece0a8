/**
 * One vitest case per bundle of a conformance folder on one driver, sharing one device context
 * (as a host program would; replays free their memory): the default kit and the int4 set both
 * run through here. Each must give its expected bytes or refusal and, on a driver that reports SRAM
 * accesses, be race-free.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Driver, DriverInfo } from '../../drivers/api.ts';
import { type Bundle, loadBundle } from '../../drivers/bundle.ts';
import { checkKitBundle, loadKitExpectation } from '../../drivers/kit-check.ts';

export function describeKitReplay(title: string, info: DriverInfo, dir: string, names: readonly string[]): void {
  describe(title, () => {
    let driver: Driver | undefined;
    const open = async (b: Bundle) => (driver ??= await info.open(b.config));
    afterAll(() => driver?.close());

    for (const name of names) {
      it(name, async () => {
        const bundle = loadBundle(join(dir, `${name}.bundle.json`));
        const problems = await checkKitBundle(await open(bundle), bundle, loadKitExpectation(join(dir, `${name}.expected.json`)), info.observes);
        expect(problems).toEqual([]);
      });
    }
  });
}
