import { describe, expect, test } from 'vitest';
import { condition } from '../../../src/controller/k8s/status.ts';
import type { Condition } from '../../../src/controller/k8s/types.ts';
import {
  patchStatusWithUnsupportedFields,
  withUnsupportedFields,
} from '../../../src/controller/unsupported-fields.ts';

type Status = Record<string, unknown> & { conditions?: Condition[] };

/** An object whose status is whatever was last written (a merge patch of status replaces its lists). */
function fakeObject() {
  const obj: { metadata: { name: string }; status?: Status } = { metadata: { name: 's1' } };
  const writes: Status[] = [];
  const events: { type: string; reason: string; message: string }[] = [];
  const kube = {
    event: async (_o: unknown, type: 'Normal' | 'Warning', reason: string, message: string) => {
      events.push({ type, reason, message });
    },
  };
  const write = async (status: Record<string, unknown>) => {
    writes.push(status);
    obj.status = { ...obj.status, ...structuredClone(status) } as Status;
  };
  const pass = (paths: string[], conditions: Condition[] = [condition('Ready', true, 'Init')]) =>
    patchStatusWithUnsupportedFields(kube, obj, paths, { v4usingIPs: 1 }, conditions, write);
  return { obj, writes, events, pass };
}

describe('withUnsupportedFields', () => {
  test('adds UnsupportedFields=True after the other conditions; nothing when no field is set', () => {
    const ready = condition('Ready', true, 'Init');
    expect(withUnsupportedFields([ready], [])).toEqual([ready]);
    expect(withUnsupportedFields([ready], ['spec.acls', 'spec.vlan'])).toEqual([
      ready,
      {
        type: 'UnsupportedFields',
        status: 'True',
        reason: 'FieldsNotImplemented',
        message: 'not implemented by this controller, ignored: spec.acls, spec.vlan',
      },
    ]);
  });
});

describe('patchStatusWithUnsupportedFields', () => {
  test('one write and one Warning Event for a new set; the next pass writes nothing and says nothing', async () => {
    const o = fakeObject();
    const validated = condition('Validated', true, 'ValidatedSuccessfully');
    await o.pass(['spec.acls'], [validated, condition('Ready', true, 'Init')]);
    expect(o.writes).toHaveLength(1);
    expect(o.obj.status?.conditions?.map((c) => [c.type, c.status])).toEqual([
      ['Validated', 'True'],
      ['Ready', 'True'],
      ['UnsupportedFields', 'True'],
    ]);
    expect(o.events).toEqual([
      {
        type: 'Warning',
        reason: 'UnsupportedFields',
        message: 'not implemented by this controller, ignored: spec.acls',
      },
    ]);
    await o.pass(['spec.acls'], [validated, condition('Ready', true, 'Init')]);
    await o.pass(['spec.acls'], [validated, condition('Ready', true, 'Init')]);
    expect(o.writes).toHaveLength(1);
    expect(o.events).toHaveLength(1);
  });

  test('a new set of fields: the condition follows and one more Event; none left: the condition goes, silently', async () => {
    const o = fakeObject();
    await o.pass(['spec.acls']);
    await o.pass(['spec.acls', 'spec.vlan']);
    expect(o.events.map((e) => e.message)).toEqual([
      'not implemented by this controller, ignored: spec.acls',
      'not implemented by this controller, ignored: spec.acls, spec.vlan',
    ]);
    await o.pass([]);
    expect(o.obj.status?.conditions?.map((c) => c.type)).toEqual(['Ready']);
    expect(o.events).toHaveLength(2);
    await o.pass([]);
    expect(o.writes).toHaveLength(3);
    // set again later: announced again
    await o.pass(['spec.acls']);
    expect(o.events).toHaveLength(3);
  });

  test('a change of the other conditions keeps UnsupportedFields and its timestamps, and no new Event', async () => {
    const o = fakeObject();
    await o.pass(['spec.acls']);
    const before = o.obj.status?.conditions?.find((c) => c.type === 'UnsupportedFields');
    await o.pass(['spec.acls'], [condition('Ready', false, 'VpcNotReady', 'router missing')]);
    const after = o.obj.status?.conditions?.find((c) => c.type === 'UnsupportedFields');
    expect(after).toEqual(before);
    expect(o.obj.status?.conditions?.map((c) => [c.type, c.status])).toEqual([
      ['Ready', 'False'],
      ['UnsupportedFields', 'True'],
    ]);
    expect(o.events).toHaveLength(1);
  });

  test('a failed write announces nothing; the retry does', async () => {
    const o = fakeObject();
    const failing = async () => {
      throw new Error('API server away');
    };
    const kube = { event: async () => void o.events.push({ type: 'Warning', reason: 'x', message: 'x' }) };
    await expect(
      patchStatusWithUnsupportedFields(kube, o.obj, ['spec.acls'], {}, [], failing),
    ).rejects.toThrow(/away/);
    expect(o.events).toEqual([]);
    await o.pass(['spec.acls']);
    expect(o.events).toHaveLength(1);
  });
});
