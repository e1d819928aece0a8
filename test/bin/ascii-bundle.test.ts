import { describe, expect, it } from 'vitest';
import { asciiBundle } from '../../scripts/ascii-bundle.ts';

describe('asciiBundle', () => {
  it('escapes non-ASCII characters of comments, leaving the code as it was', () => {
    const js = '"use strict";\n/** dst ∘= a ≤ b, ⌊x⌋ 𝑥 */\nmodule.exports = "\\u2218" + 1; // ∘\n';
    const ascii = asciiBundle(js);
    expect(ascii).toMatch(/^[\x00-\x7f]*$/);
    expect(ascii).toContain('/** dst \\u{2218}= a \\u{2264} b, \\u{230a}x\\u{230b} \\u{1d465} */');
    expect(ascii.split('\n')).toHaveLength(js.split('\n').length);
    const run = (text: string) => {
      const module = { exports: undefined as unknown };
      new Function('module', text)(module);
      return module.exports;
    };
    expect(run(ascii)).toBe(run(js));
  });

  it('returns ASCII text unchanged', () => {
    const js = 'module.exports = 1;\n';
    expect(asciiBundle(js)).toBe(js);
  });

  it('escapes strings to the same values', () => {
    const js = 'const s = "∘≤"; module.exports = s + s.length;\n';
    const ascii = asciiBundle(js);
    expect(ascii).toMatch(/^[\x00-\x7f]*$/);
    const module = { exports: undefined as unknown };
    new Function('module', ascii)(module);
    expect(module.exports).toBe('∘≤2');
  });

  it('refuses a regular expression or a raw template the escape would change', () => {
    expect(() => asciiBundle('module.exports = /≤/.test("≤");\n')).toThrow(/could change/);
    expect(() => asciiBundle('module.exports = String.raw`∘`;\n')).toThrow(/could change/);
  });
});
