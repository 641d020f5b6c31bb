// The controller's own debug views, next to the ovn-nbctl ones: a subnet's IPAM state, a pod's whole path
// (pod -> annotations -> IP CR -> port -> switch -> router) and the consistency check across Kubernetes,
// IPAM and northbound. Read-only, from the controller's caches and replica.
import express from 'express';
import { checkConsistency, type PortView, parseAddresses } from './consistency.ts';
import type { Deps } from './deps.ts';
import { Ann } from './k8s/annotations.ts';
import { OWNER_KEY } from './nb/ownership.ts';
import { stsKeepsAddress } from './statefulsets.ts';
import { addressOwner } from './workload.ts';

/** Ports of the replica with their switch and owner. */
export function portViews(d: Deps): PortView[] {
  const r = d.nb.replica;
  const switchOf = new Map<string, string>();
  for (const ls of r.rows('Logical_Switch')) for (const p of ls.ports) switchOf.set(p, ls.name);
  const out: PortView[] = [];
  for (const p of r.rows('Logical_Switch_Port')) {
    if (p.type !== '') continue; // router, localnet...: no pod addresses
    const { mac, ips } = parseAddresses(p.addresses);
    out.push({
      name: p.name,
      switch: switchOf.get(p._uuid) ?? '',
      owner: p.external_ids[OWNER_KEY],
      mac,
      ips,
    });
  }
  return out;
}

export function consistencyReport(d: Deps) {
  const kept = new Set<string>();
  for (const ip of d.ips.list()) {
    const name = ip.metadata!.name!;
    if (ip.spec.podType === 'StatefulSet' && stsKeepsAddress(d, ip)) kept.add(name);
    if (
      ip.spec.podType === 'VirtualMachine' &&
      (d.vms.get(`${ip.spec.namespace}/${ip.spec.podName}`) ||
        d.vmis.get(`${ip.spec.namespace}/${ip.spec.podName}`))
    )
      kept.add(name);
  }
  return checkConsistency({
    pods: d.pods
      .list()
      .filter((p) => !p.spec?.hostNetwork)
      .map((p) => ({
        namespace: p.metadata!.namespace!,
        name: p.metadata!.name!,
        annotations: p.metadata?.annotations ?? {},
      })),
    ports: portViews(d),
    ipamOwner: (subnet, ip) => (d.valid.has(subnet) ? d.ipam.ownerOfIp(subnet, ip) : undefined),
    kept,
  });
}

export function controllerDebugRouter(d: Deps): express.Router {
  const router = express.Router();
  router.get('/debug/ipam/:subnet', (req, res) => {
    const subnet = String(req.params.subnet);
    if (!d.valid.has(subnet)) {
      res.status(404).json({ error: `subnet ${subnet} is not in IPAM` });
      return;
    }
    res.json({
      subnet,
      info: d.ipam.subnetInfo(subnet),
      status: d.ipam.status(subnet),
      allocations: d.ipam.allocations(subnet),
    });
  });
  router.get('/debug/pods/:namespace/:name', (req, res) => {
    const key = `${req.params.namespace}/${req.params.name}`;
    const pod = d.pods.get(key);
    if (!pod) {
      res.status(404).json({ error: `pod ${key} is not in the controller's cache` });
      return;
    }
    const who = addressOwner(pod, d.kubevirt);
    const a = pod.metadata?.annotations ?? {};
    const subnet = a[Ann.logicalSwitch];
    const lsp = d.nb.replica.byName('Logical_Switch_Port', who.lsp)[0];
    const ls = lsp && d.nb.replica.list('Logical_Switch', (s) => s.ports.includes(lsp._uuid))[0];
    const routerPort =
      ls &&
      d.nb.replica.list('Logical_Switch_Port', (p) => ls.ports.includes(p._uuid) && p.type === 'router')[0];
    const lrp =
      routerPort && d.nb.replica.byName('Logical_Router_Port', routerPort.options['router-port'] ?? '')[0];
    const lr = lrp && d.nb.replica.list('Logical_Router', (r) => r.ports.includes(lrp._uuid))[0];
    res.json({
      pod: { key, node: pod.spec?.nodeName, phase: pod.status?.phase, podIP: pod.status?.podIP },
      owner: who,
      annotations: Object.fromEntries(Object.entries(a).filter(([k]) => k.startsWith('ovn.kubernetes.io/'))),
      ipCr: d.ips.get(who.key)?.spec ?? null,
      ipam: subnet && d.valid.has(subnet) ? (d.ipam.get(subnet, who.key) ?? null) : null,
      port: lsp
        ? {
            name: lsp.name,
            addresses: lsp.addresses,
            port_security: lsp.port_security,
            up: lsp.up,
            options: lsp.options,
          }
        : null,
      switch: ls?.name ?? null,
      router: lr ? { name: lr.name, port: lrp.name, networks: lrp.networks } : null,
    });
  });
  router.get('/debug/check', (req, res) => {
    const findings = consistencyReport(d);
    if (req.query.format === 'text')
      res
        .type('text/plain')
        .send(
          findings.length === 0
            ? 'consistent\n'
            : `${findings.map((f) => `${f.kind}: ${f.message}`).join('\n')}\n`,
        );
    else res.json({ consistent: findings.length === 0, findings });
  });
  return router;
}
