/** A wake-up call many callers can wait on, each with its own deadline and AbortSignal. */
export class Notifier {
  readonly #waiters = new Set<(woken: boolean) => void>();

  /**
   * Resolves true at the next {@link notifyAll}, false when `deadline` (ms since the epoch) passes
   * or `signal` aborts first. Timers and listeners are removed either way.
   */
  wait(deadline: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      if (signal?.aborted || deadline <= Date.now()) return resolve(false);
      const done = (woken: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#waiters.delete(done);
        resolve(woken);
      };
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(false), deadline - Date.now());
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.add(done);
    });
  }

  /** Wakes every current waiter. */
  notifyAll(): void {
    for (const done of [...this.#waiters]) done(true);
  }
}
