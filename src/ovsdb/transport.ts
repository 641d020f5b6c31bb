// OVSDB remotes as OVS writes them: tcp:HOST:PORT, ssl:HOST:PORT, unix:PATH (IPv6 hosts in brackets).
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ConnectionError } from './errors.ts';

export type Remote =
  | { kind: 'tcp' | 'ssl'; host: string; port: number; text: string }
  | { kind: 'unix'; path: string; text: string };

export interface TlsOptions {
  /** PEM CA certificate(s) the server's certificate must chain to. */
  ca?: string | Buffer;
  /** PEM client certificate and key, for servers that require them. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Check that the certificate names the host (OVS does not, by default). */
  checkServerIdentity?: boolean;
}

/** Parses one remote, or a comma-separated list, as ovn-nbctl accepts them. */
export function parseRemotes(spec: string | string[]): Remote[] {
  const list = Array.isArray(spec) ? spec : spec.split(',');
  const remotes = list
    .map((s) => s.trim())
    .filter(Boolean)
    .map(parseRemote);
  if (remotes.length === 0) throw new ConnectionError('no OVSDB remote given');
  return remotes;
}

export function parseRemote(text: string): Remote {
  const colon = text.indexOf(':');
  const kind = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (kind === 'unix') {
    if (!rest) throw new ConnectionError(`bad remote "${text}": unix: needs a path`);
    return { kind, path: rest, text };
  }
  if (kind === 'tcp' || kind === 'ssl') {
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(rest);
    const port = m ? Number(m[3]) : Number.NaN;
    if (!m || port < 1 || port > 65535)
      throw new ConnectionError(`bad remote "${text}": expected ${kind}:HOST:PORT`);
    return { kind, host: (m[1] ?? m[2])!, port, text };
  }
  throw new ConnectionError(`bad remote "${text}": expected tcp:, ssl: or unix:`);
}

/** Opens a socket to a remote; resolves once connected (for ssl: once the handshake is done). */
export function openSocket(remote: Remote, tls: TlsOptions | undefined, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    let sock: Socket;
    const readyEvent = remote.kind === 'ssl' ? 'secureConnect' : 'connect';
    if (remote.kind === 'unix') {
      sock = netConnect({ path: remote.path });
    } else if (remote.kind === 'tcp') {
      sock = netConnect({ host: remote.host, port: remote.port });
    } else {
      sock = tlsConnect({
        host: remote.host,
        port: remote.port,
        ca: tls?.ca,
        cert: tls?.cert,
        key: tls?.key,
        rejectUnauthorized: true,
        checkServerIdentity: tls?.checkServerIdentity ? undefined : () => undefined,
      });
    }
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new ConnectionError(`connect to ${remote.text} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once(readyEvent, () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      sock.setNoDelay(true);
      resolve(sock);
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      sock.destroy();
      reject(new ConnectionError(`connect to ${remote.text} failed: ${err.message}`, { cause: err }));
    });
  });
}
