import { describe, expect, test } from 'vitest';
import { applyColumnDiff, decodeColumns, encodeRow, encodeValue, named } from '../../../src/ovsdb/datum.ts';
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
