/**
 * The typed, bounded, broadcast authorization channel between the HTTP API (sender) and the relay
 * listener, metrics and later a cross-instance bridge (subscribers).
 *
 * Design: one shared ring buffer of `capacity` slots plus a cursor per subscriber (see
 * `subscription.ts`). `send` stores the command once, then visits each subscriber to hand the
 * command to a waiting `next()` or to check its backlog: O(subscribers), no allocation on the
 * common path. A subscriber that falls more than `capacity` commands behind loses its backlog,
 * which collapses into a single `{type: "reload"}` — every command is sent after its database
 * write, so re-reading the database recovers everything. A slow subscriber therefore never blocks
 * the sender or the other subscribers, and memory stays bounded by `capacity`.
 */
import type { AuthorizationCommand } from "./command.ts";
import { ChannelCore, RingSubscription } from "./subscription.ts";

export type { AuthorizationCommand } from "./command.ts";

/** Default per-subscriber backlog bound, in commands. */
export const DEFAULT_CHANNEL_CAPACITY = 1024;

/** Counters for `/health` and `/metrics`. */
export interface ChannelStats {
  /** Calls to `send`, including those dropped after close. */
  sent: number;
  /** Commands handed to subscribers, counted once per subscriber; reloads included. */
  delivered: number;
  /** Times a subscriber's backlog collapsed into one `reload`. */
  overflows: number;
  /** Subscriptions currently attached. */
  subscribers: number;
  /** Largest backlog among the subscribers, in commands. */
  backlog: number;
  /** Commands sent after `close()` and discarded (also counted in `sent`). */
  dropped: number;
}

/** One reader of the channel; dispose it (`using`) to detach. */
export interface ChannelSubscription extends AsyncIterable<AuthorizationCommand>, Disposable {
  /** Commands waiting for this subscriber. */
  readonly pending: number;
  /**
   * The next command, waiting until one is sent; `undefined` once the channel is closed and this
   * subscriber drained it, or after dispose. Aborting `signal` rejects with its reason and loses
   * no command.
   */
  next(opts?: { signal?: AbortSignal }): Promise<AuthorizationCommand | undefined>;
}

/** Broadcasts authorization commands to every subscriber, in order, with a bounded backlog each. */
export class AuthorizationChannel {
  readonly #core: ChannelCore;

  /** `capacity`: per-subscriber backlog bound in commands, an integer ≥ 1. Default 1024. */
  constructor(opts: { capacity?: number } = {}) {
    const capacity = opts.capacity ?? DEFAULT_CHANNEL_CAPACITY;
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Cannot create channel with capacity "${capacity}": need an integer ≥ 1`,
      );
    }
    this.#core = new ChannelCore(capacity);
  }

  /** Queues `command` for every subscriber; never blocks or throws. Dropped (and counted) after close. */
  send(command: AuthorizationCommand): void {
    const core = this.#core;
    core.sent++;
    if (core.closed) {
      core.dropped++;
      return;
    }
    core.ring[core.head % core.capacity] = command;
    core.head++;
    const subscriptions = core.subscriptions;
    for (let i = 0; i < subscriptions.length; i++) subscriptions[i]!.offer(command);
  }

  /** A new subscriber that sees the commands sent from now on. */
  subscribe(): ChannelSubscription {
    const subscription = new RingSubscription(this.#core);
    if (!this.#core.closed) this.#core.subscriptions.push(subscription);
    return subscription;
  }

  /** A snapshot of the counters; `backlog` is computed over the subscribers. */
  get stats(): ChannelStats {
    const core = this.#core;
    let backlog = 0;
    for (const subscription of core.subscriptions) {
      backlog = Math.max(backlog, subscription.pending);
    }
    return {
      sent: core.sent,
      delivered: core.delivered,
      overflows: core.overflows,
      subscribers: core.subscriptions.length,
      backlog,
      dropped: core.dropped,
    };
  }

  /** Stops accepting commands; each subscriber's iteration ends once it drained what was sent. */
  close(): void {
    if (this.#core.closed) return;
    this.#core.closed = true;
    for (const subscription of this.#core.subscriptions) subscription.wake();
  }
}
