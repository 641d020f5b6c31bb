// Every northbound row the controller writes carries who owns it and which desired row it is, in
// external_ids. Cleanup finds rows by owner, never by guessing from names; Kube-OVN's vendor tag is kept so
// its tools and users still recognise the rows.

/** Kube-OVN's tag on everything it creates (its list calls filter on it). */
export const VENDOR_KEY = 'vendor';
export const VENDOR = 'kube-ovn';
/** The Kubernetes object that wants the row, e.g. "subnet/ovn-default", "pod/default/web-0", "node/n1". */
export const OWNER_KEY = 'ovnk.io/owner';
/** The row's identity, unique per table, e.g. "ls/ovn-default", "lsp/web-0.default". */
export const ID_KEY = 'ovnk.io/id';

type Tagged = object & { external_ids?: unknown };

function tag(row: Tagged, key: string): string | undefined {
  return (row.external_ids as Record<string, string> | undefined)?.[key];
}

export function ownerOf(row: Tagged): string | undefined {
  return tag(row, OWNER_KEY);
}

export function idOf(row: Tagged): string | undefined {
  return tag(row, ID_KEY);
}

export function ownershipIds(owner: string, id: string): Record<string, string> {
  return { [VENDOR_KEY]: VENDOR, [OWNER_KEY]: owner, [ID_KEY]: id };
}
