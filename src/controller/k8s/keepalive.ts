// @kubernetes/client-node 1.4 builds a new HTTP(S) agent for every request (KubeConfig.createAgent is
// called per call), so no connection is ever reused: each request pays a TCP (and TLS) handshake on both
// sides. This gives a KubeConfig one keep-alive agent per cluster and agent settings instead.
import type { Agent } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';

type AgentFactory = (cluster: { server?: string } | null, options: Record<string, unknown>) => Agent;

const patched = new WeakSet<KubeConfig>();

export function reuseConnections(kc: KubeConfig): KubeConfig {
  if (patched.has(kc)) return kc;
  const target = kc as unknown as { createAgent: AgentFactory };
  const original = target.createAgent.bind(kc);
  const agents = new Map<string, Agent>();
  target.createAgent = (cluster, options) => {
    const key = `${cluster?.server}|${JSON.stringify(options)}`;
    let agent = agents.get(key);
    if (!agent) {
      agent = original(cluster, { ...options, keepAlive: true, maxSockets: 64 });
      agents.set(key, agent);
    }
    return agent;
  };
  patched.add(kc);
  return kc;
}
