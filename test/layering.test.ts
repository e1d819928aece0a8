/**
 * The layers import only downward. Every non-test .ts file's relative imports (static, re-exports,
 * dynamic `import('...')`) are read, and each must point into its own top-level folder or into a
 * folder of a lower layer. Folders of one layer do not import each other, so the top-level folders
 * have no cycle.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

/** Lowest first. `hw` (the RTL package generator and register map) sits beside `sim`, below the drivers. */
const LAYERS: readonly (readonly string[])[] = [
  ['lib'],
  ['config'],
  ['isa'],
  ['sim', 'hw'],
  ['drivers'],
  ['runtime'],
  ['graph'],
  ['compiler'],
  ['frontend'],
  ['viz'],
  // The library entry point (openModel, runModel), which the CLI is a thin shell over.
  ['api'],
  // Example models and data (models/make-models.ts, the MNIST digits, the float ResNet-18), which
  // the entry points use (scripts/mnist-data.ts; the quantizer's benchmark).
  ['models'],
  // Entry points: each may import anything below it.
  ['cli', 'bench', 'scripts'],
];

/**
 * Imports that break the order today, in files this change does not own; the integrator clears
 * them. Each entry is `importing file -> imported file`, with a comment saying why it is here.
 */
const ALLOWED: ReadonlySet<string> = new Set<string>([]);

/** Folders whose .ts files are not part of the toolchain's layers. */
const SKIPPED = new Set(['node_modules', 'test', 'build', 'conformance', 'docs']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name.startsWith('.') || SKIPPED.has(e.name)) return [];
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** The relative module specifiers a file imports, re-exports or loads dynamically. */
function relativeImports(source: string): string[] {
  const patterns = [/\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]/g, /\bimport\s*['"](\.{1,2}\/[^'"]+)['"]/g, /\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g];
  return patterns.flatMap((re) => [...source.matchAll(re)].map((m) => m[1]!));
}

const topFolder = (path: string): string => relative(ROOT, path).split(sep)[0]!;
const layerOf = new Map(LAYERS.flatMap((folders, rank) => folders.map((f) => [f, rank] as const)));

interface Edge {
  from: string;
  to: string;
  fromFolder: string;
  toFolder: string;
}

function crossFolderImports(): Edge[] {
  const files = sourceFiles(ROOT).filter((f) => relative(ROOT, f).includes(sep));
  return files.flatMap((file) =>
    relativeImports(readFileSync(file, 'utf8')).flatMap((spec) => {
      const target = resolve(dirname(file), spec);
      const edge = { from: relative(ROOT, file), to: relative(ROOT, target), fromFolder: topFolder(file), toFolder: topFolder(target) };
      return edge.fromFolder === edge.toFolder ? [] : [edge];
    }),
  );
}

describe('layering', () => {
  const edges = crossFolderImports();

  it('finds the imports it checks', () => {
    expect(edges.some((e) => e.from === 'sim/stream.ts' && e.toFolder === 'isa')).toBe(true);
    expect(relativeImports(`import a from './x.ts';\nexport * from "../y.ts";\nconst m = await import('../z.ts');\nimport 'pkg';`)).toEqual(['./x.ts', '../y.ts', '../z.ts']);
  });

  it('places every top-level folder with source files in a layer', () => {
    const folders = new Set(sourceFiles(ROOT).filter((f) => relative(ROOT, f).includes(sep)).map(topFolder));
    expect([...folders].filter((f) => !layerOf.has(f))).toEqual([]);
  });

  it('imports only downward (lib < config < isa < sim < drivers < runtime < graph < compiler < frontend < viz < api < entry points)', () => {
    const upward = edges
      .filter((e) => !(layerOf.get(e.toFolder)! < layerOf.get(e.fromFolder)!))
      .map((e) => `${e.from} -> ${e.to}`)
      .filter((e) => !ALLOWED.has(e));
    expect(upward).toEqual([]);
  });

  it('has no import cycle between top-level folders', () => {
    const next = new Map<string, Set<string>>();
    for (const e of edges) {
      if (ALLOWED.has(`${e.from} -> ${e.to}`)) continue;
      if (!next.has(e.fromFolder)) next.set(e.fromFolder, new Set());
      next.get(e.fromFolder)!.add(e.toFolder);
    }
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (folder: string, path: string[]): void => {
      if (state.get(folder) === 'done') return;
      if (state.get(folder) === 'open') {
        cycles.push([...path.slice(path.indexOf(folder)), folder].join(' -> '));
        return;
      }
      state.set(folder, 'open');
      for (const to of next.get(folder) ?? []) visit(to, [...path, folder]);
      state.set(folder, 'done');
    };
    for (const folder of next.keys()) visit(folder, []);
    expect(cycles).toEqual([]);
  });

  it('keeps sim/, isa/ and config/ free of drivers/, compiler/, frontend/ and cli/', () => {
    const low = new Set(['sim', 'isa', 'config']);
    const high = new Set(['drivers', 'compiler', 'frontend', 'cli']);
    expect(edges.filter((e) => low.has(e.fromFolder) && high.has(e.toFolder)).map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });
});
