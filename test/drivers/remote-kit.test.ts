/**
 * The whole conformance kit through remote://: for fsim and tsim (when built), every bundle replayed
 * through an in-process `vta serve` on a loopback port gives the expected bytes, and the same bytes
 * and counters as the local driver.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Driver, DriverInfo } from '../../drivers/api.ts';
import { type Bundle, compareOutputs, loadBundle, loadExpected, replayBundle } from '../../drivers/bundle.ts';
import { getDriver, listDrivers } from '../../drivers/registry.ts';
import { serveForTest, type TestServer } from './remote-helpers.ts';

const DIR = join(import.meta.dirname, '..', '..', 'conformance');
const NAMES = readdirSync(DIR)
  .filter((f) => f.endsWith('.bundle.json'))
  .map((f) => f.slice(0, -'.bundle.json'.length))
  .sort();

/** One device per config on each side, as `vta conformance` opens them. */
function pool(info: () => DriverInfo) {
  const open = new Map<string, Driver>();
  return {
    async get(b: Bundle): Promise<Driver> {
      let d = open.get(b.config.bitstream);
      if (!d) open.set(b.config.bitstream, (d = await info().open(b.config)));
      return d;
    },
    close: () => open.forEach((d) => d.close()),
  };
}

for (const local of (await listDrivers()).filter((d) => ['fsim', 'tsim'].includes(d.name))) {
  const why = local.unavailable?.();
  if (why) {
    it.skip(`conformance kit through remote:// to ${local.name}: ${why}`, () => {});
    continue;
  }
  describe(`conformance kit through remote:// to ${local.name}`, () => {
    let server: TestServer;
    let remote: DriverInfo;
    const here = pool(() => local);
    const there = pool(() => remote);
    beforeAll(async () => {
      server = await serveForTest(local);
      remote = await getDriver(server.url);
    });
    afterAll(async () => {
      here.close();
      there.close();
      await server.close();
    });

    it('the remote driver reports the served driver', async () => {
      const d = await there.get(loadBundle(join(DIR, `${NAMES[0]}.bundle.json`)));
      expect(d.name).toBe(server.url);
      expect(remote.clocked).toBe(local.clocked);
    });

    for (const name of NAMES) {
      it(name, async () => {
        const bundle = loadBundle(join(DIR, `${name}.bundle.json`));
        const want = await replayBundle(await here.get(bundle), bundle);
        const got = await replayBundle(await there.get(bundle), bundle);
        expect(compareOutputs(got.outputs, loadExpected(join(DIR, `${name}.expected.json`))).map((m) => m.message)).toEqual([]);
        expect(compareOutputs(got.outputs, want.outputs)).toEqual([]);
        expect(got.counters).toEqual(want.counters);
      });
    }
  });
}
