// Label selectors (=, ==, !=, in, notin, exists, !exists, gt, lt) and field selectors (=, ==, !=).
import { badRequest } from './errors.ts';
import type { ResourceInfo } from './registry.ts';
import type { KObject } from './types.ts';

export type Matcher = (obj: KObject) => boolean;

const matchAll: Matcher = () => true;

/** Splits on commas outside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}

type Req = (labels: Record<string, string>) => boolean;

function parseRequirement(term: string): Req {
  let m = /^(\S+?)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
  if (m) {
    const [, key, op, list] = m as unknown as [string, string, string, string];
    const values = new Set(list.split(',').map((v) => v.trim()));
    return op === 'in'
      ? (l) => l[key] !== undefined && values.has(l[key])
      : (l) => l[key] === undefined || !values.has(l[key]);
  }
  m = /^([^!=<>\s]+)\s*(==|=|!=|>|<)\s*(\S*)$/.exec(term);
  if (m) {
    const [, key, op, value] = m as unknown as [string, string, string, string];
    switch (op) {
      case '!=':
        return (l) => l[key] !== value;
      case '>':
      case '<': {
        const n = Number(value);
        if (!Number.isInteger(n))
          throw badRequest(
            `unable to parse requirement: for 'gt', 'lt' operators, the value must be an integer`,
          );
        return op === '>'
          ? (l) => l[key] !== undefined && Number(l[key]) > n
          : (l) => l[key] !== undefined && Number(l[key]) < n;
      }
      default:
        return (l) => l[key] === value;
    }
  }
  m = /^(!?)([A-Za-z0-9][-A-Za-z0-9_./]*)$/.exec(term);
  if (m) {
    const [, not, key] = m as unknown as [string, string, string];
    return not ? (l) => l[key] === undefined : (l) => l[key] !== undefined;
  }
  throw badRequest(`unable to parse requirement: found '${term}', expected: identifier`);
}

/** Parses a labelSelector query parameter; throws 400 on syntax errors. */
export function labelMatcher(selector: string | null | undefined): Matcher {
  if (!selector || selector.trim() === '') return matchAll;
  const reqs = splitTerms(selector).map(parseRequirement);
  return (obj) => {
    const labels = obj.metadata.labels ?? {};
    for (const r of reqs) if (!r(labels)) return false;
    return true;
  };
}

function unescapeValue(v: string): string {
  return v.replace(/\\(.)/g, '$1');
}

/** Parses a fieldSelector query parameter against the resource's supported field labels. */
export function fieldMatcher(selector: string | null | undefined, info: ResourceInfo): Matcher {
  if (!selector || selector.trim() === '') return matchAll;
  const checks: Matcher[] = [];
  for (const term of selector.split(/(?<!\\),/)) {
    const m = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(term.trim());
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const [, label, op, raw] = m as unknown as [string, string, string, string];
    const value = unescapeValue(raw);
    let read: (obj: KObject) => string | undefined;
    if (label === 'metadata.name') read = (o) => o.metadata.name;
    else if (label === 'metadata.namespace') read = (o) => o.metadata.namespace ?? '';
    else {
      const custom = info.fieldLabels[label];
      if (!custom) throw badRequest(`field label not supported: ${label}`);
      read = custom;
    }
    checks.push(op === '!=' ? (o) => (read(o) ?? '') !== value : (o) => (read(o) ?? '') === value);
  }
  return (obj) => {
    for (const c of checks) if (!c(obj)) return false;
    return true;
  };
}

/** The fieldSelector's single metadata.name=X term, if that is what it is (the informer-per-object case). */
export function selectedName(selector: string | null | undefined): string | undefined {
  const m = selector ? /^metadata\.name==?([^,]+)$/.exec(selector.trim()) : null;
  return m ? unescapeValue(m[1]!) : undefined;
}

export function both(a: Matcher, b: Matcher): Matcher {
  if (a === matchAll) return b;
  if (b === matchAll) return a;
  return (o) => a(o) && b(o);
}

export { matchAll };
