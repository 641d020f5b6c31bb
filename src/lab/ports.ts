// Free TCP ports on loopback, so that concurrent lab runs never collide.
import { createServer } from 'node:net';

const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr ? addr.port : 0;
        srv.close(() => resolve(p));
      });
    });
    // the kernel may hand the same ephemeral port out again before the daemon binds it
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
