/** Exponential backoff with full jitter ("AWS architecture blog" style). */

/** Backoff settings shared by reconnects, publish retries and REQ retries. */
export interface BackoffOptions {
  /** Ceiling of the first delay, in ms. Default 250. */
  initialMs: number;
  /** Largest ceiling of any delay, in ms. Default 30_000. */
  maxMs: number;
  /** A connection open at least this long resets the attempt count, in ms. Default 15_000. */
  resetAfterMs?: number;
}

/** Default backoff: 250 ms doubling up to 30 s, reset after 15 s of stable connection. */
export const DEFAULT_BACKOFF: Required<BackoffOptions> = {
  initialMs: 250,
  maxMs: 30_000,
  resetAfterMs: 15_000,
};

/** Largest exponent used, so the ceiling never overflows. */
const MAX_EXPONENT = 30;

/**
 * Delay before retry number `attempt` (0-based): uniform in [0, min(maxMs, initialMs·2^attempt)].
 * `random` returns a number in [0, 1) and is injectable for tests.
 */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), MAX_EXPONENT);
  const ceiling = Math.min(opts.maxMs, opts.initialMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}

/** An attempt counter that hands out growing jittered delays. */
export class Backoff {
  #attempt = 0;
  readonly #opts: BackoffOptions;
  readonly #random: () => number;

  /** Starts at attempt 0. `random` returns a number in [0, 1); default `Math.random`. */
  constructor(opts: BackoffOptions, random: () => number = Math.random) {
    this.#opts = opts;
    this.#random = random;
  }

  /** Retries handed out since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The next delay in ms; each call grows the ceiling. */
  next(): number {
    return backoffDelay(this.#attempt++, this.#opts, this.#random);
  }

  /** Starts over from the initial delay. */
  reset(): void {
    this.#attempt = 0;
  }
}
