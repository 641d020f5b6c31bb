// ls-list, lr-list, lsp-list SWITCH, lrp-list ROUTER: "UUID (NAME)" lines sorted by name (smap_sort).
// Equal names stay in the order ovn-nbctl's smap held them: for a switch's or router's ports that is
// rebuilt exactly (insertion in uuid order, see hmap-order.ts); for ls-list and lr-list it depends on
// ovn-nbctl's IDL, so equal names are ordered by uuid.
import { sortByText } from './c-text.ts';
import { hashString, hmapOrder } from './hmap-order.ts';
import { mustFind } from './nb-lookup.ts';
import { deref, type NbSource } from './source.ts';

export interface NamedEntry {
  uuid: string;
  name: string;
}

/**
 * smap_sort() of entries added in this order: by name, equal names as the smap iterated them. With
 * insertionKnown false the insertion order is unknown and equal names go by uuid instead.
 */
export function sortLikeSmap<E extends NamedEntry>(entries: E[], insertionKnown: boolean): E[] {
  let base = entries;
  if (!insertionKnown) base = sortByText(entries, (e) => e.uuid);
  else if (new Set(entries.map((e) => e.name)).size !== entries.length) {
    base = hmapOrder(entries, (e) => hashString(e.name));
  }
  // a stable sort, like glibc's merge-sort qsort
  return sortByText(base, (e) => e.name);
}

const entry = (r: { _uuid: string; name: string }): NamedEntry => ({ uuid: r._uuid, name: r.name });

export function lsList(src: NbSource): NamedEntry[] {
  return sortLikeSmap([...src.rows('Logical_Switch')].map(entry), false);
}

export function lrList(src: NbSource): NamedEntry[] {
  return sortLikeSmap([...src.rows('Logical_Router')].map(entry), false);
}

export function lspList(src: NbSource, switchId: string): NamedEntry[] {
  const ls = mustFind(src, 'switch', switchId);
  return sortLikeSmap(deref(src, 'Logical_Switch_Port', ls.ports).map(entry), true);
}

export function lrpList(src: NbSource, routerId: string): NamedEntry[] {
  const lr = mustFind(src, 'router', routerId);
  return sortLikeSmap(deref(src, 'Logical_Router_Port', lr.ports).map(entry), true);
}

export function renderNamedList(entries: NamedEntry[]): string {
  let s = '';
  for (const e of entries) s += `${e.uuid} (${e.name})\n`;
  return s;
}
