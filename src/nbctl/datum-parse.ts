// Reading OVSDB data typed on a *ctl command line (lib/ovsdb-data.c ovsdb_datum_from_string and
// ovsdb_token_parse): `name=pod1`, `addresses='"0a:00:00:00:00:01 10.16.0.5"'`, `tag=[1, 2]`,
// `external_ids={a=b}`. Errors carry the tools' own messages.
import type { Atom } from '../ovsdb/datum.ts';
import type { BaseType } from '../ovsdb/schema.ts';
import { compareAtoms, type Datum, type DatumType } from './datum-text.ts';

export class DatumParseError extends Error {
  override name = 'DatumParseError';
}

const DELIMS = ':=, []{}!<>';

export function isDelim(c: string): boolean {
  return c !== '' && DELIMS.includes(c);
}

/**
 * ovsdb_token_parse(): reads one token from s at pos, up to an unquoted delimiter. Backslash escapes
 * the next character; inside quotes the backslash is kept for the JSON unescape that follows.
 */
export function parseToken(s: string, pos: number): { token: string; end: number } {
  let out = '';
  let inQuotes = false;
  let p = pos;
  while (p < s.length) {
    const c = s[p++]!;
    if (c === '\\') {
      if (inQuotes) out += '\\';
      if (p >= s.length) throw new DatumParseError(`${s.slice(pos)}: backslash at end of argument`);
      out += s[p++];
    } else if (!inQuotes && isDelim(c)) {
      p--;
      break;
    } else {
      out += c;
      if (c === '"') inQuotes = !inQuotes;
    }
  }
  if (inQuotes) throw new DatumParseError(`${s.slice(pos)}: quoted string extends past end of argument`);
  return { token: out, end: p };
}

/** json_string_unescape() of the inside of a quoted string. */
function unescapeJson(s: string, inner: string): string {
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (c === '"') throw new DatumParseError(`${s}: quoted string may not include unescaped "`);
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = inner[++i];
    switch (e) {
      case '"':
      case '\\':
      case '/':
        out += e;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        const hex = inner.slice(i + 1, i + 5);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new DatumParseError(`${s}: malformed \\u escape`);
        out += String.fromCharCode(Number.parseInt(hex, 16));
        i += 4;
        break;
      }
      case undefined:
        throw new DatumParseError(`${s}: quoted string may not end with backslash`);
      default:
        throw new DatumParseError(`${s}: bad escape \\${e}`);
    }
  }
  return out;
}

const INTEGER_RE = /^\s*[+-]?\d+$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** ovsdb_atom_from_string(); an integer key may be a range "a-b", returned as its end. */
export function parseAtom(base: BaseType, s: string, allowRange = false): { atom: Atom; rangeEnd?: number } {
  switch (base.type) {
    case 'integer': {
      const range = allowRange ? /^\s*([+-]?\d+)-([+-]?\d+)$/.exec(s) : null;
      if (range) {
        const [start, end] = [Number(range[1]), Number(range[2])];
        if (end < start)
          throw new DatumParseError(`"${s}" is not a valid range. Range end cannot be before start.`);
        return { atom: start, rangeEnd: end };
      }
      if (!INTEGER_RE.test(s)) throw new DatumParseError(`"${s}" is not a valid integer or range`);
      return { atom: Number(s) };
    }
    case 'real': {
      const x = s.trim() === '' ? Number.NaN : Number(s);
      if (!Number.isFinite(x)) throw new DatumParseError(`"${s}" is not a valid real number`);
      return { atom: x === 0 ? 0 : x };
    }
    case 'boolean':
      if (['true', 'yes', 'on', '1'].includes(s)) return { atom: true };
      if (['false', 'no', 'off', '0'].includes(s)) return { atom: false };
      throw new DatumParseError(`"${s}" is not a valid boolean (use "true" or "false")`);
    case 'string':
      if (s === '')
        throw new DatumParseError(
          'An empty string is not valid as input; use "" to represent the empty string',
        );
      if (s.startsWith('"')) {
        if (s.length < 2 || !s.endsWith('"'))
          throw new DatumParseError(`${s}: missing quote at end of quoted string`);
        return { atom: unescapeJson(s, s.slice(1, -1)) };
      }
      return { atom: s };
    case 'uuid':
      if (!UUID_RE.test(s)) throw new DatumParseError(`"${s}" is not a valid UUID`);
      return { atom: s.toLowerCase() };
  }
}

function skipSpaces(s: string, p: number): number {
  let i = p;
  while (i < s.length && /\s/.test(s[i]!)) i++;
  return i;
}

function typeInEnglish(t: DatumType): string {
  if (t.value) return `map of ${t.key.type}-${t.value.type} pairs`;
  if (t.max === 1 && t.min === 1) return t.key.type;
  return `set of ${t.key.type}s`;
}

/** ovsdb_datum_from_string(): a whole datum of type t, sorted, without duplicates. */
export function parseDatum(t: DatumType, s: string): Datum {
  const map = t.value !== undefined;
  let p = skipSpaces(s, 0);
  let endDelim = '';
  if (s[p] === (map ? '{' : '[')) {
    endDelim = map ? '}' : ']';
    p = skipSpaces(s, p + 1);
  } else if (p >= s.length) {
    throw new DatumParseError(
      map ? 'use "{}" to specify the empty map' : 'use "[]" to specify the empty set',
    );
  }
  const pairs: [Atom, Atom | undefined][] = [];
  while (p < s.length && s[p] !== endDelim) {
    if (isDelim(s[p]!)) throw new DatumParseError(`${s}: unexpected "${s[p]}" parsing ${typeInEnglish(t)}`);
    const start = p;
    const keyTok = parseToken(s, p);
    p = keyTok.end;
    const key = parseAtom(t.key, keyTok.token, true);
    let value: Atom | undefined;
    if (map) {
      p = skipSpaces(s, p);
      if (s[p] !== '=')
        throw new DatumParseError(`${s.slice(start)}: syntax error at "${s[p] ?? ''}" expecting "="`);
      p = skipSpaces(s, p + 1);
      const valueTok = parseToken(s, p);
      p = valueTok.end;
      value = parseAtom(t.value!, valueTok.token).atom;
    }
    if (key.rangeEnd !== undefined) {
      for (let i = key.atom as number; i <= key.rangeEnd; i++) pairs.push([i, value]);
    } else pairs.push([key.atom, value]);
    p = skipSpaces(s, p);
    if (s[p] === ',') p = skipSpaces(s, p + 1);
  }
  if ((s[p] ?? '') !== endDelim) throw new DatumParseError(`${s}: missing "${endDelim}" at end of data`);
  if (endDelim && skipSpaces(s, p + 1) < s.length)
    throw new DatumParseError(`${s}: trailing garbage after "${endDelim}"`);
  const what = map ? 'pair(s)' : 'value(s)';
  if (pairs.length < t.min)
    throw new DatumParseError(`${s}: ${pairs.length} ${what} specified but the minimum number is ${t.min}`);
  if (pairs.length > t.max)
    throw new DatumParseError(`${s}: ${pairs.length} ${what} specified but the maximum number is ${t.max}`);
  pairs.sort((a, b) => compareAtoms(t.key.type, a[0], b[0]));
  for (let i = 1; i < pairs.length; i++) {
    if (compareAtoms(t.key.type, pairs[i - 1]![0], pairs[i]![0]) === 0)
      throw new DatumParseError(
        `${s}: ${map ? 'map contains duplicate key' : 'set contains duplicate value'}`,
      );
  }
  return map
    ? { keys: pairs.map((x) => x[0]), values: pairs.map((x) => x[1]!) }
    : { keys: pairs.map((x) => x[0]) };
}
