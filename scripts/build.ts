/**
 * `make deps` (and `npm pack`): the `vta` command as one script, so that it starts without compiling
 * TypeScript; tsx stays for development. npm dependencies stay outside the bundle and load from
 * node_modules, except yargs: its thirty-odd small ES modules cost more start-up time to load one by
 * one than all the rest of `vta --help` (it has no native code).
 *   dist/vta.cjs          the bundle, as a CommonJS script (import.meta.url is the bundle's URL), in
 *                         ASCII (scripts/ascii-bundle.ts)
 *   dist/vta.mjs          what bin/vta.mjs imports: scripts/bundle-launcher.mjs, which runs vta.cjs
 *                         with V8's code cache for it
 *   dist/vta.cjs.cache    that cache, made here by compiling models/cnn.onnx once through bin/vta.mjs:
 *                         a script (unlike an ES module on Node 20) can start from cached bytecode
 *   dist/vta.inputs.json  the sources the bundle holds: bin/vta.mjs runs the sources through tsx
 *                         instead when one of them is newer than dist/vta.mjs
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { asciiBundle } from './ascii-bundle.ts';
// Also dist/api.mjs: the library the package exports, so `import … from 'vta-toolchain'` needs no TypeScript.

const ROOT = join(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');
const BUNDLE = join(DIST, 'vta.cjs');
const CODE_CACHE = `${BUNDLE}.cache`;
const LAUNCHER = join(DIST, 'vta.mjs');
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

/**
 * yargs' help layout measures text with string-width, whose module builds an Intl.Segmenter and
 * Unicode-property regular expressions as it loads: some 60 ms of every command's start, for help
 * text most commands never print. In the bundle each copy of it loads when first called.
 */
const lazyStringWidth: Plugin = {
  name: 'lazy-string-width',
  setup(b) {
    b.onResolve({ filter: /^string-width$/ }, async (args) => {
      if (args.pluginData === 'real') return undefined;
      const real = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'real' });
      if (real.errors.length > 0) return { errors: real.errors };
      return { path: real.path, namespace: 'lazy-string-width' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-string-width' }, (args) => ({
      contents: `let width;\nexport default function stringWidth(text, options) {\n  width ??= require(${JSON.stringify(args.path)}).default;\n  return width(text, options);\n}\n`,
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
  },
};

// The bundle is dated when its sources were read: a source saved during the build is newer.
const readAt = new Date();
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: ['cli/main.ts'],
  outfile: BUNDLE,
  bundle: true,
  platform: 'node',
  // A script, so that it can run from V8's code cache (scripts/bundle-launcher.mjs); strict, as the
  // ES modules it is made of are.
  format: 'cjs',
  // (yargs declares a __dirname of its own in the bundle's scope: the folder is taken first.)
  banner: { js: `"use strict";\nvar __vtaBundleUrl = require("node:url").pathToFileURL(__filename).href, __vtaBundleDir = __dirname;` },
  define: { 'import.meta.url': '__vtaBundleUrl', 'import.meta.dirname': '__vtaBundleDir' },
  target: 'node20',
  external: dependencies.filter((d) => !BUNDLED_DEPENDENCIES.has(d)),
  plugins: [lazyStringWidth],
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
// Files only: the plugin's stand-ins (namespace:path) have none to be newer than the bundle.
const inputs = Object.keys(result.metafile.inputs).filter((f) => !/^[a-z-]+:/.test(f)).sort();
const bundleFile = result.outputFiles.find((f) => f.path === BUNDLE);
if (!bundleFile) throw new Error(`esbuild wrote no ${relative(ROOT, BUNDLE)}`);
const bundle = { contents: Buffer.from(asciiBundle(bundleFile.text), 'latin1') };
mkdirSync(DIST, { recursive: true });
rmSync(CODE_CACHE, { force: true });
const bundleSha256 = createHash('sha256').update(bundle.contents).digest('hex');
const launcher = readFileSync(join(ROOT, 'scripts', 'bundle-launcher.mjs'), 'utf8').replace('@BUNDLE_SHA256@', bundleSha256);
writeAtomic(INPUTS, JSON.stringify(inputs, null, 1) + '\n');
writeAtomic(LIBRARY, libraryFile.contents);
writeAtomic(BUNDLE, bundle.contents);
writeAtomic(LAUNCHER, launcher);
utimesSync(LAUNCHER, readAt, readAt);
writeCodeCache();
console.error(`${relative(ROOT, BUNDLE)}: ${inputs.length} sources, ${(bundle.contents.length / 1024).toFixed(0)} KiB`);

/**
 * dist/vta.cjs.cache: one compilation of models/cnn.onnx through bin/vta.mjs (its V8 flags are
 * part of what V8 checks), which writes the bytecode of every function it ran. Without it the
 * command still runs, only compiling its code as it starts.
 */
function writeCodeCache(): void {
  const dir = mkdtempSync(join(tmpdir(), 'vta-code-cache-'));
  try {
    const run = spawnSync(process.execPath, [join(ROOT, 'bin', 'vta.mjs'), 'compile', join(ROOT, 'models', 'cnn.onnx'), '-o', join(dir, 'cnn.vtapkg')], {
      cwd: ROOT,
      env: { ...process.env, VTA_DEV: '', VTA_WRITE_CODE_CACHE: '1' },
      encoding: 'utf8',
    });
    if (run.status !== 0) console.error(`warning: no code cache for ${relative(ROOT, BUNDLE)} (compiling models/cnn.onnx failed: ${(run.stderr || run.error?.message || '').trim().split('\n').pop()})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
