/** Writes docs/errors.md from the error catalogue (lib/error-codes.ts): `npx tsx scripts/gen-error-docs.ts`. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorDocs } from '../lib/error-docs.ts';

writeFileSync(join(import.meta.dirname, '..', 'docs', 'errors.md'), errorDocs());
