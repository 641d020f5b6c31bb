// The NetworkPolicy reconciler against real NB/SB and ovn-northd: a policy's port group, address sets and
// ACLs follow pods and labels; a label change rewrites the address set or the port group and leaves the
// ACLs as they are; a policy deleted while the controller is down is cleaned up when it starts.
import { KubeConfig, NetworkingV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { beforeAll, describe, expect, test } from 'vitest';
import { eventually } from '../helpers.ts';
import { pod, useControllerStack } from './harness.ts';

const s = useControllerStack();
const { nbctl, annotated } = s;
let net: NetworkingV1Api;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

beforeAll(() => {
  const kc = new KubeConfig();
  kc.loadFromString(s.api.kubeconfig);
  net = kc.makeApiClient(NetworkingV1Api);
});

const PG = 'np.web.default';
const PEERS = 'np.web.default.ingress.0.ip4';

async function column(table: string, name: string, col: string): Promise<string> {
  return nbctl('--if-exists', 'get', table, name, col);
}
async function portUuid(lsp: string): Promise<string> {
  return nbctl('get', 'Logical_Switch_Port', lsp, '_uuid');
}
/** The policy's ACLs as "uuid priority match", sorted. */
async function acls(): Promise<string[]> {
  const out = await nbctl(
    '--bare',
    '--columns=_uuid,priority,match',
    'find',
    'ACL',
    'external_ids:np="default/web"',
  );
  return out
    .split('\n\n')
    .map((r) => r.split('\n').join(' '))
    .filter(Boolean)
    .sort();
}
const setLabels = (name: string, labels: Record<string, string | null>) =>
  s.core.patchNamespacedPod({ namespace: 'default', name, body: { metadata: { labels } } }, mergePatch);

describe('NetworkPolicy rows in northbound', () => {
  test('the port group holds the selected pods, the address set the peers; a label change touches only them', async () => {
    for (const [name, app] of [
      ['web-0', 'web'],
      ['db-0', 'db'],
    ] as const) {
      const p = pod(name);
      p.metadata!.labels = { app };
      await s.core.createNamespacedPod({ namespace: 'default', body: p });
    }
    const webIp = (await annotated('web-0'))['ovn.kubernetes.io/ip_address']!;
    const dbIp = (await annotated('db-0'))['ovn.kubernetes.io/ip_address']!;
    expect(webIp).not.toBe(dbIp);
    await net.createNamespacedNetworkPolicy({
      namespace: 'default',
      body: {
        metadata: { name: 'web', namespace: 'default' },
        spec: {
          podSelector: { matchLabels: { app: 'web' } },
          ingress: [{ _from: [{ podSelector: { matchLabels: { role: 'client' } } }], ports: [{ port: 80 }] }],
        },
      },
    });
    await eventually(async () => {
      expect(await column('Port_Group', PG, 'ports')).toBe(`[${await portUuid('web-0.default')}]`);
      expect(await column('Address_Set', PEERS, 'addresses')).toBe('[]');
      expect((await acls()).length).toBe(4);
    });
    const before = await acls();
    expect(before.join('\n')).toMatch(
      /2001 outport == @np\.web\.default && ip4\.src == \$np\.web\.default\.ingress\.0\.ip4 && tcp\.dst == 80/,
    );

    // db-0 becomes a peer: its address joins the set; the ACLs are the same rows with the same matches
    await setLabels('db-0', { role: 'client' });
    await eventually(async () => expect(await column('Address_Set', PEERS, 'addresses')).toBe(`["${dbIp}"]`));
    expect(await acls()).toEqual(before);

    // web-0 leaves the selected pods: the port group empties; the ACLs stay
    await setLabels('web-0', { app: 'other' });
    await eventually(async () => expect(await column('Port_Group', PG, 'ports')).toBe('[]'));
    expect(await acls()).toEqual(before);
    await setLabels('web-0', { app: 'web' });
    await eventually(async () =>
      expect(await column('Port_Group', PG, 'ports')).toBe(`[${await portUuid('web-0.default')}]`),
    );

    // a peer pod that goes leaves the set
    await s.core.deleteNamespacedPod({ namespace: 'default', name: 'db-0' });
    await eventually(async () => expect(await column('Address_Set', PEERS, 'addresses')).toBe('[]'));
    expect(await acls()).toEqual(before);
  });

  test('a policy deleted while the controller is down is removed when it starts; one created then is made', async () => {
    await s.restart(async () => {
      await net.deleteNamespacedNetworkPolicy({ namespace: 'default', name: 'web' });
      await net.createNamespacedNetworkPolicy({
        namespace: 'default',
        body: {
          metadata: { name: 'deny', namespace: 'default' },
          spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
        },
      });
    });
    await s.controller.idle();
    await eventually(async () => {
      expect(await column('Port_Group', PG, 'name')).toBe('');
      expect(await column('Address_Set', PEERS, 'name')).toBe('');
      expect(await acls()).toEqual([]);
      expect(await column('Port_Group', 'np.deny.default', 'ports')).toBe(
        `[${await portUuid('web-0.default')}]`,
      );
    });
    const deny = await nbctl('--bare', '--columns=match', 'find', 'ACL', 'external_ids:np="default/deny"');
    // one match per line, in no particular order: whole lines, so "ip" is not a prefix of "ip4..."
    const matches = deny.split('\n').map((l) => l.trim());
    expect(matches).toContain('outport == @np.deny.default && ip');
    expect(matches).toContain('inport == @np.deny.default && ip');
    // the LSP made again (another uuid) is put back into the port group
    await nbctl('lsp-del', 'web-0.default');
    await s.core.patchNamespacedPod(
      {
        namespace: 'default',
        name: 'web-0',
        body: { metadata: { annotations: { 'ovn.kubernetes.io/routed': null } } },
      },
      mergePatch,
    );
    await eventually(async () =>
      expect(await column('Port_Group', 'np.deny.default', 'ports')).toBe(
        `[${await portUuid('web-0.default')}]`,
      ),
    );
  });

  test('with --enable-np=false the policies rows go and nothing else; enabled again they come back', async () => {
    const denyAcls = () =>
      nbctl('--bare', '--columns=match', 'find', 'ACL', 'external_ids:np="default/deny"');
    expect(await denyAcls()).not.toBe('');
    const ports = await nbctl('--bare', '--columns=name', 'list', 'Logical_Switch_Port');
    await s.restart(undefined, { enableNp: false });
    await s.controller.idle();
    expect(await column('Port_Group', 'np.deny.default', 'name')).toBe('');
    expect(await denyAcls()).toBe('');
    // the pods' ports are not the policies' to take
    expect(await nbctl('--bare', '--columns=name', 'list', 'Logical_Switch_Port')).toBe(ports);
    await s.restart(undefined, {});
    await s.controller.idle();
    await eventually(async () =>
      expect(await column('Port_Group', 'np.deny.default', 'ports')).toBe(
        `[${await portUuid('web-0.default')}]`,
      ),
    );
    expect(await denyAcls()).not.toBe('');
  });
});
