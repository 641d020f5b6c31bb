// OVSDB data in the tools' text syntax, both ways.
import { describe, expect, test } from 'vitest';
import { parseDatum, parseToken } from '../../../src/nbctl/datum-parse.ts';
import {
  datumToString,
  isDefaultDatum,
  stringNeedsQuotes,
  valueToString,
} from '../../../src/nbctl/datum-text.ts';

const STRING = { type: 'string' } as const;
const INTEGER = { type: 'integer' } as const;
const strings = { key: STRING, min: 0, max: Number.POSITIVE_INFINITY };
const stringMap = { key: STRING, value: STRING, min: 0, max: Number.POSITIVE_INFINITY };
const optionalInt = { key: INTEGER, min: 0, max: 1 };
const scalarString = { key: STRING, min: 1, max: 1 };

describe('to text', () => {
  test('strings are bare only when they read back as the same string', () => {
    for (const bare of ['router', 'ovn-default', 'pod1.ns1', '_x', 'a_b-c.d'])
      expect(stringNeedsQuotes(bare)).toBe(false);
    for (const quoted of [
      '',
      'true',
      'false',
      '10.16.0.1',
      'a b',
      'x:y',
      '-a',
      '0a',
      'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
    ])
      expect(stringNeedsQuotes(quoted)).toBe(true);
  });

  test('sets, maps and optional values, sorted, with JSON escapes', () => {
    expect(valueToString(strings, ['unknown', '0a:00:00:10:00:44 dynamic'])).toBe(
      '["0a:00:00:10:00:44 dynamic", unknown]',
    );
    expect(valueToString(stringMap, { pod: 'ns1/pod1', 'neutron:port_name': 'p1' })).toBe(
      '{"neutron:port_name"=p1, pod="ns1/pod1"}',
    );
    expect(valueToString(optionalInt, null)).toBe('[]');
    expect(valueToString(optionalInt, 42)).toBe('42');
    expect(valueToString(scalarString, '')).toBe('""');
    expect(valueToString(scalarString, 'a"b\\c\n\u0001')).toBe('"a\\"b\\\\c\\n\\u0001"');
    expect(valueToString({ key: INTEGER, min: 0, max: 4096 }, [10, 2, 33])).toBe('[2, 10, 33]');
  });

  test('defaults', () => {
    expect(isDefaultDatum(scalarString, { keys: [''] })).toBe(true);
    expect(isDefaultDatum(optionalInt, { keys: [] })).toBe(true);
    expect(isDefaultDatum(optionalInt, { keys: [0] })).toBe(false);
    expect(datumToString(stringMap, { keys: [], values: [] })).toBe('{}');
  });
});

describe('from text', () => {
  test('tokens stop at delimiters outside quotes', () => {
    expect(parseToken('external_ids:pod=x', 0)).toEqual({ token: 'external_ids', end: 12 });
    expect(parseToken('"a:b"=c', 0)).toEqual({ token: '"a:b"', end: 5 });
    expect(parseToken('a\\:b=c', 0)).toEqual({ token: 'a:b', end: 4 });
    expect(() => parseToken('"abc', 0)).toThrow('quoted string extends past end of argument');
  });

  test('sets and maps, sorted; quoted strings unescaped', () => {
    expect(parseDatum(strings, '[b, "a c", a]')).toEqual({ keys: ['a', 'a c', 'b'] });
    expect(parseDatum(strings, 'router')).toEqual({ keys: ['router'] });
    expect(parseDatum(stringMap, '{z=1, "k:x"="v\\"w"}')).toEqual({
      keys: ['k:x', 'z'],
      values: ['v"w', '1'],
    });
    expect(parseDatum({ key: INTEGER, min: 0, max: 4096 }, '[3, 1-2]')).toEqual({ keys: [1, 2, 3] });
  });

  test("errors carry the tools' messages", () => {
    expect(() => parseDatum(scalarString, '[]')).toThrow(
      '[]: 0 value(s) specified but the minimum number is 1',
    );
    expect(() => parseDatum(optionalInt, '[1, 2]')).toThrow(
      '2 value(s) specified but the maximum number is 1',
    );
    expect(() => parseDatum(optionalInt, 'x')).toThrow('"x" is not a valid integer or range');
    expect(() => parseDatum(strings, '[a, a]')).toThrow('set contains duplicate value');
    expect(() => parseDatum(strings, '')).toThrow('use "[]" to specify the empty set');
    expect(() => parseDatum(stringMap, '{a}')).toThrow('syntax error at "}" expecting "="');
  });
});
