// Custom resource validation against a CRD's structural OpenAPI v3 schema, in a real server's order:
// prune unknown fields (and non-nullable nulls), apply defaults, then validate (ajv).
// Field errors are worded like kube-openapi's so kubectl shows what a real cluster shows.
import { isIP } from 'node:net';
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { fieldError, type StatusCause } from './errors.ts';
import { isRecord } from './types.ts';

// Both packages are CommonJS with a default export.
const Ajv = AjvModule as unknown as typeof AjvModule.default;
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

export type Schema = Record<string, unknown>;

const ajv = new Ajv({ allErrors: true, strict: false, logger: false, validateFormats: true });
addFormats(ajv);
for (const kw of [
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
]) {
  ajv.addKeyword(kw);
}
// Kubernetes does not check the numeric formats; its string formats differ from JSON Schema's in places.
for (const f of ['int32', 'int64', 'float', 'double', 'password', 'byte']) ajv.addFormat(f, true);
ajv.addFormat('duration', /^(-?(\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$|^0$/);
ajv.addFormat('cidr', (s: string) => {
  const [ip, bits, extra] = s.split('/');
  if (extra !== undefined || ip === undefined || bits === undefined || !/^\d+$/.test(bits)) return false;
  const v = isIP(ip);
  return v !== 0 && Number(bits) <= (v === 4 ? 32 : 128);
});
ajv.addFormat('mac', /^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/);

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** "spec", "cidrBlock" -> "spec.cidrBlock"; array indices as [i]. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return base ? `${base}.${key}` : key;
}

/**
 * Drops fields the schema does not declare (returning their paths) and nulls the schema does not allow,
 * then fills defaults. Mutates value in place; returns the possibly replaced value.
 */
function pruneAndDefault(
  value: unknown,
  schema: Schema | undefined,
  path: string,
  unknown: string[],
): unknown {
  if (!schema) return value;
  if (Array.isArray(value)) {
    const items = schema.items as Schema | undefined;
    for (let i = 0; i < value.length; i++)
      value[i] = pruneAndDefault(value[i], items, joinPath(path, i), unknown);
    return value;
  }
  if (!isRecord(value)) return value;
  const props = schema.properties as Record<string, Schema> | undefined;
  const additional = schema.additionalProperties;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const embedded = schema['x-kubernetes-embedded-resource'] === true;
  for (const key of Object.keys(value)) {
    const sub = props?.[key] ?? (isRecord(additional) ? (additional as Schema) : undefined);
    const keep =
      sub !== undefined ||
      preserve ||
      additional === true ||
      (embedded && ['apiVersion', 'kind', 'metadata'].includes(key));
    if (!keep) {
      unknown.push(joinPath(path, key));
      delete value[key];
      continue;
    }
    if (value[key] === null && sub && sub.nullable !== true) {
      delete value[key];
      continue;
    }
    value[key] = pruneAndDefault(value[key], sub, joinPath(path, key), unknown);
  }
  if (props) {
    for (const [key, sub] of Object.entries(props)) {
      if (value[key] === undefined && sub.default !== undefined) {
        value[key] = pruneAndDefault(structuredClone(sub.default), sub, joinPath(path, key), []);
      }
    }
  }
  return value;
}

function pathOf(instancePath: string): string {
  let out = '';
  for (const raw of instancePath.split('/').slice(1)) {
    const tok = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out = /^\d+$/.test(tok) ? joinPath(out, Number(tok)) : joinPath(out, tok);
  }
  return out;
}

function valueAt(root: unknown, instancePath: string): unknown {
  let cur = root;
  for (const raw of instancePath.split('/').slice(1)) {
    const tok = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    cur = Array.isArray(cur) ? cur[Number(tok)] : isRecord(cur) ? cur[tok] : undefined;
  }
  return cur;
}

/** One ajv error in kube-openapi's words. */
function toCause(e: ErrorObject, root: unknown): StatusCause | undefined {
  const field = pathOf(e.instancePath);
  const value = valueAt(root, e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return fieldError.required(joinPath(field, String(p.missingProperty)));
    case 'type':
      return fieldError.typeInvalid(
        field,
        typeName(value),
        `${field} in body must be of type ${p.type}: "${typeName(value)}"`,
      );
    case 'enum':
      return fieldError.notSupported(field, value, p.allowedValues as unknown[]);
    case 'minimum':
      return fieldError.invalid(
        field,
        value,
        `${field} in body should be greater than or equal to ${p.limit}`,
      );
    case 'exclusiveMinimum':
      return fieldError.invalid(field, value, `${field} in body should be greater than ${p.limit}`);
    case 'maximum':
      return fieldError.invalid(field, value, `${field} in body should be less than or equal to ${p.limit}`);
    case 'exclusiveMaximum':
      return fieldError.invalid(field, value, `${field} in body should be less than ${p.limit}`);
    case 'pattern':
      return fieldError.invalid(field, value, `${field} in body should match '${p.pattern}'`);
    case 'minLength':
      return fieldError.invalid(field, value, `${field} in body should be at least ${p.limit} chars long`);
    case 'maxLength':
      return {
        reason: 'FieldValueTooLong',
        message: `Too long: may not be more than ${p.limit} bytes`,
        field,
      };
    case 'minItems':
      return fieldError.invalid(field, value, `${field} in body should have at least ${p.limit} items`);
    case 'maxItems':
      return {
        reason: 'FieldValueTooMany',
        message: `Too many: ${Array.isArray(value) ? value.length : '?'}: must have at most ${p.limit} items`,
        field,
      };
    case 'uniqueItems':
      return fieldError.duplicate(field, value);
    case 'format':
      return fieldError.invalid(
        field,
        value,
        `${field} in body must be of type ${p.format}: ${JSON.stringify(value)}`,
      );
    case 'anyOf':
    case 'oneOf':
    case 'allOf':
    case 'not':
      return undefined; // the branch errors say more
    default:
      return fieldError.invalid(field, value, e.message ?? e.keyword);
  }
}

/** A compiled CRD version schema. */
export class CrdSchema {
  private readonly validateFn: ValidateFunction;
  private readonly schema: Schema;

  constructor(openAPIV3Schema: Schema) {
    // Metadata is checked by the generic ObjectMeta rules, as a real server does.
    const props = { ...((openAPIV3Schema.properties as Record<string, Schema> | undefined) ?? {}) };
    delete props.metadata;
    this.schema = { ...openAPIV3Schema, properties: props };
    this.validateFn = ajv.compile(this.schema);
  }

  /** Prunes and defaults obj in place; returns the paths of dropped unknown fields. */
  normalize(obj: Record<string, unknown>): string[] {
    const unknown: string[] = [];
    const props = this.schema.properties as Record<string, Schema>;
    for (const key of Object.keys(obj)) {
      if (key === 'apiVersion' || key === 'kind' || key === 'metadata') continue;
      if (!props[key] && this.schema['x-kubernetes-preserve-unknown-fields'] !== true) {
        unknown.push(key);
        delete obj[key];
      } else if (obj[key] === null && props[key]?.nullable !== true) {
        delete obj[key];
      } else {
        obj[key] = pruneAndDefault(obj[key], props[key], key, unknown);
      }
    }
    for (const [key, sub] of Object.entries(props)) {
      if (obj[key] === undefined && sub.default !== undefined) {
        obj[key] = pruneAndDefault(structuredClone(sub.default), sub, key, []);
      }
    }
    return unknown;
  }

  validate(obj: Record<string, unknown>): StatusCause[] {
    const { metadata: _m, ...rest } = obj;
    if (this.validateFn(rest)) return [];
    const causes: StatusCause[] = [];
    const seen = new Set<string>();
    for (const e of this.validateFn.errors ?? []) {
      const c = toCause(e, rest);
      if (!c) continue;
      const key = `${c.field}|${c.message}`;
      if (!seen.has(key)) {
        seen.add(key);
        causes.push(c);
      }
    }
    return causes;
  }
}

/** Checks that a schema is structural enough to serve: a type on every node, no $ref. Returns problems. */
export function structuralProblems(schema: unknown, path = 'openAPIV3Schema'): string[] {
  if (!isRecord(schema)) return [`${path}: must be an object`];
  const out: string[] = [];
  const intOrString = schema['x-kubernetes-int-or-string'] === true;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  if (schema.type === undefined && !intOrString && !preserve)
    out.push(`${path}.type: Required value: must not be empty for specified object fields`);
  if ('$ref' in schema) out.push(`${path}.$ref: Forbidden: $ref is not supported`);
  if (isRecord(schema.properties)) {
    for (const [k, v] of Object.entries(schema.properties))
      out.push(...structuralProblems(v, `${path}.properties[${k}]`));
  }
  if (isRecord(schema.items)) out.push(...structuralProblems(schema.items, `${path}.items`));
  if (isRecord(schema.additionalProperties)) {
    out.push(...structuralProblems(schema.additionalProperties, `${path}.additionalProperties`));
  }
  return out;
}
