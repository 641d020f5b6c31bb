// lsp-show PORT: one logical switch port in detail, what ovn-nbctl spreads over lsp-get-addresses,
// lsp-get-port-security, lsp-get-type, lsp-get-options, lsp-get-up, lsp-get-enabled,
// lsp-get-dynamic-addresses and lsp-get-ls. Not an ovn-nbctl command: the text is laid out like
// `ovn-nbctl list` ("name : value", values in OVSDB's text syntax).
import { compareText, padEnd } from './c-text.ts';
import { valueToString } from './datum-text.ts';
import { lookup, mustFind } from './nb-lookup.ts';
import { type NbSource, sortedStrings } from './source.ts';

export interface PortDetail {
  uuid: string;
  name: string;
  /** The switch that holds the port (lsp-get-ls), if any. */
  switch: { uuid: string; name: string } | null;
  type: string;
  addresses: string[];
  /** What lsp-get-addresses prints: a router port's lone "router" as its router port's MAC and networks. */
  effective_addresses: string[];
  dynamic_addresses: string | null;
  port_security: string[];
  options: Record<string, string>;
  /** lsp-get-up: true only when ovn-northd has set up=true. */
  up: boolean;
  /** lsp-get-enabled: an unset column means enabled. */
  enabled: boolean;
  parent_name: string | null;
  tag: number | null;
  external_ids: Record<string, string>;
}

export function portDetail(src: NbSource, portId: string): PortDetail {
  const lsp = mustFind(src, 'port', portId);
  let owner: PortDetail['switch'] = null;
  for (const ls of src.rows('Logical_Switch')) {
    if (ls.ports.includes(lsp._uuid)) {
      owner = { uuid: ls._uuid, name: ls.name };
      break;
    }
  }
  const addresses = sortedStrings(lsp.addresses);
  let effective = addresses;
  const routerPort = lsp.options['router-port'];
  if (addresses.length === 1 && addresses[0] === 'router' && routerPort !== undefined) {
    const lrp = lookup(src, 'routerPort', routerPort, false);
    if (lrp) effective = [[lrp.mac, ...sortedStrings(lrp.networks)].join(' ')];
  }
  return {
    uuid: lsp._uuid,
    name: lsp.name,
    switch: owner,
    type: lsp.type,
    addresses,
    effective_addresses: effective,
    dynamic_addresses: lsp.dynamic_addresses,
    port_security: sortedStrings(lsp.port_security),
    options: Object.fromEntries(Object.entries(lsp.options).sort(([a], [b]) => compareText(a, b))),
    up: lsp.up === true,
    enabled: lsp.enabled !== false,
    parent_name: lsp.parent_name,
    tag: lsp.tag,
    external_ids: { ...lsp.external_ids },
  };
}

const STRING = { type: 'string' } as const;
const strings = { key: STRING, min: 0, max: Number.POSITIVE_INFINITY };
const optionalString = { key: STRING, min: 0, max: 1 };
const stringMap = { key: STRING, value: STRING, min: 0, max: Number.POSITIVE_INFINITY };

export function renderPortDetail(p: PortDetail): string {
  const lines: [string, string][] = [
    ['_uuid', p.uuid],
    ['name', valueToString({ key: STRING, min: 1, max: 1 }, p.name)],
    ['switch', p.switch ? `${p.switch.uuid} (${p.switch.name})` : '[]'],
    ['type', valueToString({ key: STRING, min: 1, max: 1 }, p.type)],
    ['addresses', valueToString(strings, p.addresses)],
    ['effective_addresses', valueToString(strings, p.effective_addresses)],
    ['dynamic_addresses', valueToString(optionalString, p.dynamic_addresses)],
    ['port_security', valueToString(strings, p.port_security)],
    ['options', valueToString(stringMap, p.options)],
    ['up', String(p.up)],
    ['enabled', String(p.enabled)],
    ['parent_name', valueToString(optionalString, p.parent_name)],
    ['tag', p.tag === null ? '[]' : String(p.tag)],
    ['external_ids', valueToString(stringMap, p.external_ids)],
  ];
  return lines.map(([k, v]) => `${padEnd(k, 20)}: ${v}\n`).join('');
}
