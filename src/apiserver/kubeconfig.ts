// A kubeconfig for kubectl and @kubernetes/client-node pointed at this server.
import { stringify } from 'yaml';

export interface KubeconfigOptions {
  server: string;
  /** PEM of the server certificate (HTTPS); without it the cluster entry skips TLS verification. */
  caPem?: string;
  /** The context's default namespace. */
  namespace?: string;
  name?: string;
}

export function kubeconfigYaml(o: KubeconfigOptions): string {
  const name = o.name ?? 'ovnk-lab';
  const cluster: Record<string, unknown> = { server: o.server };
  if (o.caPem) cluster['certificate-authority-data'] = Buffer.from(o.caPem).toString('base64');
  // client-node needs skipTLSVerify even for http:// servers (see shared notes); kubectl ignores it there.
  else cluster['insecure-skip-tls-verify'] = true;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster }],
    users: [{ name: `${name}-admin`, user: { token: 'ovnk-lab-no-auth' } }],
    contexts: [
      { name, context: { cluster: name, user: `${name}-admin`, namespace: o.namespace ?? 'default' } },
    ],
    'current-context': name,
    preferences: {},
  });
}
