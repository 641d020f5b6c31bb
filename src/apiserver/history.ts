// A bounded window of past events, for watches that resume from a resourceVersion.
// A resume from before the window gets 410 Gone, like etcd after compaction.
import type { StoreEvent } from './store.ts';

export class History {
  private readonly buf: (StoreEvent | undefined)[];
  private head = 0; // index of the oldest event
  private size = 0;
  /** Every event with rv > floor is retained. */
  private floorRv: number;

  constructor(
    readonly capacity: number,
    startRv: number,
  ) {
    this.buf = new Array(Math.max(1, capacity));
    this.floorRv = startRv;
  }

  /** The oldest resourceVersion a watch may resume from. */
  get floor(): number {
    return this.floorRv;
  }

  push(ev: StoreEvent): void {
    const cap = this.buf.length;
    if (this.size === cap) {
      this.floorRv = this.buf[this.head]!.rv;
      this.buf[this.head] = ev;
      this.head = (this.head + 1) % cap;
    } else {
      this.buf[(this.head + this.size) % cap] = ev;
      this.size++;
    }
  }

  /** Drops everything: a resume from any earlier version is then Gone. */
  reset(rv: number): void {
    this.buf.fill(undefined);
    this.head = 0;
    this.size = 0;
    this.floorRv = rv;
  }

  /** Events with rv > after, oldest first, or undefined when the window no longer reaches back that far. */
  since(after: number, resource?: string): StoreEvent[] | undefined {
    if (after < this.floorRv) return undefined;
    const cap = this.buf.length;
    // Binary search for the first event with rv > after.
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.buf[(this.head + mid) % cap]!.rv > after) hi = mid;
      else lo = mid + 1;
    }
    const out: StoreEvent[] = [];
    for (let i = lo; i < this.size; i++) {
      const ev = this.buf[(this.head + i) % cap]!;
      if (resource === undefined || ev.resource === resource) out.push(ev);
    }
    return out;
  }
}
