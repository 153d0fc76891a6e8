/**
 * A fixed-bucket histogram cheap enough for a hot path: {@link Histogram.observe} increments one
 * slot of a preallocated array and allocates nothing; buckets are made cumulative only when read.
 */

/** Signer queue wait bucket bounds, in seconds (1 ms to 2.5 s; jobs time out at 5 s). */
export const QUEUE_WAIT_BUCKETS: readonly number[] = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
];

/** A histogram read at scrape time: cumulative counts per bound, as Prometheus wants them. */
export interface HistogramSnapshot {
  /** Upper bounds of the buckets, in seconds, ascending (`+Inf` is implied). */
  bounds: readonly number[];
  /** Observations ≤ each bound (cumulative), one per entry of `bounds`. */
  cumulative: number[];
  /** Sum of every observation, in seconds. */
  sum: number;
  /** Number of observations (the `+Inf` bucket). */
  count: number;
}

/** Counts observations into fixed buckets. */
export class Histogram {
  readonly #bounds: readonly number[];
  /** Observations per bucket, not cumulative; the last slot is `+Inf`. */
  readonly #slots: Float64Array;
  #sum = 0;
  #count = 0;

  /** `bounds` in seconds, ascending. */
  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.#slots = new Float64Array(bounds.length + 1);
  }

  /** Records one observation of `seconds` (negative values count as 0). */
  observe(seconds: number): void {
    const value = seconds > 0 ? seconds : 0;
    let i = 0;
    while (i < this.#bounds.length && value > this.#bounds[i]!) i++;
    this.#slots[i]!++;
    this.#sum += value;
    this.#count++;
  }

  /** The cumulative counts, sum and count as of now. */
  snapshot(): HistogramSnapshot {
    const cumulative: number[] = [];
    let running = 0;
    for (let i = 0; i < this.#bounds.length; i++) {
      running += this.#slots[i]!;
      cumulative.push(running);
    }
    return { bounds: this.#bounds, cumulative, sum: this.#sum, count: this.#count };
  }
}
