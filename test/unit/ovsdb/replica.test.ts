// The replica is pure: fed table-updates in the wire format, it must hold exactly the rows they describe.
import { describe, expect, test } from 'vitest';
import { type Change, Replica } from '../../../src/ovsdb/replica.ts';
import { parseSchema } from '../../../src/ovsdb/schema.ts';

const schema = parseSchema({
  name: 'Test',
  version: '1.0.0',
  tables: {
    Sw: {
      columns: {
        name: { type: 'string' },
        ports: { type: { key: 'string', min: 0, max: 'unlimited' } },
        external_ids: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
      },
      isRoot: true,
    },
    // like NB's ACL: an optional name
    Acl: {
      columns: { name: { type: { key: 'string', min: 0, max: 1 } } },
      isRoot: true,
    },
  },
});
const A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const C = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';

function fresh() {
  const r = new Replica(schema, { Sw: undefined });
  const changes: string[] = [];
  r.onChange((c: Change) => changes.push(`${c.kind}:${(c.row ?? c.old)?.name}`));
  return { r, changes };
}

describe('Replica', () => {
  test('rows without a value in an optional indexed column stay out of the index', () => {
    const r = new Replica(schema, { Sw: undefined, Acl: undefined });
    r.apply({ Acl: { [A]: { insert: {} }, [B]: { insert: { name: 'n' } } } });
    expect(r.byName('Acl', 'n').map((x) => x._uuid)).toEqual([B]);
    r.apply({ Acl: { [A]: { delete: null }, [B]: { modify: { name: ['set', []] } } } });
    expect(r.byName('Acl', 'n')).toEqual([]);
    expect(r.size('Acl')).toBe(1);
  });

  test('absent columns take their defaults', () => {
    const { r } = fresh();
    r.apply({ Sw: { [A]: { insert: { name: 'a' } } } });
    const row = r.get('Sw', A)!;
    expect(row).toEqual({ _uuid: A, name: 'a', ports: [], external_ids: {} });
  });

  test('modify applies diffs and keeps the old row object unchanged', () => {
    const { r, changes } = fresh();
    r.apply({
      Sw: { [A]: { insert: { name: 'a', ports: ['set', ['p1']], external_ids: ['map', [['k', '1']]] } } },
    });
    const before = r.get('Sw', A)!;
    r.apply({
      Sw: { [A]: { modify: { ports: ['set', ['p1', 'p2']], external_ids: ['map', [['k', '2']]] } } },
    });
    expect(r.get('Sw', A)).toMatchObject({ ports: ['p2'], external_ids: { k: '2' } });
    expect(before).toMatchObject({ ports: ['p1'], external_ids: { k: '1' } });
    expect(changes).toEqual(['insert:a', 'update:a']);
  });

  test('reset reports only real differences', () => {
    const { r, changes } = fresh();
    r.apply({ Sw: { [A]: { insert: { name: 'a' } }, [B]: { insert: { name: 'b', ports: 'x' } } } });
    changes.length = 0;
    r.reset({
      Sw: {
        [A]: { initial: { name: 'a' } },
        [B]: { initial: { name: 'b', ports: 'y' } },
        [C]: { initial: { name: 'c' } },
      },
    });
    expect(changes.sort()).toEqual(['insert:c', 'update:b']);
    r.reset({ Sw: { [C]: { initial: { name: 'c' } } } });
    expect(changes.slice(2).sort()).toEqual(['delete:a', 'delete:b']);
    expect(r.size('Sw')).toBe(1);
  });

  test('name and external_ids indexes follow inserts, renames and deletes', () => {
    const { r } = fresh();
    r.apply({ Sw: { [A]: { insert: { name: 'a', external_ids: ['map', [['pod', 'ns/p']]] } } } });
    expect(r.byExternalId('Sw', 'pod', 'ns/p').map((x) => x._uuid)).toEqual([A]);
    r.apply({ Sw: { [A]: { modify: { name: 'a2', external_ids: ['map', [['pod', 'ns/q']]] } } } });
    expect(r.byName('Sw', 'a')).toEqual([]);
    expect(r.byName('Sw', 'a2')).toHaveLength(1);
    expect(r.byExternalId('Sw', 'pod', 'ns/p')).toEqual([]);
    expect(r.byExternalId('Sw', 'pod', 'ns/q')).toHaveLength(1);
    r.addIndex('Sw', 'ports', (row) => row.ports as string[]);
    r.apply({ Sw: { [B]: { insert: { name: 'b', ports: ['set', ['p1', 'p2']] } } } });
    expect(r.lookup('Sw', 'ports', 'p2').map((x) => x._uuid)).toEqual([B]);
    r.apply({ Sw: { [A]: { delete: null }, [B]: { delete: null } } });
    expect(r.size('Sw')).toBe(0);
    expect(r.byExternalId('Sw', 'pod', 'ns/q')).toEqual([]);
    expect(r.lookup('Sw', 'ports', 'p2')).toEqual([]);
  });

  test('a set index follows the elements a modify adds and removes; other indexes follow their columns', () => {
    const { r } = fresh();
    r.addSetIndex('Sw', 'ports', 'ports');
    r.apply({
      Sw: {
        [A]: { insert: { name: 'a', ports: ['set', ['p1', 'p2']] } },
        [B]: { insert: { name: 'b', ports: ['set', ['p2']] } },
      },
    });
    const holders = (p: string) =>
      r
        .lookup('Sw', 'ports', p)
        .map((x) => x._uuid)
        .sort();
    expect(holders('p2')).toEqual([A, B]);
    // the diff is the symmetric difference: p1 goes, p3 comes
    r.apply({ Sw: { [A]: { modify: { ports: ['set', ['p1', 'p3']] } } } });
    expect(r.get('Sw', A)!.ports).toEqual(['p2', 'p3']);
    expect(holders('p1')).toEqual([]);
    expect(holders('p2')).toEqual([A, B]);
    expect(holders('p3')).toEqual([A]);
    r.apply({ Sw: { [B]: { modify: { ports: 'p2', name: 'b2' } } } });
    expect(holders('p2')).toEqual([A]);
    expect(r.byName('Sw', 'b')).toEqual([]);
    expect(r.byName('Sw', 'b2').map((x) => x._uuid)).toEqual([B]);
    // a modify of another column leaves the set index as it was; a delete takes the row's elements out
    r.apply({ Sw: { [A]: { modify: { external_ids: ['map', [['k', 'v']]] } } } });
    expect(holders('p3')).toEqual([A]);
    expect(r.byExternalId('Sw', 'k', 'v').map((x) => x._uuid)).toEqual([A]);
    r.apply({ Sw: { [A]: { delete: null } } });
    expect(holders('p2')).toEqual([]);
    expect(holders('p3')).toEqual([]);
  });

  test('a modify for an unknown row is ignored (the next full load brings it)', () => {
    const { r, changes } = fresh();
    r.apply({ Sw: { [A]: { modify: { name: 'ghost' } } } });
    expect(r.size('Sw')).toBe(0);
    expect(changes).toEqual([]);
  });
});
