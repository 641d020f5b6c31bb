// Pure pieces: patches, selectors, history window, JSONPath, CRD schema pruning/defaulting/validation.
import { describe, expect, test } from 'vitest';
import { History } from '../../src/apiserver/history.ts';
import { evalJsonPath } from '../../src/apiserver/jsonpath.ts';
import { jsonPatch, mergePatch } from '../../src/apiserver/patch.ts';
import { CrdSchema } from '../../src/apiserver/schema.ts';
import { labelMatcher } from '../../src/apiserver/selectors.ts';
import type { StoreEvent } from '../../src/apiserver/store.ts';
import { strategicMerge } from '../../src/apiserver/strategic.ts';
import type { KObject } from '../../src/apiserver/types.ts';

const withLabels = (labels: Record<string, string>): KObject => ({ metadata: { name: 'x', labels } });

describe('label selectors', () => {
  test.each([
    ['app=web', { app: 'web' }, true],
    ['app==web', { app: 'db' }, false],
    ['app!=web', {}, true],
    ['app in (web, db),tier', { app: 'db', tier: 'x' }, true],
    ['app notin (web)', { app: 'web' }, false],
    ['!canary', { canary: '1' }, false],
    ['prio>5', { prio: '7' }, true],
  ])('%s on %j is %s', (sel, labels, want) => {
    expect(labelMatcher(sel)(withLabels(labels))).toBe(want);
  });

  test('a malformed selector is a 400', () => {
    expect(() => labelMatcher('a b c')).toThrow(expect.objectContaining({ code: 400 }));
  });
});

describe('patches', () => {
  test('merge patch: null removes, objects merge, lists replace', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1] }, { a: null, b: { c: 9 }, l: [2] })).toEqual({
      b: { c: 9, d: 3 },
      l: [2],
    });
  });

  test('json patch: add, replace, remove, test; a failed test is 422', () => {
    const doc = { metadata: { labels: { a: '1' } }, list: [1, 2] };
    expect(
      jsonPatch(doc, [
        { op: 'add', path: '/metadata/labels/b~1c', value: '2' },
        { op: 'replace', path: '/list/0', value: 9 },
        { op: 'remove', path: '/metadata/labels/a' },
        { op: 'add', path: '/list/-', value: 3 },
      ]),
    ).toEqual({ metadata: { labels: { 'b/c': '2' } }, list: [9, 2, 3] });
    expect(doc.list).toEqual([1, 2]);
    expect(() => jsonPatch(doc, [{ op: 'test', path: '/list/0', value: 5 }])).toThrow(
      expect.objectContaining({ code: 422 }),
    );
    expect(() => jsonPatch(doc, [{ op: 'remove', path: '/nope' }])).toThrow(
      expect.objectContaining({ code: 422 }),
    );
  });

  test('strategic merge: containers merge by name, $patch delete, finalizers union', () => {
    const pod = {
      metadata: { finalizers: ['a'], labels: { x: '1' } },
      spec: {
        containers: [
          { name: 'a', image: 'i1' },
          { name: 'b', image: 'i2' },
        ],
      },
    };
    const out = strategicMerge(pod, {
      metadata: { finalizers: ['b'], labels: { x: null, y: '2' } },
      spec: {
        containers: [
          { name: 'a', image: 'i3' },
          { name: 'b', $patch: 'delete' },
          { name: 'c', image: 'i4' },
        ],
      },
    });
    expect(out).toEqual({
      metadata: { finalizers: ['a', 'b'], labels: { y: '2' } },
      spec: {
        containers: [
          { name: 'a', image: 'i3' },
          { name: 'c', image: 'i4' },
        ],
      },
    });
  });
});

describe('history', () => {
  const ev = (rv: number, resource = 'r'): StoreEvent =>
    ({
      rv,
      type: 'ADDED',
      resource,
      namespace: '',
      entry: { obj: { metadata: {} }, json: '{}', rv },
      prev: undefined,
    }) as StoreEvent;

  test('keeps the last N events and answers undefined (410) before the window', () => {
    const h = new History(3, 10);
    for (let rv = 11; rv <= 15; rv++) h.push(ev(rv, rv % 2 ? 'odd' : 'even'));
    expect(h.floor).toBe(12);
    expect(h.since(11)).toBeUndefined();
    expect(h.since(12)?.map((e) => e.rv)).toEqual([13, 14, 15]);
    expect(h.since(13, 'odd')?.map((e) => e.rv)).toEqual([15]);
    expect(h.since(15)).toEqual([]);
  });
});

describe('printer column JSONPath', () => {
  const obj = {
    status: {
      conditions: [
        { type: 'Ready', status: 'True' },
        { type: 'Validated', status: 'False' },
      ],
    },
    spec: { l: [1, 2] },
  };
  test('paths, indices, wildcards and filters', () => {
    expect(evalJsonPath(obj, '.status.conditions[?(@.type=="Ready")].status')).toEqual(['True']);
    expect(evalJsonPath(obj, '.status.conditions[*].type')).toEqual(['Ready', 'Validated']);
    expect(evalJsonPath(obj, '.spec.l[1]')).toEqual([2]);
    expect(evalJsonPath(obj, '.spec.missing')).toEqual([]);
  });
});

describe('CRD schema', () => {
  const schema = new CrdSchema({
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        required: ['cidr'],
        properties: {
          cidr: { type: 'string' },
          mode: { type: 'string', enum: ['a', 'b'], default: 'a' },
          mtu: { type: 'integer', minimum: 68 },
          free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          ports: { type: 'array', items: { 'x-kubernetes-int-or-string': true } },
        },
      },
    },
  });

  test('prunes unknown fields, keeps preserved ones, applies defaults', () => {
    const obj = {
      metadata: {},
      spec: { cidr: '10.0.0.0/8', bogus: 1, free: { any: { thing: 1 } }, ports: [80, 'http'] },
      extra: 1,
    };
    expect(schema.normalize(obj)).toEqual(['spec.bogus', 'extra']);
    expect(obj).toEqual({
      metadata: {},
      spec: { cidr: '10.0.0.0/8', mode: 'a', free: { any: { thing: 1 } }, ports: [80, 'http'] },
    });
    expect(schema.validate(obj)).toEqual([]);
  });

  test('reports each field error with its path, in kube-openapi wording', () => {
    const causes = schema.validate({ metadata: {}, spec: { mode: 'c', mtu: 10, cidr: 5 } });
    expect(causes).toEqual(
      expect.arrayContaining([
        {
          reason: 'FieldValueTypeInvalid',
          field: 'spec.cidr',
          message: 'Invalid value: "integer": spec.cidr in body must be of type string: "integer"',
        },
        {
          reason: 'FieldValueNotSupported',
          field: 'spec.mode',
          message: 'Unsupported value: "c": supported values: "a", "b"',
        },
        {
          reason: 'FieldValueInvalid',
          field: 'spec.mtu',
          message: 'Invalid value: 10: spec.mtu in body should be greater than or equal to 68',
        },
      ]),
    );
    expect(schema.validate({ metadata: {}, spec: {} })).toEqual([
      { reason: 'FieldValueRequired', field: 'spec.cidr', message: 'Required value' },
    ]);
  });
});
