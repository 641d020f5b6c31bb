import { describe, expect, test } from 'vitest';
import {
  applyColumnDiff,
  applySetDiff,
  decodeColumns,
  encodeRow,
  encodeValue,
  named,
} from '../../../src/ovsdb/datum.ts';
import { SchemaError } from '../../../src/ovsdb/errors.ts';
import { normaliseColumn, parseSchema, type RawDatabaseSchema } from '../../../src/ovsdb/schema.ts';

const raw: RawDatabaseSchema = {
  name: 'Test',
  version: '1.2.3',
  tables: {
    T: {
      columns: {
        name: { type: 'string' },
        n: { type: 'integer' },
        opt: { type: { key: 'integer', min: 0, max: 1 } },
        tags: { type: { key: 'string', min: 0, max: 'unlimited' } },
        refs: { type: { key: { type: 'uuid', refTable: 'T' }, min: 0, max: 'unlimited' } },
        ext: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
        queues: { type: { key: 'integer', value: { type: 'uuid' }, min: 0, max: 'unlimited' } },
      },
      isRoot: true,
    },
  },
};
const schema = parseSchema(raw);
const t = schema.tables.get('T')!;
const col = (n: string) => t.columns.get(n)!;
const U1 = '11111111-1111-4111-8111-111111111111';
const U2 = '22222222-2222-4222-8222-222222222222';

describe('column shapes', () => {
  test('normalised from the schema forms', () => {
    expect(col('name').shape).toBe('scalar');
    expect(col('opt').shape).toBe('optional');
    expect(col('tags').shape).toBe('set');
    expect(col('ext').shape).toBe('map');
    expect(normaliseColumn('x', { key: 'string', min: 0, max: 3 }).max).toBe(3);
  });
});

describe('decode', () => {
  test('wire rows become plain values', () => {
    const row: Record<string, unknown> = {};
    decodeColumns(
      t,
      {
        name: 'a',
        opt: ['set', []],
        tags: 'one',
        refs: [
          'set',
          [
            ['uuid', U1],
            ['uuid', U2],
          ],
        ],
        ext: ['map', [['k', 'v']]],
        queues: ['map', [[1, ['uuid', U1]]]],
        unknown_future_column: 1,
      },
      row,
    );
    expect(row).toEqual({
      name: 'a',
      opt: null,
      tags: ['one'],
      refs: [U1, U2],
      ext: { k: 'v' },
      queues: { 1: U1 },
    });
  });
});

describe('update2 diffs', () => {
  test('sets toggle the elements in the diff', () => {
    expect(applyColumnDiff(col('tags'), ['a', 'b'], ['set', ['b', 'c']])).toEqual(['a', 'c']);
    expect(applyColumnDiff(col('tags'), [], 'x')).toEqual(['x']);
  });

  test('a set diff, small or large, is the symmetric difference, with what came and went', () => {
    // small diffs take a path without a Set of the old value; both must agree with the definition
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const old = [...new Set(Array.from({ length: rand(40) }, () => `e${rand(60)}`))];
      // as a server sends it: each element once
      const diff = [...new Set(Array.from({ length: rand(round % 2 ? 6 : 40) }, () => `e${rand(60)}`))];
      const want = new Set(old);
      for (const d of diff) if (!want.delete(d)) want.add(d);
      const got = applySetDiff(old, ['set', diff]);
      expect([...got.value].sort()).toEqual([...want].sort());
      expect([...got.added].sort()).toEqual([...want].filter((x) => !old.includes(x)).sort());
      expect([...got.removed].sort()).toEqual(old.filter((x) => !want.has(x)).sort());
    }
  });
  test('optional columns carry the new value', () => {
    expect(applyColumnDiff(col('opt'), 5, ['set', []])).toBeNull();
    expect(applyColumnDiff(col('opt'), 5, 6)).toBe(6);
    expect(applyColumnDiff(col('opt'), null, ['set', [7]])).toBe(7);
  });
  test('maps: new key added, changed value replaced, same value removed', () => {
    const old = { keep: '1', change: '2', drop: '3' };
    const next = applyColumnDiff(col('ext'), old, [
      'map',
      [
        ['change', '9'],
        ['drop', '3'],
        ['add', '4'],
      ],
    ]);
    expect(next).toEqual({ keep: '1', change: '9', add: '4' });
    expect(old).toEqual({ keep: '1', change: '2', drop: '3' }); // the old row is not mutated
  });
});

describe('encode', () => {
  test('values take their wire form', () => {
    expect(
      encodeRow(t, {
        name: 'a',
        opt: null,
        tags: ['x'],
        refs: [U1, named('row')],
        ext: { k: 'v' },
        queues: { 7: U2 },
      }),
    ).toEqual({
      name: 'a',
      opt: ['set', []],
      tags: ['set', ['x']],
      refs: [
        'set',
        [
          ['uuid', U1],
          ['named-uuid', 'row'],
        ],
      ],
      ext: ['map', [['k', 'v']]],
      queues: ['map', [[7, ['uuid', U2]]]],
    });
    expect(encodeValue(t, col('opt'), 3)).toBe(3);
  });
  test.each([
    [{ name: 1 }, /T.name: expected a string/],
    [{ n: 1.5 }, /T.n: expected an integer/],
    [{ refs: ['nope'] }, /T.refs: expected a uuid/],
    [{ refs: [named('bad name')] }, /invalid uuid-name/],
    [{ ext: ['k'] }, /T.ext: expected an object/],
    [{ ext: { k: 1 } }, /T.ext: expected a string/],
    [{ nope: 1 }, /unknown column T.nope/],
    [{ _uuid: U1 }, /T._uuid cannot be written/],
  ])('%j is refused before sending', (row, message) => {
    expect(() => encodeRow(t, row)).toThrow(SchemaError);
    expect(() => encodeRow(t, row)).toThrow(message);
  });
});
