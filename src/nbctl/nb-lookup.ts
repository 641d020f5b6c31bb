// ovn-nbctl's *_by_name_or_uuid(): a uuid first, then a scan by name; the same error texts.
import type { Tables } from '../ovsdb/generated/ovn-nb.ts';
import { ViewError } from './errors.ts';
import { asUuid, type NbSource, type RowOf } from './source.ts';

type Named =
  | 'Logical_Switch'
  | 'Logical_Router'
  | 'Load_Balancer'
  | 'Port_Group'
  | 'Logical_Switch_Port'
  | 'Logical_Router_Port';

interface Kind {
  table: Named;
  /** "switch", "router"... as in "%s: switch %s not found". */
  what: string;
  /** The plural of "Multiple logical switches named", or undefined when the first match wins. */
  multiple?: string;
}

const KINDS = {
  switch: { table: 'Logical_Switch', what: 'switch', multiple: 'logical switches' },
  router: { table: 'Logical_Router', what: 'router', multiple: 'logical routers' },
  lb: { table: 'Load_Balancer', what: 'load balancer', multiple: 'load balancers' },
  portGroup: { table: 'Port_Group', what: 'port group' },
  port: { table: 'Logical_Switch_Port', what: 'port' },
  routerPort: { table: 'Logical_Router_Port', what: 'port' },
} as const satisfies Record<string, Kind>;

export type LookupKind = keyof typeof KINDS;
type RowFor<K extends LookupKind> = RowOf<Tables, (typeof KINDS)[K]['table']>;

/** Finds a row by uuid or name; undefined when absent and not mustExist. */
export function lookup<K extends LookupKind>(
  src: NbSource,
  kind: K,
  id: string,
  mustExist: boolean,
): RowFor<K> | undefined {
  const k: Kind = KINDS[kind];
  const uuid = asUuid(id);
  let found = uuid ? (src.get(k.table, uuid) as RowFor<K> | undefined) : undefined;
  if (!found) {
    for (const row of src.rows(k.table)) {
      if ((row as { name: string }).name !== id) continue;
      if (!k.multiple) {
        found = row as RowFor<K>;
        break;
      }
      if (found) throw new ViewError('AMBIGUOUS', `Multiple ${k.multiple} named '${id}'.  Use a UUID.`);
      found = row as RowFor<K>;
    }
  }
  if (!found && mustExist) {
    throw new ViewError('NOT_FOUND', `${id}: ${k.what} ${uuid ? 'UUID' : 'name'} not found`);
  }
  return found;
}

export function mustFind<K extends LookupKind>(src: NbSource, kind: K, id: string): RowFor<K> {
  return lookup(src, kind, id, true)!;
}
