// JSON-RPC 1.0 over one OVSDB socket: request ids and timeouts, answering the server's echo, and our own
// inactivity probe (an idle connection is probed with an echo; no answer means the peer is dead).
// One RpcConnection lives as long as its socket; reconnecting is the client's job.
import type { Socket } from 'node:net';
import { ConnectionError, OvsdbError, ProtocolError, RpcError, TimeoutError } from './errors.ts';
import { JsonFramer } from './framer.ts';

interface Pending {
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export interface RpcOptions {
  /** Probe the peer with an echo after this long without hearing from it; 0 disables. */
  probeIntervalMs: number;
  /** Default per-request timeout; 0 means none. */
  requestTimeoutMs: number;
  /** A longer message from the peer is a protocol error (default: the longest that can be decoded). */
  maxMessageBytes?: number;
}

export type NotificationHandler = (method: string, params: unknown[]) => void;

export class RpcConnection {
  private readonly framer: JsonFramer;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closedError: OvsdbError | undefined;
  private lastHeard = Date.now();
  private probeTimer: NodeJS.Timeout | undefined;
  private probeOutstanding = false;
  private readonly closeHandlers: ((err: OvsdbError) => void)[] = [];

  constructor(
    private readonly sock: Socket,
    readonly remote: string,
    private readonly opts: RpcOptions,
    private readonly onNotification: NotificationHandler,
  ) {
    this.framer = new JsonFramer(opts.maxMessageBytes);
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', (err) => this.fail(new ConnectionError(`${remote}: ${err.message}`, { cause: err })));
    sock.on('close', () => this.fail(new ConnectionError(`${remote}: connection closed`)));
    if (opts.probeIntervalMs > 0) {
      this.probeTimer = setInterval(() => this.probe(), Math.max(50, opts.probeIntervalMs / 2));
      this.probeTimer.unref();
    }
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** Called once when the connection ends, with the reason. */
  onClose(handler: (err: OvsdbError) => void): void {
    if (this.closedError) handler(this.closedError);
    else this.closeHandlers.push(handler);
  }

  request<T = unknown>(
    method: string,
    params: unknown[],
    timeoutMs = this.opts.requestTimeoutMs,
  ): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.pending.delete(id);
              reject(new TimeoutError(`${method} to ${this.remote}: no answer after ${timeoutMs} ms`));
            }, timeoutMs)
          : undefined;
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, timer });
      this.send({ method, params, id });
    });
  }

  /** Sends a notification (a request with id null), e.g. monitor_cancel's fire-and-forget use. */
  notify(method: string, params: unknown[]): void {
    this.send({ method, params, id: null });
  }

  close(err: OvsdbError = new ConnectionError(`${this.remote}: closed by client`)): void {
    this.fail(err);
  }

  private send(msg: unknown): void {
    if (this.closedError) return;
    this.sock.write(JSON.stringify(msg));
  }

  private onData(chunk: Buffer): void {
    this.lastHeard = Date.now();
    this.probeOutstanding = false;
    let texts: string[];
    try {
      texts = this.framer.push(chunk);
    } catch (e) {
      this.fail(e instanceof OvsdbError ? e : new ProtocolError(`${this.remote}: ${(e as Error).message}`));
      return;
    }
    for (const text of texts) {
      let msg: { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };
      try {
        msg = JSON.parse(text);
      } catch (e) {
        this.fail(new ProtocolError(`${this.remote}: invalid JSON in message: ${(e as Error).message}`));
        return;
      }
      try {
        this.dispatch(msg);
      } catch (e) {
        // a message we cannot take (a notification the handler chokes on, an echo too deep to answer back)
        // must not escape from the socket's data event: the peer is not speaking OVSDB as we know it
        this.fail(
          new ProtocolError(`${this.remote}: cannot handle ${describe(msg)}: ${(e as Error).message}`),
        );
        return;
      }
      if (this.closedError) return;
    }
  }

  private dispatch(msg: {
    id?: unknown;
    method?: unknown;
    params?: unknown;
    result?: unknown;
    error?: unknown;
  }) {
    if (typeof msg.method === 'string') {
      const params = Array.isArray(msg.params) ? msg.params : [];
      if (msg.id !== null && msg.id !== undefined) {
        // a request from the server: only echo is defined for servers to send
        if (msg.method === 'echo') this.send({ id: msg.id, result: params, error: null });
        else this.send({ id: msg.id, result: null, error: `unknown method ${msg.method}` });
        return;
      }
      this.onNotification(msg.method, params);
      return;
    }
    if (typeof msg.id !== 'number') return; // a reply to our probe (id "probe") or to nothing we sent
    const p = this.pending.get(msg.id);
    if (!p) return; // timed out already
    this.pending.delete(msg.id);
    if (p.timer) clearTimeout(p.timer);
    if (msg.error !== null && msg.error !== undefined) p.reject(new RpcError(p.method, msg.error));
    else p.resolve(msg.result);
  }

  private probe(): void {
    if (this.closedError) return;
    const idle = Date.now() - this.lastHeard;
    if (idle < this.opts.probeIntervalMs) return;
    if (this.probeOutstanding) {
      if (idle >= 2 * this.opts.probeIntervalMs) {
        this.fail(new ConnectionError(`${this.remote}: no answer to inactivity probe after ${idle} ms`));
      }
      return;
    }
    this.probeOutstanding = true;
    this.send({ method: 'echo', params: [], id: 'probe' });
  }

  private fail(err: OvsdbError): void {
    if (this.closedError) return;
    this.closedError = err;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.sock.destroy();
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      if (p.timer) clearTimeout(p.timer);
      p.reject(err);
    }
    for (const h of this.closeHandlers.splice(0)) h(err);
  }
}

function describe(msg: { id?: unknown; method?: unknown }): string {
  return typeof msg.method === 'string' ? `"${msg.method.slice(0, 40)}" message` : 'reply';
}
