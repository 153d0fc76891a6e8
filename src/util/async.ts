/**
 * Small async helpers: an abortable {@link delay}, a {@link deadline} for any promise, a FIFO
 * {@link Semaphore} with a bounded wait queue, and injectable {@link Timers}. They stand in for
 * JSR's `@std/async`, which our build machines cannot reach. Every helper clears its timers and
 * abort listeners when it settles.
 */

/** Raised by {@link deadline} when the promise did not settle in time. */
export class TimeoutError extends Error {
  override name = "TimeoutError";
}

/** Raised by {@link Semaphore.acquire} when the wait queue already holds `maxWaiting` waiters. */
export class QueueFullError extends Error {
  override name = "QueueFullError";
}

/** Largest delay `setTimeout` honours, in ms (2^31 - 1); longer values would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

function checkMs(what: string, ms: number): void {
  if (!(Number.isFinite(ms) && ms >= 0 && ms <= MAX_TIMER_MS)) {
    throw new RangeError(`Cannot ${what} for "${ms}" ms: it must be between 0 and ${MAX_TIMER_MS}`);
  }
}

/** The timer functions, injectable so that tests drive time instead of sleeping on it. */
export interface Timers {
  /** Runs `fn` after `ms` milliseconds; returns a handle for {@link Timers.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer (a handle already run, cleared or undefined is ignored). */
  clearTimeout(handle: unknown): void;
}

/** The global timers: the default wherever {@link Timers} are injected. */
export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout> | undefined),
};

/** Resolves after `ms` milliseconds; rejects with `signal.reason` on abort and clears its timer. */
export function delay(ms: number, opts: { signal?: AbortSignal } = {}): Promise<void> {
  const { signal } = opts;
  return new Promise<void>((resolve, reject) => {
    checkMs("delay", ms);
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Settles like `p` if it settles within `ms` milliseconds, else rejects with {@link TimeoutError}.
 * Aborting `signal` rejects with `signal.reason`. The timer is cleared however it ends; `p` itself
 * keeps running (pass the same signal to the work if it should stop too).
 */
export function deadline<T>(
  p: Promise<T>,
  ms: number,
  opts: { signal?: AbortSignal } = {},
): Promise<T> {
  const { signal } = opts;
  return new Promise<T>((resolve, reject) => {
    checkMs("wait", ms);
    if (signal?.aborted) return reject(signal.reason);
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      finish();
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      finish();
      reject(new TimeoutError(`Timed out after ${ms} ms`));
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
    p.then(
      (value) => {
        finish();
        resolve(value);
      },
      (error: unknown) => {
        finish();
        reject(error);
      },
    );
  });
}

/** Gives a permit back; calling it again is a no-op. */
export type Release = () => void;

interface Waiter {
  grant(release: Release): void;
}

/**
 * Counting semaphore with a FIFO wait queue of bounded length. A released permit passes straight
 * to the oldest waiter, so {@link Semaphore.tryAcquire} can never jump the queue.
 */
export class Semaphore {
  readonly #permits: number;
  readonly #maxWaiting: number;
  #available: number;
  /** Waiters in arrival order; a `Set` keeps insertion order and deletes an aborted one in O(1). */
  readonly #waiters = new Set<Waiter>();

  /** `permits` ≥ 1; `maxWaiting` bounds the wait queue (≥ 0, default Infinity). */
  constructor(permits: number, opts: { maxWaiting?: number } = {}) {
    const maxWaiting = opts.maxWaiting ?? Infinity;
    if (!Number.isSafeInteger(permits) || permits < 1) {
      throw new RangeError(
        `Cannot create semaphore with "${permits}" permits: need an integer ≥ 1`,
      );
    }
    if (!(maxWaiting === Infinity || (Number.isSafeInteger(maxWaiting) && maxWaiting >= 0))) {
      throw new RangeError(
        `Cannot create semaphore with maxWaiting "${maxWaiting}": need an integer ≥ 0 or Infinity`,
      );
    }
    this.#permits = permits;
    this.#available = permits;
    this.#maxWaiting = maxWaiting;
  }

  /** Total number of permits. */
  get permits(): number {
    return this.#permits;
  }

  /** Permits free right now. */
  get available(): number {
    return this.#available;
  }

  /** Callers queued in {@link acquire}. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Takes a permit if one is free, without waiting; `undefined` otherwise. */
  tryAcquire(): Release | undefined {
    if (this.#available === 0) return undefined;
    this.#available--;
    return this.#release();
  }

  /**
   * Takes a permit, waiting in FIFO order. Rejects at once with {@link QueueFullError} when
   * `maxWaiting` callers already wait; aborting `signal` leaves the queue and rejects with its reason.
   */
  acquire(opts: { signal?: AbortSignal } = {}): Promise<Release> {
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const release = this.tryAcquire();
    if (release) return Promise.resolve(release);
    if (this.#waiters.size >= this.#maxWaiting) {
      return Promise.reject(
        new QueueFullError(`Cannot wait for a permit: ${this.#waiters.size} callers already wait`),
      );
    }
    return new Promise<Release>((resolve, reject) => {
      const onAbort = () => {
        this.#waiters.delete(waiter);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        grant: (granted) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(granted);
        },
      };
      this.#waiters.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** A one-shot release function for a permit that has just been taken. */
  #release(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.values().next();
      if (next.done) {
        this.#available++;
        return;
      }
      this.#waiters.delete(next.value);
      next.value.grant(this.#release());
    };
  }
}
