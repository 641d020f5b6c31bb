// Serialises work per key: a VM's launcher pods are different pods (and so may be reconciled at once by the
// pod queue) but share one address and one port; the daemon's CNI calls for one attachment run one by one.
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Whether work for the key is running or waiting. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
