// ADD's result, which the daemon gives in 1.0.0 form, in the version the runtime called us with.
// 1.1.0 results have the 1.0.0 shape; 0.3.x and 0.4.0 results carry "version": "4" | "6" on every IP and
// know only the interface, IP and route fields below (as libcni's own conversion keeps).
import { CniError, ErrorCode } from './errors.ts';

export type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalidResult(why: string): CniError {
  return new CniError(ErrorCode.Unexpected, 'the daemon returned an invalid ADD result', why);
}

function objects(result: Json, key: string): Json[] {
  const list = result[key];
  if (list === undefined) return [];
  if (!Array.isArray(list) || !list.every(isObject)) throw invalidResult(`"${key}" is not a list of objects`);
  return list;
}

function pick(from: Json, keys: readonly string[]): Json {
  const out: Json = {};
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k];
  return out;
}

function ipVersion(address: unknown): '4' | '6' {
  if (typeof address !== 'string' || address === '') throw invalidResult('an IP has no "address"');
  return address.includes(':') ? '6' : '4';
}

function isLegacyVersion(cniVersion: string): boolean {
  return cniVersion.startsWith('0.');
}

export function resultForVersion(result: unknown, cniVersion: string): Json {
  if (!isObject(result)) throw invalidResult('not a JSON object');
  const interfaces = objects(result, 'interfaces');
  const ips = objects(result, 'ips');
  const routes = objects(result, 'routes');
  for (const ip of ips) ipVersion(ip.address);
  const out: Json = { cniVersion };
  if (!isLegacyVersion(cniVersion)) {
    for (const [k, v] of Object.entries(result)) if (k !== 'cniVersion') out[k] = v;
    return out;
  }
  if (result.interfaces !== undefined)
    out.interfaces = interfaces.map((i) => pick(i, ['name', 'mac', 'sandbox']));
  if (result.ips !== undefined) {
    out.ips = ips.map((ip) => ({
      version: ipVersion(ip.address),
      ...pick(ip, ['interface', 'address', 'gateway']),
    }));
  }
  if (result.routes !== undefined) out.routes = routes.map((r) => pick(r, ['dst', 'gw']));
  if (result.dns !== undefined) out.dns = result.dns;
  return out;
}
