/**
 * `vta serve --driver NAME --listen HOST:PORT`: expose one driver of this machine to remote clients
 * (`--driver remote://HOST:PORT` elsewhere). Listens on loopback unless told otherwise, refuses
 * another address without VTA_REMOTE_TOKEN, logs one line per session event on stderr and prints
 * the bound address on stdout (port 0 picks a free port). docs/remote.md has the security model.
 */
import type { Argv, CommandModule } from 'yargs';
import { getDriver } from '../../drivers/registry.ts';
import { DEFAULT_LIMITS, startServer, type ServeLimits } from '../../drivers/remote-server.ts';
import { DEFAULT_PORT } from '../../drivers/remote-protocol.ts';
import { VtaError } from '../../lib/errors.ts';
import { refuseConfig } from '../options.ts';

interface Args {
  driver: string;
  listen: string;
  config?: string;
  maxFrame: number;
  maxMemory: number;
  maxBudget: number;
  idle: number;
  maxSessions: number;
}

/** HOST:PORT, [IPv6]:PORT or PORT alone (on 127.0.0.1). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-f:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/i.exec(text);
  const port = m ? Number(m[2]) : -1;
  if (!m || port > 65535) throw new VtaError('E_USAGE', `--listen ${text}: expected HOST:PORT (port 0-65535; 0 picks a free one)`);
  return { host: (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new VtaError('E_USAGE', `--${name} must be a positive number, got ${v}`);
  return v;
}

const command: CommandModule<object, Args> = {
  command: 'serve',
  describe: 'Serve a driver of this machine to remote clients (--driver remote://HOST:PORT there); see docs/remote.md',
  builder: (y) =>
    y
      .option('driver', { alias: 'd', type: 'string', default: 'fsim', describe: 'driver to serve (vta drivers lists them)' })
      .option('listen', { type: 'string', default: `127.0.0.1:${DEFAULT_PORT}`, describe: 'HOST:PORT to listen on; another host than loopback needs VTA_REMOTE_TOKEN' })
      .option('max-frame', { type: 'number', default: DEFAULT_LIMITS.maxFrame, describe: 'largest frame payload in bytes' })
      .option('max-memory', { type: 'number', default: DEFAULT_LIMITS.maxMemory, describe: 'device memory one session may hold, in bytes' })
      .option('max-budget', { type: 'number', default: DEFAULT_LIMITS.maxBudget, describe: 'largest run budget a client may ask for' })
      .option('idle', { type: 'number', default: DEFAULT_LIMITS.idleSeconds, describe: 'end a session silent for this many seconds' })
      .option('max-sessions', { type: 'number', default: DEFAULT_LIMITS.maxSessions, describe: 'sessions served at once' }) as unknown as Argv<Args>,
  handler: async (argv) => {
    refuseConfig(argv, 'serve', 'each client opens the driver for its own config');
    const { host, port } = parseListen(argv.listen);
    const info = await getDriver(argv.driver);
    const limits: ServeLimits = {
      maxFrame: positive('max-frame', argv.maxFrame),
      maxMemory: positive('max-memory', argv.maxMemory),
      maxBudget: positive('max-budget', argv.maxBudget),
      idleSeconds: positive('idle', argv.idle),
      maxSessions: positive('max-sessions', argv.maxSessions),
    };
    const token = process.env.VTA_REMOTE_TOKEN;
    const server = await startServer({
      driver: info, host, port, limits,
      ...(token !== undefined ? { token } : {}),
      log: (line) => console.error(`vta serve: ${line}`),
    });
    const shown = host.includes(':') ? `[${host}]` : host;
    console.log(`vta serve: driver ${info.name} on remote://${shown}:${server.port}${token !== undefined ? ' (token required)' : ' (no token: loopback only)'}`);
    const stop = () => {
      void server.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await new Promise(() => {});
  },
};
export default command;
