/**
 * Internals of `AuthorizationChannel`: the shared ring buffer and one reader's cursor over it.
 * Not part of the public API; import the channel from `./channel.ts`.
 *
 * The channel writes each command once into a ring of `capacity` slots; every subscription keeps
 * only a cursor (the sequence number of its next command). A subscription whose backlog would pass
 * `capacity` drops its cursor to the head and raises a `reload` flag instead, so the slot it would
 * still need is never overwritten and its backlog is at most `capacity` entries.
 */
import type { ChannelSubscription } from "./channel.ts";
import type { AuthorizationCommand } from "./command.ts";

interface Waiter {
  resolve(command: AuthorizationCommand | undefined): void;
}

/** State shared by a channel and its subscriptions; counters feed `AuthorizationChannel.stats`. */
export class ChannelCore {
  /** Slot `seq % capacity` holds the command with sequence number `seq`. */
  readonly ring: (AuthorizationCommand | undefined)[];
  /** Sequence number the next command will get (= commands written so far). */
  head = 0;
  /** True once the channel is closed; nothing more is written. */
  closed = false;
  /** Calls to `send`, including those dropped after close. */
  sent = 0;
  /** Commands handed to subscribers (each subscriber counts), reloads included. */
  delivered = 0;
  /** Times a subscriber's backlog collapsed into a `reload`. */
  overflows = 0;
  /** Commands sent after close and discarded. */
  dropped = 0;
  /** Attached subscriptions; an array so `send` iterates without allocating. */
  readonly subscriptions: RingSubscription[] = [];

  /** `capacity` is the per-subscriber bound and the ring size. */
  constructor(readonly capacity: number) {
    this.ring = new Array(capacity);
  }
}

/** One subscriber's cursor over the shared ring, with its waiting `next()` calls. */
export class RingSubscription implements ChannelSubscription {
  readonly #core: ChannelCore;
  #cursor: number;
  #reload = false;
  #detached = false;
  readonly #waiters: Waiter[] = [];

  /** Starts at the channel's head: only commands sent from now on are seen. */
  constructor(core: ChannelCore) {
    this.#core = core;
    this.#cursor = core.head;
  }

  /** Commands waiting for this subscriber (a pending `reload` counts as one). */
  get pending(): number {
    if (this.#detached) return 0;
    return (this.#reload ? 1 : 0) + this.#core.head - this.#cursor;
  }

  /** Called by the channel right after it wrote `command` at `head - 1`. */
  offer(command: AuthorizationCommand): void {
    const waiter = this.#waiters.shift();
    if (waiter) {
      // A waiter exists only when nothing was pending, so this command is the only one unread.
      this.#cursor = this.#core.head;
      this.#core.delivered++;
      waiter.resolve(command);
    } else if (this.pending > this.#core.capacity) {
      this.#cursor = this.#core.head;
      this.#reload = true;
      this.#core.overflows++;
    }
  }

  /** Ends waiting `next()` calls with `undefined` (after close or dispose: nothing is pending). */
  wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(undefined);
  }

  /** The next command, waiting for one; `undefined` once closed and drained, or disposed. */
  next(opts: { signal?: AbortSignal } = {}): Promise<AuthorizationCommand | undefined> {
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const command = this.#take();
    if (command || this.#detached || this.#core.closed) return Promise.resolve(command);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        resolve: (next) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(next);
        },
      };
      this.#waiters.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Iterates until the channel is closed and drained; leaving the loop early disposes. */
  async *[Symbol.asyncIterator](): AsyncGenerator<AuthorizationCommand, void, undefined> {
    try {
      for (;;) {
        const command = await this.next();
        if (command === undefined) return;
        yield command;
      }
    } finally {
      this[Symbol.dispose]();
    }
  }

  /** Detaches from the channel: pending commands are dropped and `next()` returns `undefined`. */
  [Symbol.dispose](): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#reload = false;
    const index = this.#core.subscriptions.indexOf(this);
    if (index >= 0) this.#core.subscriptions.splice(index, 1);
    this.wake();
  }

  /** Takes the next pending command without waiting. */
  #take(): AuthorizationCommand | undefined {
    if (this.#detached) return undefined;
    if (this.#reload) {
      this.#reload = false;
      this.#core.delivered++;
      return { type: "reload" };
    }
    if (this.#cursor === this.#core.head) return undefined;
    const command = this.#core.ring[this.#cursor % this.#core.capacity];
    this.#cursor++;
    this.#core.delivered++;
    return command;
  }
}
