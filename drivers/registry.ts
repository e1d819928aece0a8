/**
 * Driver registry. Every file in drivers/backends/ default-exports a DriverInfo, is listed in
 * drivers/backends/index.ts and is registered under its name: adding a driver is adding one file
 * and one line. Other packages may also call registerDriver. A name `SCHEME://ADDRESS` (remote://HOST:PORT)
 * is the device at ADDRESS of the driver registered as SCHEME (DriverInfo.at).
 */
import { VtaError } from '../lib/errors.ts';
import type { DriverInfo } from './api.ts';
import type { VtaConfig } from '../config/config.ts';
import { BACKENDS } from './backends/index.ts';

const drivers = new Map<string, DriverInfo>();
let backendsRegistered = false;

export class DriverError extends VtaError {
  constructor(message: string) {
    super('E_DRIVER', message);
  }
}

export function registerDriver(info: DriverInfo): void {
  if (drivers.has(info.name)) throw new DriverError(`driver ${info.name} is registered twice`);
  drivers.set(info.name, info);
}

/** The package's own drivers join the registry on first use; one registered earlier by name wins. */
function registerBackends(): void {
  for (const info of BACKENDS) if (!drivers.has(info.name)) drivers.set(info.name, info);
}

/** `SCHEME://ADDRESS` names the device at ADDRESS of the driver registered as SCHEME (remote://HOST:PORT). */
function addressed(name: string): DriverInfo | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(name)?.[1];
  if (scheme === undefined) return undefined;
  const info = drivers.get(scheme);
  if (!info?.at) throw new DriverError(`unknown driver '${name}': no registered driver reaches devices at ${scheme}:// addresses`);
  return info.at(name);
}

/** All registered drivers, sorted by name. */
export async function listDrivers(): Promise<DriverInfo[]> {
  if (!backendsRegistered) {
    registerBackends();
    backendsRegistered = true;
  }
  return [...drivers.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The driver registered as `name`; a clear error lists the known names otherwise. With `config`
 * (the one it will be opened with), availability is checked for that config (tsim needs a build per
 * config), else for the default one.
 */
export async function getDriver(name: string, config?: VtaConfig): Promise<DriverInfo> {
  const all = await listDrivers();
  const info = addressed(name) ?? drivers.get(name);
  if (!info) throw new DriverError(`unknown driver '${name}' (known: ${all.map((d) => d.name).join(', ') || 'none'})`);
  const why = info.unavailable?.(config);
  if (why) throw new DriverError(`driver '${name}' is not available: ${why}`);
  return info;
}
