/**
 * `make deps` (and `npm pack`): the `vta` command as one ES module, dist/vta.mjs, so that it starts
 * without compiling TypeScript; tsx stays for development. npm dependencies stay outside the bundle
 * and load from node_modules, except yargs: its thirty-odd small ES modules cost more start-up time
 * to load one by one than all the rest of `vta --help` (it has no native code). Beside it, dist/vta.inputs.json lists the sources the bundle holds:
 * bin/vta.mjs runs the sources through tsx instead when one of them is newer than the bundle.
 */
import { mkdirSync, readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
// Also dist/api.mjs: the library the package exports, so `import … from 'vta-toolchain'` needs no TypeScript.

const ROOT = join(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');
const BUNDLE = join(DIST, 'vta.mjs');
const INPUTS = join(DIST, 'vta.inputs.json');
const LIBRARY = join(DIST, 'api.mjs');
const BUNDLED_DEPENDENCIES = new Set(['yargs']);

const dependencies = Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);

/** Write through a temporary file, so a `vta` started meanwhile reads the old file or the new one. */
function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

// The bundle is dated when its sources were read: a source saved during the build is newer.
const readAt = new Date();
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: ['cli/main.ts'],
  outfile: BUNDLE,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: dependencies.filter((d) => !BUNDLED_DEPENDENCIES.has(d)),
  metafile: true,
  write: false,
  logLevel: 'warning',
});
// The library (package.json "exports"): the api/ layer as one module, every npm dependency outside.
const library = await build({
  absWorkingDir: ROOT,
  entryPoints: ['api/index.ts'],
  outfile: LIBRARY,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: dependencies,
  write: false,
  logLevel: 'warning',
});
const libraryFile = library.outputFiles.find((f) => f.path === LIBRARY);
if (!libraryFile) throw new Error(`esbuild wrote no ${relative(ROOT, LIBRARY)}`);
const inputs = Object.keys(result.metafile.inputs).sort();
const bundle = result.outputFiles.find((f) => f.path === BUNDLE);
if (!bundle) throw new Error(`esbuild wrote no ${relative(ROOT, BUNDLE)}`);
mkdirSync(DIST, { recursive: true });
writeAtomic(INPUTS, JSON.stringify(inputs, null, 1) + '\n');
writeAtomic(LIBRARY, libraryFile.contents);
writeAtomic(BUNDLE, bundle.contents);
utimesSync(BUNDLE, readAt, readAt);
console.error(`${relative(ROOT, BUNDLE)}: ${inputs.length} sources, ${(bundle.contents.length / 1024).toFixed(0)} KiB`);
