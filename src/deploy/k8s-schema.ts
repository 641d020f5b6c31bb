// Checks a Kubernetes object against the object schema of its kind, without a cluster. The schema comes from
// @kubernetes/client-node, whose models are generated from the Kubernetes OpenAPI document (v1.34 for
// client-node 1.4): each model lists its fields with their JSON names and types, and its TypeScript
// declaration marks the required ones. So every field a manifest uses is checked for existence, type and
// presence of what is required, at any depth, for any built-in kind client-node knows.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';

export interface SchemaIssue {
  /** JSON path of the offending value ("spec.template.spec.containers[0].imagePullPolicy"). */
  path: string;
  message: string;
}

interface Attribute {
  name: string;
  baseName: string;
  type: string;
  format: string;
}

interface Model {
  /** By JSON field name. */
  fields: Map<string, Attribute>;
  /** JSON names of the required fields. */
  required: string[];
}

const modelsDir = join(
  dirname(createRequire(import.meta.url).resolve('@kubernetes/client-node')),
  'gen',
  'models',
);
const exported = k8s as unknown as Record<string, { attributeTypeMap?: Attribute[] } | undefined>;
const models = new Map<string, Model | undefined>();

function model(typeName: string): Model | undefined {
  if (models.has(typeName)) return models.get(typeName);
  const attributes = exported[typeName]?.attributeTypeMap;
  let found: Model | undefined;
  if (attributes) {
    // the declaration says which properties are optional ('x'?: T) and which are not ('x': T)
    const declared = readFileSync(join(modelsDir, `${typeName}.d.ts`), 'utf8');
    const requiredTs = [...declared.matchAll(/^\s+'([^']+)': /gm)].map((m) => m[1]!);
    found = {
      fields: new Map(attributes.map((a) => [a.baseName, a])),
      required: attributes.filter((a) => requiredTs.includes(a.name)).map((a) => a.baseName),
    };
  }
  models.set(typeName, found);
  return found;
}

/** Built-in API groups: the core group, one-word groups (apps, batch, policy) and *.k8s.io. */
function builtinGroup(group: string): boolean {
  return !group.includes('.') || group.endsWith('.k8s.io');
}

/** The model of a kind: apps/v1 Deployment -> V1Deployment, rbac.authorization.k8s.io/v1 Role -> V1Role. */
export function modelNameOf(apiVersion: string, kind: string): string | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (!builtinGroup(group ?? '') || !version) return undefined;
  const name = `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
  const m = model(name);
  return m?.fields.has('apiVersion') && m.fields.has('kind') ? name : undefined;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function join2(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function check(value: unknown, type: string, format: string, path: string, out: SchemaIssue[]): void {
  const bad = (expected: string): void => {
    out.push({ path, message: `must be ${expected}, not ${typeOf(value)} ${JSON.stringify(value)}` });
  };
  if (type === 'any') return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) bad('an array');
    else for (const [i, v] of value.entries()) check(v, array[1]!, '', `${path}[${i}]`, out);
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeOf(value) !== 'object') {
      bad('an object');
      return;
    }
    for (const [k, v] of Object.entries(value as object)) check(v, map[1]!, '', join2(path, k), out);
    return;
  }
  switch (type) {
    case 'string':
      if (typeof value !== 'string') bad('a string');
      return;
    case 'Date':
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) bad('an RFC 3339 time');
      return;
    case 'boolean':
      if (typeof value !== 'boolean') bad('a boolean');
      return;
    case 'number':
      if (typeof value !== 'number') bad('a number');
      else if ((format === 'int32' || format === 'int64') && !Number.isInteger(value)) bad('an integer');
      return;
    case 'IntOrString':
      if (typeof value !== 'string' && !Number.isInteger(value)) bad('an integer or a string');
      return;
  }
  const m = model(type);
  if (!m) {
    out.push({ path, message: `no schema for type ${type}` });
    return;
  }
  if (typeOf(value) !== 'object') {
    bad(`an object (${type})`);
    return;
  }
  const obj = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(obj)) {
    const field = m.fields.get(k);
    if (!field) out.push({ path: join2(path, k), message: `unknown field "${k}" in ${type}` });
    else if (v !== null) check(v, field.type, field.format, join2(path, k), out);
  }
  for (const r of m.required) {
    if (obj[r] === undefined || obj[r] === null)
      out.push({ path: join2(path, r), message: `required field of ${type} is missing` });
  }
}

/** Problems of one object (empty when it conforms); a kind without a built-in schema is one problem. */
export function validateK8sObject(obj: unknown): SchemaIssue[] {
  if (typeOf(obj) !== 'object') return [{ path: '', message: 'not an object' }];
  const { apiVersion, kind } = obj as { apiVersion?: unknown; kind?: unknown };
  if (typeof apiVersion !== 'string' || typeof kind !== 'string')
    return [{ path: '', message: 'apiVersion and kind are required' }];
  const name = modelNameOf(apiVersion, kind);
  if (!name) return [{ path: 'kind', message: `no built-in schema for ${apiVersion} ${kind}` }];
  const out: SchemaIssue[] = [];
  check(obj, name, '', '', out);
  return out;
}
