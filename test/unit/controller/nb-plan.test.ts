// Pure parts of the northbound planner: stable MACs, transaction assembly and rollback.
import { describe, expect, test } from 'vitest';
import { TxnPlan } from '../../../src/controller/nb/plan.ts';
import { stableMac, subnetRows } from '../../../src/controller/nb/topology.ts';

describe('stableMac', () => {
  test('the same seed gives the same locally administered unicast MAC; different seeds differ', () => {
    const a = stableMac('ovn-cluster-ovn-default');
    expect(a).toBe(stableMac('ovn-cluster-ovn-default'));
    expect(a).not.toBe(stableMac('ovn-cluster-join'));
    expect(a).toMatch(/^0a(:[0-9a-f]{2}){5}$/);
    const first = Number.parseInt(a.slice(0, 2), 16);
    expect(first & 0x01).toBe(0); // unicast
    expect(first & 0x02).toBe(2); // locally administered
  });
});

describe('subnetRows', () => {
  test("Kube-OVN's names for the switch and its router port pair", () => {
    const rows = subnetRows({ name: 'ovn-default', router: 'ovn-cluster', gatewayCidrs: ['10.16.0.1/16'] });
    expect(rows.map((r) => [r.table, r.columns.name, r.parent?.id])).toEqual([
      ['Logical_Switch', 'ovn-default', undefined],
      ['Logical_Router_Port', 'ovn-cluster-ovn-default', 'lr/ovn-cluster'],
      ['Logical_Switch_Port', 'ovn-default-ovn-cluster', 'ls/ovn-default'],
    ]);
    expect(rows[2]!.columns.options).toEqual({ 'router-port': 'ovn-cluster-ovn-default' });
  });
});

describe('TxnPlan', () => {
  const U = '11111111-1111-4111-8111-111111111111';
  test('children added to one parent are merged into one mutation, after the inserts', () => {
    const t = new TxnPlan();
    const a = t.insert('Logical_Switch_Port', 'lsp/a', { name: 'a' });
    const b = t.insert('Logical_Switch_Port', 'lsp/b', { name: 'b' });
    t.addToParent('Logical_Switch', U, 'ports', a);
    t.addToParent('Logical_Switch', U, 'ports', b);
    const ops = t.build();
    expect(ops.map((o) => o.op)).toEqual(['insert', 'insert', 'mutate']);
    expect(ops[2]).toMatchObject({ table: 'Logical_Switch', mutations: [['ports', 'insert', [a, b]]] });
  });

  test('rollback takes back everything after the mark', () => {
    const t = new TxnPlan();
    const a = t.insert('Logical_Switch_Port', 'lsp/a', { name: 'a' });
    t.addToParent('Logical_Switch', U, 'ports', a);
    const mark = t.mark();
    const b = t.insert('Logical_Switch_Port', 'lsp/b', { name: 'b' });
    t.addToParent('Logical_Switch', U, 'ports', b);
    t.addToParent('Logical_Switch', '22222222-2222-4222-8222-222222222222', 'ports', b);
    t.removeFromParent('Logical_Router', U, 'ports', U);
    t.delete('Logical_Switch', U);
    t.rollback(mark);
    expect(t.insertedRef('Logical_Switch_Port', 'lsp/b')).toBeUndefined();
    expect(t.build()).toEqual(new TxnPlanOf(a).build());
  });
});

/** The plan that holds only `a` added to U. */
class TxnPlanOf extends TxnPlan {
  constructor(a: ReturnType<TxnPlan['insert']>) {
    super();
    this.insert('Logical_Switch_Port', 'lsp/a', { name: 'a' });
    this.addToParent('Logical_Switch', '11111111-1111-4111-8111-111111111111', 'ports', a);
  }
}
