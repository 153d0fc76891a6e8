/** One admission lane of the {@link SignerPool}: permits, and a bounded wait queue with deadlines. */
import { QueueFullError, type Release, Semaphore } from "../util/async.ts";
import { OverloadedError, SignerTimeoutError } from "./errors.ts";

/** A semaphore whose waiters give up at a deadline, counted for the pool's stats. */
export class Lane {
  readonly #semaphore: Semaphore;
  readonly #waiting = new Set<AbortController>();
  /** Jobs refused because the wait queue was full. */
  dropped = 0;
  /** Jobs whose deadline passed while they waited. */
  timeouts = 0;

  /** `permits` jobs run at once; `maxWaiting` more may wait. */
  constructor(permits: number, maxWaiting: number) {
    this.#semaphore = new Semaphore(permits, { maxWaiting });
  }

  /** Permits in use. */
  get busy(): number {
    return this.#semaphore.permits - this.#semaphore.available;
  }

  /** Jobs waiting for a permit. */
  get waiting(): number {
    return this.#semaphore.waiting;
  }

  /**
   * Takes a permit, waiting at most `timeoutMs`. Rejects at once with {@link OverloadedError}
   * when the queue is full, with {@link SignerTimeoutError} at the deadline, or with the error
   * given to {@link abortAll}.
   */
  async acquire(timeoutMs: number): Promise<Release> {
    const release = this.#semaphore.tryAcquire();
    if (release) return release;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      controller.abort(
        new SignerTimeoutError(`Signer job timed out after ${timeoutMs} ms in the queue`),
      );
    }, timeoutMs);
    this.#waiting.add(controller);
    try {
      return await this.#semaphore.acquire({ signal: controller.signal });
    } catch (error) {
      if (error instanceof QueueFullError) {
        this.dropped++;
        throw new OverloadedError("Cannot queue signer job: the wait queue is full");
      }
      if (error instanceof SignerTimeoutError) this.timeouts++;
      throw error;
    } finally {
      clearTimeout(timer);
      this.#waiting.delete(controller);
    }
  }

  /** Rejects every waiting job with `error`. */
  abortAll(error: Error): void {
    for (const controller of this.#waiting) controller.abort(error);
  }
}
