/**
 * A value read from a user's file, shown in an error message: JSON-like, on one line, cut to a
 * bounded length and nesting depth. JSON.stringify would print all of it, and a deeply nested value
 * (5,000 levels of arrays) overflows its stack; here the recursion stops at MAX_DEPTH levels and the
 * walk at MAX_CHARS characters, whatever the value holds.
 */

const MAX_DEPTH = 6;
const MAX_CHARS = 80;

/** `value` as JSON.stringify writes it when it is small; else cut: e.g. `[[[[[[[…]]]]]]]`, `"a long na…`. */
export function describeValue(value: unknown, maxChars = MAX_CHARS): string {
  const out = { text: '', full: false };
  render(value, 0, out, maxChars);
  return out.full ? `${out.text.slice(0, maxChars)}…` : out.text;
}

function emit(out: { text: string; full: boolean }, s: string, maxChars: number): boolean {
  out.text += s;
  if (out.text.length > maxChars) out.full = true;
  return !out.full;
}

function render(v: unknown, depth: number, out: { text: string; full: boolean }, maxChars: number): void {
  if (out.full) return;
  if (typeof v === 'string') {
    emit(out, JSON.stringify(v.length > maxChars ? v.slice(0, maxChars + 1) : v), maxChars);
    return;
  }
  if (v === null || typeof v !== 'object') {
    emit(out, typeof v === 'bigint' ? `${v}` : v === undefined ? 'undefined' : typeof v === 'function' ? 'function' : String(v), maxChars);
    return;
  }
  const isArray = Array.isArray(v);
  if (depth >= MAX_DEPTH) {
    emit(out, isArray ? '[…]' : '{…}', maxChars);
    return;
  }
  if (!emit(out, isArray ? '[' : '{', maxChars)) return;
  let first = true;
  if (isArray) {
    for (const item of v) {
      if (!first && !emit(out, ',', maxChars)) return;
      first = false;
      render(item, depth + 1, out, maxChars);
      if (out.full) return;
    }
  } else {
    for (const key in v) {
      if (!Object.hasOwn(v, key)) continue;
      if (!first && !emit(out, ',', maxChars)) return;
      first = false;
      if (!emit(out, `${JSON.stringify(key.slice(0, maxChars + 1))}:`, maxChars)) return;
      render((v as Record<string, unknown>)[key], depth + 1, out, maxChars);
      if (out.full) return;
    }
  }
  emit(out, isArray ? ']' : '}', maxChars);
}
