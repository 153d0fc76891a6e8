/**
 * The listener's in-memory view of live authorizations, keyed by bunker pubkey, kept current by the
 * authorization channel. Start order (docs/ARCHITECTURE.md, "The admin flow"): subscribe to the channel
 * first, then load every active authorization from the database, then drain the channel — so a
 * `remove` sent while the snapshot loads is applied after it and still wins.
 */
import type { AuthorizationCommand } from "../channel/command.ts";
import type { ActiveAuthorization } from "../domain/authorization.ts";
import type { AuthorizationChannel, ChannelSubscription } from "../channel/channel.ts";
import type { Log } from "../log.ts";

/** Where the registry reads the full set of live authorizations (the database). */
export interface AuthorizationSource {
  loadActive(): Promise<ActiveAuthorization[]>;
}

/** Notified after each change, so the relay side can (un)subscribe bunker pubkeys. */
export interface RegistryObserver {
  /** `authorization` was added or replaced (`previous` is the old value, if any). */
  upserted(authorization: ActiveAuthorization, previous: ActiveAuthorization | undefined): void;
  /** The authorization with this bunker pubkey is gone. */
  removed(authorization: ActiveAuthorization): void;
}

/** Live authorizations by bunker pubkey, fed by the channel. */
export class AuthorizationRegistry implements AsyncDisposable {
  readonly #byBunker = new Map<string, ActiveAuthorization>();
  readonly #source: AuthorizationSource;
  readonly #log: Log;
  readonly #observers: RegistryObserver[] = [];
  readonly #waiters = new Map<string, Set<() => void>>();
  #subscription: ChannelSubscription | undefined;
  #loop: Promise<void> | undefined;
  #loaded = false;

  constructor(deps: { source: AuthorizationSource; log: Log }) {
    this.#source = deps.source;
    this.#log = deps.log;
  }

  /** Number of live authorizations held. */
  get size(): number {
    return this.#byBunker.size;
  }

  /** True once the startup snapshot is loaded. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** Commands received but not yet applied. */
  get pending(): number {
    return this.#subscription?.pending ?? 0;
  }

  /** The live authorization for a bunker pubkey. */
  get(bunkerPubkey: string): ActiveAuthorization | undefined {
    return this.#byBunker.get(bunkerPubkey);
  }

  /** Every live authorization. */
  all(): IterableIterator<ActiveAuthorization> {
    return this.#byBunker.values();
  }

  /**
   * Resolves true once an authorization with this bunker pubkey is held (the channel delivers
   * asynchronously), false when `signal` aborts first.
   */
  whenPresent(bunkerPubkey: string, signal: AbortSignal): Promise<boolean> {
    if (this.#byBunker.has(bunkerPubkey)) return Promise.resolve(true);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiters = this.#waiters.get(bunkerPubkey) ?? new Set();
      this.#waiters.set(bunkerPubkey, waiters);
      const settle = (present: boolean) => {
        signal.removeEventListener("abort", onAbort);
        waiters.delete(onPresent);
        if (waiters.size === 0) this.#waiters.delete(bunkerPubkey);
        resolve(present);
      };
      const onPresent = () => settle(true);
      const onAbort = () => settle(false);
      waiters.add(onPresent);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Registers an observer; existing authorizations are replayed to it at once. */
  observe(observer: RegistryObserver): void {
    this.#observers.push(observer);
    for (const authorization of this.#byBunker.values()) {
      observer.upserted(authorization, undefined);
    }
  }

  /** Subscribes to `channel`, loads the snapshot, then applies commands until disposed. */
  async start(channel: AuthorizationChannel): Promise<void> {
    if (this.#subscription) throw new Error("Cannot start the registry twice");
    this.#subscription = channel.subscribe();
    await this.#reload();
    this.#loaded = true;
    this.#loop = this.#drain(this.#subscription);
  }

  /** Applies one command (exposed for the listener's own writes and for tests). */
  async apply(command: AuthorizationCommand): Promise<void> {
    switch (command.type) {
      case "upsert": {
        const { authorization } = command;
        const previous = this.#byBunker.get(authorization.bunkerPubkey);
        this.#byBunker.set(authorization.bunkerPubkey, authorization);
        for (const observer of this.#observers) observer.upserted(authorization, previous);
        for (const waiter of [...(this.#waiters.get(authorization.bunkerPubkey) ?? [])]) waiter();
        return;
      }
      case "remove": {
        const previous = this.#byBunker.get(command.bunkerPubkey);
        if (!previous) return;
        this.#byBunker.delete(command.bunkerPubkey);
        for (const observer of this.#observers) observer.removed(previous);
        return;
      }
      case "reload":
        await this.#reload();
        return;
    }
  }

  async #reload(): Promise<void> {
    const snapshot = await this.#source.loadActive();
    const fresh = new Set<string>();
    for (const authorization of snapshot) {
      fresh.add(authorization.bunkerPubkey);
      await this.apply({ type: "upsert", authorization });
    }
    for (const bunkerPubkey of [...this.#byBunker.keys()]) {
      if (!fresh.has(bunkerPubkey)) await this.apply({ type: "remove", bunkerPubkey });
    }
    this.#log({
      level: "info",
      ns: "nip46.registry",
      msg: "Loaded authorizations",
      count: fresh.size,
    });
  }

  async #drain(subscription: ChannelSubscription): Promise<void> {
    for await (const command of subscription) {
      try {
        await this.apply(command);
      } catch (error) {
        // The database is the source of truth: a failed reload is retried by the next reload.
        this.#log({
          level: "error",
          ns: "nip46.registry",
          msg: "Cannot apply command",
          type: command.type,
          error,
        });
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#subscription?.[Symbol.dispose]();
    await this.#loop;
  }
}
