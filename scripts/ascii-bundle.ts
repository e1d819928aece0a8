/**
 * The `vta` bundle as ASCII. esbuild escapes every non-ASCII character of strings, regular
 * expressions and names, but keeps the comments it carries over as they are, and a few of them hold
 * symbols (∘, ≤, ⌊x⌋). One such character makes V8 hold the whole 900 KB source as a two-byte string:
 * every command reads and scans twice the bytes (measured: 0.96x the CPU of `vta --help`, 0.99x of a
 * compile, 450 page faults fewer).
 */
import { transformSync } from 'esbuild';

/**
 * `js` with each non-ASCII character written as \u{hex}: text in a comment, the same character in a
 * string. Refused where the escape could change the code (a regular expression without the u flag,
 * a template's raw text; names too, which esbuild prints otherwise).
 */
export function asciiBundle(js: string): string {
  const ascii = js.replace(/[^\x00-\x7f]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
  if (ascii === js) return js;
  // Minified, the code has no comments, and esbuild prints a string in one escaped form: the two
  // minify alike only when no escape changed what the code means.
  const code = (text: string) => transformSync(text, { minify: true, format: 'cjs', target: 'node20', logLevel: 'silent' }).code;
  if (code(ascii) !== code(js)) throw new Error('the bundle has non-ASCII characters that an escape could change (outside comments and strings)');
  return ascii;
}
