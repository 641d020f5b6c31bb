// A level-triggered reconcile behind many triggers: one run at a time, and exactly one more when something
// triggered it during a run (the run reads the current state anyway, so ten triggers cost one run).
export class Coalesced {
  private running: Promise<void> = Promise.resolve();
  private busy = false;
  private again = false;
  private closed = false;

  /** `run` must not throw: it reports its own failures (and may trigger() itself to retry). */
  constructor(private readonly run: () => Promise<void>) {}

  trigger(): void {
    if (this.closed) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.running = (async () => {
      do {
        this.again = false;
        await this.run();
      } while (this.again && !this.closed);
      this.busy = false;
    })();
  }

  /** Resolves when no run is under way. */
  async settled(): Promise<void> {
    while (this.busy) await this.running;
  }

  /** No more runs start; waits for the one under way. */
  async close(): Promise<void> {
    this.closed = true;
    await this.settled();
  }
}
