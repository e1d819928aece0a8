/** docs/errors.md as text, generated from the catalogue so the two cannot drift. */
import { ERROR_CODES } from './error-codes.ts';

export function errorDocs(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, meaning]) => `| \`${code}\` | ${meaning.replace(/\|/g, '\\|')} |`);
  return [
    '# Error codes',
    '',
    'Every error a user can cause prints one line, `error[CODE]: what is wrong`, naming the file, node,',
    'tensor or instruction at fault. The codes are stable; this table is generated from',
    '`lib/error-codes.ts` (`npx tsx scripts/gen-error-docs.ts`), and `vta errors` prints it.',
    'Anything else (`internal error: ...`) is a bug of ours: please report it with `VTA_DEBUG=1` output.',
    '',
    '| code | meaning |',
    '|---|---|',
    ...rows,
    '',
  ].join('\n');
}
