// TCP ports on loopback for lab daemons. They are taken below the kernel's ephemeral range (32768 and up
// by default), checked free by binding them: a port the kernel hands out for port 0 (to a test server, an
// HTTP client, another lab's probe) can then never be the one a daemon is about to bind or re-bind after
// a restart. Concurrent labs are kept apart by the bind check and a random start.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const handedOut = new Set<number>();

function ephemeralStart(): number {
  try {
    return (
      Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768
    );
  } catch {
    return 32768;
  }
}

const LOW = 20_000;

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  const high = Math.max(LOW + 1000, ephemeralStart());
  for (let attempt = 0; attempt < 1000; attempt++) {
    const port = LOW + Math.floor(Math.random() * (high - LOW));
    if (handedOut.has(port)) continue;
    if (await canBind(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free TCP port in ${LOW}-${high} on 127.0.0.1`);
}
