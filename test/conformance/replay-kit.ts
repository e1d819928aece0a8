/**
 * One vitest case per bundle of a conformance folder on one driver, sharing one device context
 * (as a host program would; replays free their memory): the default kit and the int4 set both
 * run through here.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Driver, DriverInfo } from '../../drivers/api.ts';
import { type Bundle, compareOutputs, loadBundle, loadExpected, replayBundle } from '../../drivers/bundle.ts';

export function describeKitReplay(title: string, info: DriverInfo, dir: string, names: readonly string[]): void {
  describe(title, () => {
    let driver: Driver | undefined;
    const open = async (b: Bundle) => (driver ??= await info.open(b.config));
    afterAll(() => driver?.close());

    for (const name of names) {
      it(name, async () => {
        const bundle = loadBundle(join(dir, `${name}.bundle.json`));
        const result = await replayBundle(await open(bundle), bundle);
        const mismatches = compareOutputs(result.outputs, loadExpected(join(dir, `${name}.expected.json`)));
        expect(mismatches.map((m) => m.message)).toEqual([]);
      });
    }
  });
}
