// The C semantics ovn-nbctl's output depends on: strcmp (byte order of the UTF-8 text) and printf's
// %Ns / %-N.Ps padding, which count bytes, not characters.

// Only text with a surrogate or a character from U+E000 up can order differently as UTF-16 and as UTF-8
const MAY_DIFFER = /[\ud800-\uffff]/;

/**
 * strcmp on the UTF-8 encodings of a and b, without encoding them: UTF-8 byte order is code point order,
 * which differs from UTF-16 code unit order (JavaScript's <) only where a surrogate meets U+E000..U+FFFF.
 */
export function strcmp(a: string, b: string): number {
  if (a === b) return 0;
  if (!MAY_DIFFER.test(a) && !MAY_DIFFER.test(b)) return a < b ? -1 : 1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a.charCodeAt(i) !== b.charCodeAt(i)) return a.codePointAt(i)! - b.codePointAt(i)!;
  }
  return a.length - b.length;
}

/** A stable sort of items by key in strcmp order, checking the keys' characters once rather than per comparison. */
export function sortByText<T>(items: readonly T[], key: (item: T) => string): T[] {
  const keys = items.map(key);
  const exact = keys.some((k) => MAY_DIFFER.test(k));
  const index = items.map((_, i) => i);
  index.sort((i, j) => {
    const [a, b] = [keys[i]!, keys[j]!];
    if (exact) return strcmp(a, b);
    return a === b ? 0 : a < b ? -1 : 1;
  });
  return index.map((i) => items[i]!);
}

/** Sign of strcmp, for sort comparators that combine several keys. */
export function compareText(a: string, b: string): -1 | 0 | 1 {
  const c = strcmp(a, b);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

export function byteLength(s: string): number {
  // ASCII fast path: most of what is printed is names, addresses and matches
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s);
  return s.length;
}

/** The longest prefix of s that fits in maxBytes bytes (whole characters only). */
function truncateBytes(s: string, maxBytes: number): string {
  if (byteLength(s) <= maxBytes) return s;
  let out = '';
  let used = 0;
  for (const ch of s) {
    const n = byteLength(ch);
    if (used + n > maxBytes) break;
    out += ch;
    used += n;
  }
  return out;
}

/** printf("%-{width}.{precision}s", s): truncated to precision bytes, padded on the right to width. */
export function padEnd(s: string, width: number, precision?: number): string {
  const t = precision === undefined ? s : truncateBytes(s, precision);
  const len = byteLength(t);
  return len >= width ? t : t + ' '.repeat(width - len);
}

/** printf("%{width}s"): padded on the left to width bytes. */
export function padStart(s: string, width: number): string {
  const len = byteLength(s);
  return len >= width ? s : ' '.repeat(width - len) + s;
}

/** printf("%.{15}g") as C prints it (OVSDB reals use DBL_DIG significant digits). */
export function formatReal(x: number, precision = 15): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(Number(x.toPrecision(precision)))));
  if (exp < -4 || exp >= precision) {
    const [mantissa, e] = x.toExponential(precision - 1).split('e') as [string, string];
    const m = stripZeros(mantissa);
    const n = Number(e);
    return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return stripZeros(x.toFixed(Math.max(0, precision - 1 - exp)));
}

function stripZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}
