/**
 * The relay pool: one set of WebSockets per relay URL shared by every bunker pubkey, NIP-46
 * subscriptions packed into few REQs and updated incrementally, publish-with-OK and NIP-42.
 *
 * watch()/unwatch() only record the change; a short flush timer sends the changed REQs, so a
 * thousand calls in a row cost a handful of messages. Events go to `onEvent` unverified.
 */
import { isHex64 } from "../util/hex.ts";
import { relaySettings, type ResolvedOptions, resolveOptions } from "./options.ts";
import { publishToRelay } from "./publish.ts";
import { Relay } from "./relay.ts";
import type { NostrEvent, PublishResult, RelayPoolOptions, RelayStatus, Timer } from "./types.ts";
import { parseRelayUrl } from "../nostr/relay_url.ts";

/** Options of {@link RelayPool.ready}. */
export interface ReadyOptions {
  /** Stops waiting (resolves false). */
  signal?: AbortSignal;
  /** Longest wait, in ms. Default: the pool's `readyTimeoutMs` (10_000). */
  timeoutMs?: number;
}

/** Options of {@link RelayPool.publish}. */
export interface PublishOptions {
  /** Longest wait for all relays, in ms. Default: the pool's `publishTimeoutMs` (10_000). */
  timeoutMs?: number;
  /** Stops retrying; pending relays report `aborted: …`. */
  signal?: AbortSignal;
  /** Called with each relay's result as soon as it is known. */
  onResult?: (result: PublishResult) => void;
}

/** Longest timeout accepted by ready() and publish(), in ms (one day). */
const MAX_TIMEOUT_MS = 86_400_000;

interface ReadyWaiter {
  bunkerPubkey: string;
  done(ready: boolean): void;
}

/** Connections to relays, shared by all bunker pubkeys. */
export class RelayPool implements AsyncDisposable {
  readonly #o: ResolvedOptions;
  readonly #relays = new Map<string, Relay>();
  readonly #watched = new Map<string, Set<string>>();
  readonly #dirty = new Set<Relay>();
  readonly #waiters = new Set<ReadyWaiter>();
  readonly #idleTimers = new Map<Relay, Timer>();
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #retiring = new Set<Promise<void>>();
  readonly #closing = new AbortController();
  #flushTimer?: Timer;
  #closed?: Promise<void>;

  /** Opens nothing until the first watch() or publish(). Throws a `RangeError` on bad options. */
  constructor(opts: RelayPoolOptions) {
    this.#o = resolveOptions(opts);
  }

  /** Subscribes `bunkerPubkey` on `relays`, replacing its previous relay set. */
  watch(bunkerPubkey: string, relays: readonly string[]): void {
    this.#assertOpen("watch");
    if (!isHex64(bunkerPubkey)) {
      throw new TypeError(
        `Cannot watch bunker pubkey "${String(bunkerPubkey).slice(0, 80)}": need 64 lowercase hex`,
      );
    }
    const next = this.#normalize(relays);
    const previous = this.#watched.get(bunkerPubkey) ?? new Set<string>();
    for (const url of previous) {
      if (next.has(url)) continue;
      const relay = this.#relays.get(url);
      if (relay?.layout.remove(bunkerPubkey)) this.#dirty.add(relay);
    }
    for (const url of next) {
      if (previous.has(url)) continue;
      const relay = this.#relay(url);
      if (relay.layout.add(bunkerPubkey)) this.#dirty.add(relay);
    }
    if (next.size > 0) this.#watched.set(bunkerPubkey, next);
    else this.#watched.delete(bunkerPubkey);
    this.#scheduleFlush();
    this.#checkWaiters();
  }

  /** Stops watching `bunkerPubkey` everywhere (no-op when not watched). */
  unwatch(bunkerPubkey: string): void {
    if (this.#closed || !this.#watched.has(bunkerPubkey)) return;
    this.watch(bunkerPubkey, []);
  }

  /** Relay URLs `bunkerPubkey` is watched on (normalized). */
  relaysOf(bunkerPubkey: string): string[] {
    return [...(this.#watched.get(bunkerPubkey) ?? [])];
  }

  /**
   * Resolves true once a REQ covering `bunkerPubkey` is open on at least one connected relay and
   * that relay answered EOSE; false when it is not watched anywhere, on timeout, on abort and
   * when the pool closes.
   */
  ready(bunkerPubkey: string, opts: ReadyOptions = {}): Promise<boolean> {
    if (this.#closed || !this.#watched.has(bunkerPubkey)) return Promise.resolve(false);
    if (this.#covered(bunkerPubkey)) return Promise.resolve(true);
    const { signal } = opts;
    if (signal?.aborted) return Promise.resolve(false);
    const timeoutMs = Math.min(
      Math.max(0, opts.timeoutMs ?? this.#o.readyTimeoutMs),
      MAX_TIMEOUT_MS,
    );
    return new Promise<boolean>((resolve) => {
      const waiter: ReadyWaiter = {
        bunkerPubkey,
        done: (ready) => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          this.#waiters.delete(waiter);
          resolve(ready);
        },
      };
      const onAbort = () => waiter.done(false);
      const timer = setTimeout(() => waiter.done(false), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /**
   * Publishes `event` to every relay in `relays` and waits for each relay's OK (retrying while a
   * relay is down or answers a transient refusal) until the timeout. One result per distinct
   * relay, in order; never rejects except for a malformed event.
   */
  publish(
    event: NostrEvent,
    relays: readonly string[],
    opts: PublishOptions = {},
  ): Promise<PublishResult[]> {
    if (!isHex64(event?.id) || !isHex64(event?.pubkey)) {
      return Promise.reject(new TypeError("Cannot publish event: id and pubkey must be 64 hex"));
    }
    const urls = [...this.#normalize(relays)];
    if (this.#closed) {
      return Promise.resolve(
        urls.map((url) => ({ url, ok: false, message: "closed: relay pool is closing" })),
      );
    }
    const timeoutMs = opts.timeoutMs ?? this.#o.publishTimeoutMs;
    if (!(Number.isSafeInteger(timeoutMs) && timeoutMs >= 0 && timeoutMs <= MAX_TIMEOUT_MS)) {
      return Promise.reject(
        new RangeError(`Cannot publish with timeoutMs "${timeoutMs}": need 0 to ${MAX_TIMEOUT_MS}`),
      );
    }
    const signal = opts.signal
      ? AbortSignal.any([opts.signal, this.#closing.signal])
      : this.#closing.signal;
    const run = { deadline: Date.now() + timeoutMs, timeoutMs, signal, backoff: this.#o.backoff };
    const all = Promise.all(urls.map(async (url) => {
      const relay = this.#relay(url);
      relay.sync();
      const result = await publishToRelay(relay, event, run);
      this.#checkIdle(relay);
      opts.onResult?.(result);
      return result;
    }));
    this.#inflight.add(all);
    return all.finally(() => this.#inflight.delete(all));
  }

  /** State of every relay in use, sorted by URL. */
  status(): RelayStatus[] {
    return [...this.#relays.values()].map((r) => r.status()).sort((a, b) =>
      a.url < b.url ? -1 : a.url > b.url ? 1 : 0
    );
  }

  /** Closes every socket, ends pending ready() and publish() calls and clears every timer. */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    clearTimeout(this.#flushTimer);
    for (const timer of this.#idleTimers.values()) clearTimeout(timer);
    this.#idleTimers.clear();
    this.#closing.abort();
    for (const waiter of [...this.#waiters]) waiter.done(false);
    const relays = [...this.#relays.values()];
    this.#relays.clear();
    await Promise.all([...relays.map((r) => r.close()), ...this.#retiring]);
    await Promise.allSettled([...this.#inflight]);
  }

  #assertOpen(what: string): void {
    if (this.#closed) throw new Error(`Cannot ${what}: the relay pool is closed`);
  }

  #normalize(relays: readonly string[]): Set<string> {
    const out = new Set<string>();
    for (const input of relays) {
      try {
        out.add(parseRelayUrl(input));
      } catch (error: unknown) {
        this.#o.log({ level: "warn", ns: "relay.pool", msg: "Skipped invalid relay URL", error });
      }
    }
    return out;
  }

  #relay(url: string): Relay {
    let relay = this.#relays.get(url);
    if (!relay) {
      const hooks = { onCovered: () => this.#checkWaiters(), signal: this.#closing.signal };
      relay = new Relay(url, relaySettings(this.#o, hooks));
      this.#relays.set(url, relay);
    }
    clearTimeout(this.#idleTimers.get(relay));
    this.#idleTimers.delete(relay);
    return relay;
  }

  #scheduleFlush(): void {
    if (this.#flushTimer !== undefined || this.#dirty.size === 0) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      const relays = [...this.#dirty];
      this.#dirty.clear();
      for (const relay of relays) {
        relay.sync();
        this.#checkIdle(relay);
      }
      this.#checkWaiters();
    }, this.#o.flushDelayMs);
  }

  #checkIdle(relay: Relay): void {
    if (this.#closed || !relay.idle || this.#idleTimers.has(relay)) return;
    if (this.#relays.get(relay.url) !== relay) return;
    this.#idleTimers.set(
      relay,
      setTimeout(() => {
        this.#idleTimers.delete(relay);
        if (!relay.idle || this.#closed) return;
        this.#relays.delete(relay.url);
        const retiring = relay.close().finally(() => this.#retiring.delete(retiring));
        this.#retiring.add(retiring);
      }, this.#o.idleCloseMs),
    );
  }

  #covered(bunkerPubkey: string): boolean {
    const urls = this.#watched.get(bunkerPubkey);
    if (!urls) return false;
    for (const url of urls) if (this.#relays.get(url)?.covers(bunkerPubkey)) return true;
    return false;
  }

  #checkWaiters(): void {
    for (const waiter of [...this.#waiters]) {
      if (!this.#watched.has(waiter.bunkerPubkey)) waiter.done(false);
      else if (this.#covered(waiter.bunkerPubkey)) waiter.done(true);
    }
  }
}
