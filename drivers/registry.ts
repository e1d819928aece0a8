/**
 * Driver registry. Every file in drivers/backends/ default-exports a DriverInfo and is registered
 * under its name: adding a driver is adding one file. Other packages may also call registerDriver.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { VtaError } from '../lib/errors.ts';
import type { DriverInfo } from './api.ts';

const drivers = new Map<string, DriverInfo>();
let discovered: Promise<void> | undefined;

export class DriverError extends VtaError {
  constructor(message: string) {
    super('E_DRIVER', message);
  }
}

export function registerDriver(info: DriverInfo): void {
  if (drivers.has(info.name)) throw new DriverError(`driver ${info.name} is registered twice`);
  drivers.set(info.name, info);
}

const BACKENDS = join(dirname(fileURLToPath(import.meta.url)), 'backends');

async function discover(): Promise<void> {
  const files = readdirSync(BACKENDS).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).sort();
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(BACKENDS, f)).href)) as { default?: DriverInfo };
    const info = mod.default;
    if (!info || typeof info.open !== 'function' || typeof info.name !== 'string') {
      throw new DriverError(`drivers/backends/${f} does not default-export a DriverInfo`);
    }
    if (!drivers.has(info.name)) drivers.set(info.name, info);
  }
}

/** All registered drivers, sorted by name (discovers drivers/backends/ on first use). */
export async function listDrivers(): Promise<DriverInfo[]> {
  discovered ??= discover();
  await discovered;
  return [...drivers.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The driver registered as `name`; a clear error lists the known names otherwise. */
export async function getDriver(name: string): Promise<DriverInfo> {
  const all = await listDrivers();
  const info = drivers.get(name);
  if (!info) throw new DriverError(`unknown driver '${name}' (known: ${all.map((d) => d.name).join(', ') || 'none'})`);
  const why = info.unavailable?.();
  if (why) throw new DriverError(`driver '${name}' is not available: ${why}`);
  return info;
}
