// The request the CNI plugin sends for every command (docs/cni-daemon-protocol.md), validated.
import type { DaemonRequest } from '../cni/daemon-client.ts';
import { DaemonCode, DaemonError } from './errors.ts';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS';

/** What the plugin sends (its DaemonRequest, the one definition of the wire shape), with the command checked. */
export interface CniRequest extends Omit<DaemonRequest, 'command'> {
  command: CniCommand;
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** The request from a JSON body; throws DaemonError 4 (invalid env) or 6 (decode) when it is unusable. */
export function parseCniRequest(command: string, body: unknown): CniRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new DaemonError(DaemonCode.DecodingFailure, 'request body is not a JSON object');
  const b = body as Record<string, unknown>;
  const cmd = command.toUpperCase() as CniCommand;
  if (!['ADD', 'DEL', 'CHECK', 'GC', 'STATUS'].includes(cmd))
    throw new DaemonError(DaemonCode.InvalidEnvironment, `unknown command ${command}`);
  const req: CniRequest = {
    command: cmd,
    cniVersion: str(b.cniVersion) || '1.0.0',
    containerId: str(b.containerId),
    netns: str(b.netns),
    ifName: str(b.ifName),
    podName: str(b.podName),
    podNamespace: str(b.podNamespace),
    podUid: str(b.podUid),
    config: typeof b.config === 'object' && b.config !== null ? (b.config as Record<string, unknown>) : {},
  };
  const need = (field: keyof CniRequest, what: string) => {
    if (!req[field]) throw new DaemonError(DaemonCode.InvalidEnvironment, `${what} is required for ${cmd}`);
  };
  if (cmd === 'ADD' || cmd === 'CHECK' || cmd === 'DEL') {
    need('containerId', 'CNI_CONTAINERID');
    need('ifName', 'CNI_IFNAME');
  }
  // GC deletes every attachment it is not told to keep: a missing or malformed list must not read as "keep none"
  if (cmd === 'GC') attachmentList(req.config);
  if (cmd === 'ADD' || cmd === 'CHECK') {
    need('netns', 'CNI_NETNS');
    need('podName', 'K8S_POD_NAME');
    need('podNamespace', 'K8S_POD_NAMESPACE');
  }
  // names end up in interface names and OVS external_ids: keep them to what runtimes produce
  if (req.containerId && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(req.containerId))
    throw new DaemonError(
      DaemonCode.InvalidEnvironment,
      'CNI_CONTAINERID has characters a container id cannot have',
    );
  if (
    req.ifName &&
    (req.ifName.length > 15 || !/^[A-Za-z0-9_.-]+$/.test(req.ifName) || /^\.\.?$/.test(req.ifName))
  )
    throw new DaemonError(
      DaemonCode.InvalidEnvironment,
      `CNI_IFNAME "${req.ifName}" is not a valid interface name`,
    );
  return req;
}

/** GC's `cni.dev/valid-attachments`, checked: a list of {containerID, ifname} strings (code 7 otherwise). */
function attachmentList(config: Record<string, unknown>): { containerID: string; ifname: string }[] {
  const list = config['cni.dev/valid-attachments'];
  const valid =
    Array.isArray(list) &&
    list.every((a) => {
      const { containerID, ifname } = (typeof a === 'object' && a !== null ? a : {}) as Record<
        string,
        unknown
      >;
      return typeof containerID === 'string' && typeof ifname === 'string';
    });
  if (!valid)
    throw new DaemonError(
      DaemonCode.InvalidNetworkConfig,
      'GC needs "cni.dev/valid-attachments": a list of {"containerID", "ifname"}',
    );
  return list as { containerID: string; ifname: string }[];
}

/** GC's list of attachments the runtime still has, as "containerId/ifName" keys. */
export function validAttachments(req: CniRequest): Set<string> {
  return new Set(attachmentList(req.config).map((a) => `${a.containerID}/${a.ifname}`));
}
