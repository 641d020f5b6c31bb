// ObjectMeta rules every kind shares: name formats, generateName, label and annotation checks.
import { randomBytes } from 'node:crypto';
import { fieldError, type StatusCause } from './errors.ts';
import { isRecord, type KObject } from './types.ts';

const dns1123LabelRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123SubdomainRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dns1035LabelRe = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export function dns1123Subdomain(name: string): string | undefined {
  if (name.length > 253) return 'must be no more than 253 characters';
  if (!dns1123SubdomainRe.test(name)) {
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  }
  return undefined;
}

export function dns1123Label(name: string): string | undefined {
  if (name.length > 63) return 'must be no more than 63 characters';
  if (!dns1123LabelRe.test(name)) {
    return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
  }
  return undefined;
}

export function dns1035Label(name: string): string | undefined {
  if (name.length > 63) return 'must be no more than 63 characters';
  if (!dns1035LabelRe.test(name)) {
    return "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
  }
  return undefined;
}

/** Path-segment names (Leases allow any name a URL can carry). */
export function pathSegmentName(name: string): string | undefined {
  if (name === '.' || name === '..') return `may not be '${name}'`;
  if (/[/%]/.test(name)) return "may not contain '/' or '%'";
  return undefined;
}

const suffixAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

/** generateName + 5 characters from the alphabet apimachinery uses. */
export function generateName(prefix: string): string {
  const bytes = randomBytes(5);
  let s = '';
  for (const b of bytes) s += suffixAlphabet[b % suffixAlphabet.length];
  return prefix.slice(0, 58) + s;
}

const qualifiedNameRe = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const labelValueRe = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function qualifiedKeyError(key: string): string | undefined {
  const slash = key.indexOf('/');
  const [prefix, name] = slash >= 0 ? [key.slice(0, slash), key.slice(slash + 1)] : ['', key];
  if (slash >= 0 && dns1123Subdomain(prefix) !== undefined)
    return 'prefix part must be a lowercase RFC 1123 subdomain';
  if (name.length === 0 || name.length > 63 || !qualifiedNameRe.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
  }
  return undefined;
}

/** Checks labels, annotations, finalizers and ownerReferences the way ValidateObjectMeta does. */
export function validateMetadata(obj: KObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const md = obj.metadata;
  for (const [field, map] of [
    ['labels', md.labels],
    ['annotations', md.annotations],
  ] as const) {
    if (map === undefined || map === null) continue;
    if (!isRecord(map)) {
      causes.push(fieldError.typeInvalid(`metadata.${field}`, map, 'must be a map of strings'));
      continue;
    }
    for (const [k, v] of Object.entries(map)) {
      const keyErr = qualifiedKeyError(k);
      if (keyErr) causes.push(fieldError.invalid(`metadata.${field}`, k, keyErr));
      if (typeof v !== 'string') {
        causes.push(fieldError.typeInvalid(`metadata.${field}.${k}`, v, 'must be a string'));
      } else if (field === 'labels' && (v.length > 63 || !labelValueRe.test(v))) {
        causes.push(
          fieldError.invalid(
            `metadata.labels`,
            v,
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
          ),
        );
      }
    }
  }
  if (md.finalizers !== undefined && md.finalizers !== null) {
    if (!Array.isArray(md.finalizers)) {
      causes.push(fieldError.typeInvalid('metadata.finalizers', md.finalizers, 'must be a list of strings'));
    } else {
      md.finalizers.forEach((f, i) => {
        if (typeof f !== 'string' || qualifiedKeyError(f) !== undefined) {
          causes.push(fieldError.invalid(`metadata.finalizers[${i}]`, f, 'must be a qualified name'));
        }
      });
    }
  }
  if (md.ownerReferences !== undefined && md.ownerReferences !== null) {
    if (!Array.isArray(md.ownerReferences)) {
      causes.push(fieldError.typeInvalid('metadata.ownerReferences', md.ownerReferences, 'must be a list'));
    } else {
      let controllers = 0;
      md.ownerReferences.forEach((ref, i) => {
        for (const f of ['apiVersion', 'kind', 'name', 'uid'] as const) {
          if (!isRecord(ref) || typeof ref[f] !== 'string' || ref[f] === '') {
            causes.push(
              fieldError.invalid(`metadata.ownerReferences[${i}].${f}`, '', `${f} must not be empty`),
            );
          }
        }
        if (isRecord(ref) && ref.controller === true) controllers++;
      });
      if (controllers > 1) {
        causes.push(
          fieldError.invalid(
            'metadata.ownerReferences',
            md.ownerReferences,
            'Only one reference can have Controller set to true',
          ),
        );
      }
    }
  }
  return causes;
}

/** "5s", "3m", "2d": kubectl's human-readable age. */
export function humanAge(timestamp: unknown, now = Date.now()): string {
  if (typeof timestamp !== 'string') return '<unknown>';
  const secs = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (Number.isNaN(secs)) return '<invalid>';
  if (secs < 120) return `${secs}s`;
  const mins = Math.floor(secs / 60);
  if (mins < 10) return `${mins}m${secs % 60 ? `${secs % 60}s` : ''}`;
  if (mins < 180) return `${mins}m`;
  const hours = Math.floor(mins / 60);
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 730) return `${days}d`;
  return `${Math.floor(days / 365)}y`;
}
