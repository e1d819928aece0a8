/**
 * Where the package's own files are. Data the toolchain reads at run time (the default config, the
 * conformance kit, the fusion rules, the RTL build) is found from the package root, never from the
 * calling module's folder: the same code runs from its TypeScript sources and from the one-file
 * bundle in dist/, whose folder is another one.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'vta-toolchain';
let root: string | undefined;

function isPackageRoot(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === PACKAGE_NAME;
  } catch {
    return false;
  }
}

/** The folder of the vta-toolchain package.json above this module (computed once). */
export function packageRoot(): string {
  if (root !== undefined) return root;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (isPackageRoot(dir)) return (root = dir);
    if (dirname(dir) === dir) throw new Error(`no ${PACKAGE_NAME} package.json above ${start}`);
  }
}

/** A path inside the package, from its root: `packagePath('config', 'vta_config.json')`. */
export function packagePath(...parts: string[]): string {
  return join(packageRoot(), ...parts);
}
