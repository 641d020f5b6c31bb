// Reading manifests (multi-document YAML files or folders of them), for installing the CRDs at start.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { isRecord, type KObject } from './types.ts';

/** Every object in a YAML/JSON file, or in the .yaml/.yml/.json files of a folder (sorted by name). */
export function readManifests(path: string): KObject[] {
  if (statSync(path).isDirectory()) {
    return readdirSync(path)
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .sort()
      .flatMap((f) => readManifests(join(path, f)));
  }
  const out: KObject[] = [];
  for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
    if (doc.errors.length) throw new Error(`${path}: ${doc.errors[0]!.message}`);
    const v: unknown = doc.toJS();
    if (isRecord(v)) {
      if (v.kind === 'List' && Array.isArray(v.items)) out.push(...(v.items as KObject[]));
      else out.push(v as KObject);
    }
  }
  return out;
}
