/** Addresses of remote drivers: `--driver remote://HOST:PORT` and `vta serve --listen HOST:PORT`. */
import { describe, expect, it } from 'vitest';
import { parseRemoteAddress } from '../../drivers/backends/remote.ts';
import { getDriver } from '../../drivers/registry.ts';
import { isLoopback } from '../../drivers/remote-server.ts';
import { parseListen } from '../../cli/commands/serve.ts';

describe('remote addresses', () => {
  it('parses remote://HOST:PORT, IPv6 in brackets, and refuses the rest in one line', () => {
    expect(parseRemoteAddress('remote://board.lan:9095')).toEqual({ host: 'board.lan', port: 9095, url: 'remote://board.lan:9095' });
    expect(parseRemoteAddress('remote://[::1]:80')).toEqual({ host: '::1', port: 80, url: 'remote://[::1]:80' });
    for (const bad of ['remote://host', 'remote://host:0', 'remote://host:70000', 'remote://:80', 'remote://a b:80']) {
      expect(() => parseRemoteAddress(bad), bad).toThrow(/a remote driver is named remote:\/\/HOST:PORT/);
    }
  });

  it('the registry hands remote:// names to the remote driver, one DriverInfo per address', async () => {
    const a = await getDriver('remote://127.0.0.1:9');
    expect(a.name).toBe('remote://127.0.0.1:9');
    expect(a.observes).toBe(false);
    expect(await getDriver('remote://127.0.0.1:9')).toBe(a);
    await expect(getDriver('board://x:1')).rejects.toThrow(/no registered driver reaches devices at board:\/\/ addresses/);
    await expect(getDriver('remote')).rejects.toThrow(/name its server: --driver remote:\/\/HOST:PORT/);
  });

  it('parses --listen, defaulting the host to loopback; knows loopback addresses', () => {
    expect(parseListen('0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListen('0.0.0.0:9095')).toEqual({ host: '0.0.0.0', port: 9095 });
    expect(parseListen('[::1]:1')).toEqual({ host: '::1', port: 1 });
    expect(() => parseListen('host:99999')).toThrow(/--listen host:99999: expected HOST:PORT/);
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '192.168.1.2', '::', 'example.com'].some(isLoopback)).toBe(false);
  });
});
