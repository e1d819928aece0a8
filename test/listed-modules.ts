/**
 * For the folders whose modules are listed in an index.ts (cli/commands/, drivers/backends/): the
 * list holds the default export of every module of the folder, each once, and nothing else.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'vitest';

export async function expectListsFolder(dir: string, list: readonly unknown[]): Promise<void> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'index.ts').sort();
  const unlisted: string[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(dir, f)).href)) as { default?: unknown };
    if (!list.includes(mod.default)) unlisted.push(f);
  }
  expect(unlisted).toEqual([]);
  expect(new Set(list).size).toBe(list.length);
  expect(list.length).toBe(files.length);
}
