// The JSONPath subset printer columns use: .a.b, [n], [*], ['key'], [?(@.k=="v")].
import { isRecord } from './types.ts';

type Step =
  | { key: string }
  | { index: number }
  | { all: true }
  | { filter: string[]; op: string; value: string };

function parse(path: string): Step[] {
  const steps: Step[] = [];
  const re =
    /\.([^.[\]]+)|\[(\d+)\]|\[\*\]|\['([^']*)'\]|\[\?\(@\.([^=!<>]+?)\s*(==|!=)\s*['"]?([^'"]*?)['"]?\)\]/g;
  const src = path.replace(/^\{|\}$/g, '').replace(/^\$/, '');
  for (let m = re.exec(src); m !== null; m = re.exec(src)) {
    if (m[1] !== undefined) steps.push({ key: m[1] });
    else if (m[2] !== undefined) steps.push({ index: Number(m[2]) });
    else if (m[3] !== undefined) steps.push({ key: m[3] });
    else if (m[4] !== undefined) steps.push({ filter: m[4].split('.'), op: m[5]!, value: m[6]! });
    else steps.push({ all: true });
  }
  return steps;
}

function dig(v: unknown, keys: string[]): unknown {
  let cur = v;
  for (const k of keys) cur = isRecord(cur) ? cur[k] : undefined;
  return cur;
}

/** All values the path selects, in order. */
export function evalJsonPath(obj: unknown, path: string): unknown[] {
  let cur: unknown[] = [obj];
  for (const step of parse(path)) {
    const next: unknown[] = [];
    for (const v of cur) {
      if ('key' in step) {
        if (isRecord(v) && v[step.key] !== undefined) next.push(v[step.key]);
      } else if ('index' in step) {
        if (Array.isArray(v) && step.index < v.length) next.push(v[step.index]);
      } else if ('all' in step) {
        if (Array.isArray(v)) next.push(...v);
        else if (isRecord(v)) next.push(...Object.values(v));
      } else if (Array.isArray(v)) {
        for (const item of v) {
          const got = String(dig(item, step.filter));
          if ((step.op === '==') === (got === step.value)) next.push(item);
        }
      }
    }
    cur = next;
  }
  return cur;
}
