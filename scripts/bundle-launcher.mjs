// dist/vta.mjs, written by scripts/build.ts from this file: runs dist/vta.cjs, the `vta` command as one
// script, with V8's code cache for it (dist/vta.cjs.cache) when the cache was made from this very
// bundle. The cache holds the bytecode of the functions a compilation runs, so a command starts
// without parsing and compiling most of the 900 KB bundle. Without a cache, or with one V8 refuses
// (another Node version, other V8 flags), the bundle compiles as any script would.
// With VTA_WRITE_CODE_CACHE=1 the command writes the cache as it exits (scripts/build.ts does that
// once, through bin/vta.mjs, whose V8 flags the cache must match).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

/** The sha256 of dist/vta.cjs, filled in by scripts/build.ts; a cache made for other bytes starts otherwise. */
const BUNDLE_SHA256 = '@BUNDLE_SHA256@';
const bundle = fileURLToPath(new URL('./vta.cjs', import.meta.url));
const cachePath = `${bundle}.cache`;

/** The cache's V8 data when its first 64 bytes name this bundle's digest, else undefined. */
function cachedData() {
  try {
    const file = readFileSync(cachePath);
    return file.subarray(0, 64).toString('latin1') === BUNDLE_SHA256 ? file.subarray(64) : undefined;
  } catch {
    return undefined;
  }
}

function writeCache(script) {
  const tmp = `${cachePath}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.concat([Buffer.from(BUNDLE_SHA256, 'latin1'), script.createCachedData()]));
  renameSync(tmp, cachePath);
}

// The wrapper Node puts around a CommonJS module, on the bundle's first line: line numbers stay.
const source = readFileSync(bundle, 'utf8');
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: bundle, cachedData: cachedData() });
if (process.env.VTA_WRITE_CODE_CACHE) process.once('exit', () => writeCache(script));
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
