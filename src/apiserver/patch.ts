// The three patch formats a real server takes without server-side apply:
// JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch (see strategic.ts).
import { ApiError, badRequest } from './errors.ts';
import { isRecord } from './types.ts';

/** RFC 7386: objects merge recursively, null removes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  const out: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function unprocessable(message: string): ApiError {
  return new ApiError(422, 'Invalid', message, {
    causes: [{ reason: 'FieldValueInvalid', message }],
  });
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw unprocessable(`invalid JSON pointer "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Walks to the parent of the pointer's last token. */
function parentOf(doc: unknown, tokens: string[], path: string): { parent: unknown; last: string } {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isRecord(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw unprocessable(`doc is missing path: "${path}": missing value`);
  }
  return { parent: cur, last: tokens[tokens.length - 1] ?? '' };
}

function arrayIndex(arr: unknown[], token: string, path: string, forAdd: boolean): number {
  if (forAdd && token === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw unprocessable(`Unable to access invalid index: ${token}`);
  const i = Number(token);
  if (i > arr.length || (!forAdd && i === arr.length)) {
    throw unprocessable(`Unable to access invalid index: ${i}: "${path}"`);
  }
  return i;
}

function getAt(doc: unknown, path: string): unknown {
  let cur = doc;
  for (const t of parsePointer(path)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isRecord(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw unprocessable(`doc is missing path: "${path}": missing value`);
  }
  return cur;
}

function removeAt(doc: unknown, path: string): unknown {
  const tokens = parsePointer(path);
  const { parent, last } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, last, path, false);
    return parent.splice(i, 1)[0];
  }
  if (isRecord(parent) && last in parent) {
    const v = parent[last];
    delete parent[last];
    return v;
  }
  throw unprocessable(`Unable to remove nonexistent key: ${last}: missing value`);
}

function addAt(doc: unknown, path: string, value: unknown, replace: boolean): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const { parent, last } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, last, path, !replace);
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
  } else if (isRecord(parent)) {
    if (replace && !(last in parent))
      throw unprocessable(`replace operation does not apply: doc is missing key: ${path}: missing value`);
    parent[last] = value;
  } else {
    throw unprocessable(`doc is missing path: "${path}": missing value`);
  }
  return doc;
}

/** RFC 6902 on a deep copy of doc. Syntax errors are 400, failed operations 422. */
export function jsonPatch(doc: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch))
    throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let out: unknown = structuredClone(doc);
  for (const raw of patch as JsonPatchOp[]) {
    if (!isRecord(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw badRequest('invalid JSON patch operation: op and path are required');
    }
    const value = structuredClone(raw.value);
    switch (raw.op) {
      case 'add':
        out = addAt(out, raw.path, value, false);
        break;
      case 'replace':
        out = addAt(out, raw.path, value, true);
        break;
      case 'remove':
        removeAt(out, raw.path);
        break;
      case 'move': {
        const v = removeAt(out, raw.from ?? '');
        out = addAt(out, raw.path, v, false);
        break;
      }
      case 'copy':
        out = addAt(out, raw.path, structuredClone(getAt(out, raw.from ?? '')), false);
        break;
      case 'test':
        if (!deepEqual(getAt(out, raw.path), raw.value)) {
          throw unprocessable(`testing value ${raw.path} failed: test failed`);
        }
        break;
      default:
        throw badRequest(`Unexpected kind: ${raw.op}`);
    }
  }
  return out;
}
