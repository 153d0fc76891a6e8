/**
 * Wires the registry of live authorizations to the relay pool and the listener: each upsert
 * watches the authorization's bunker pubkey on its relays, each remove keeps it watched for a grace
 * period as a tombstone (so a connected client hears `revoked: …` instead of silence), then
 * unwatches it.
 */
import type { ActiveAuthorization, AuthorizedClient } from "../domain/authorization.ts";
import type { ListenerDirectory } from "./listener_types.ts";
import type { AuthorizationRegistry } from "./registry.ts";

/** The part of the relay pool the engine drives. */
export interface WatchTarget {
  /** Subscribes to requests for `bunkerPubkey` on `relays`. */
  watch(bunkerPubkey: string, relays: readonly string[]): void;
  /** Ends the subscription for `bunkerPubkey`. */
  unwatch(bunkerPubkey: string): void;
}

/** How long a removed authorization still gets `revoked` replies, in ms. Default 10 minutes. */
export const TOMBSTONE_MS = 600_000;

/** Keeps relay subscriptions in step with the registry and serves the listener's lookups. */
export class AuthorizationDirectory implements ListenerDirectory, Disposable {
  readonly #registry: AuthorizationRegistry;
  readonly #relays: WatchTarget;
  readonly #defaultRelays: readonly string[];
  readonly #tombstones = new Map<string, { authorization: ActiveAuthorization; until: number }>();
  readonly #now: () => number;
  readonly #sweeper: ReturnType<typeof setInterval>;
  readonly #onRemoved: (authorization: ActiveAuthorization) => void;

  constructor(opts: {
    /** The live authorizations, observed from construction on. */
    registry: AuthorizationRegistry;
    /** Where bunker pubkeys are (un)watched. */
    relays: WatchTarget;
    /** Relays for authorizations that name none (the server's `--relay` list). */
    defaultRelays: readonly string[];
    /** Clock in ms. Default `Date.now`. */
    now?: () => number;
    /** How long a removed authorization keeps answering `revoked`, in ms. Default 10 minutes. */
    tombstoneMs?: number;
    /** Called when an authorization is removed (e.g. to forget its compiled policy). */
    onRemoved?: (authorization: ActiveAuthorization) => void;
  }) {
    this.#registry = opts.registry;
    this.#relays = opts.relays;
    this.#defaultRelays = opts.defaultRelays;
    this.#now = opts.now ?? Date.now;
    this.#onRemoved = opts.onRemoved ?? (() => {});
    const tombstoneMs = opts.tombstoneMs ?? TOMBSTONE_MS;
    this.#sweeper = setInterval(() => this.sweep(), Math.min(30_000, tombstoneMs));
    opts.registry.observe({
      upserted: (authorization) => {
        this.#tombstones.delete(authorization.bunkerPubkey);
        this.#relays.watch(authorization.bunkerPubkey, this.relaysOf(authorization));
      },
      removed: (authorization) => {
        this.#tombstones.set(authorization.bunkerPubkey, {
          authorization,
          until: this.#now() + tombstoneMs,
        });
        this.#onRemoved(authorization);
      },
    });
  }

  /** The relays an authorization is served on: its own, else the server's `--relay` list. */
  relaysOf(authorization: ActiveAuthorization): string[] {
    return authorization.relays.length > 0 ? authorization.relays : [...this.#defaultRelays];
  }

  /** The live authorization for `bunkerPubkey`. */
  get(bunkerPubkey: string): ActiveAuthorization | undefined {
    return this.#registry.get(bunkerPubkey);
  }

  /** The removed authorization of `bunkerPubkey`, until a sweep after its tombstone expires. */
  removed(bunkerPubkey: string): ActiveAuthorization | undefined {
    return this.#tombstones.get(bunkerPubkey)?.authorization;
  }

  /** Replaces `client`'s entry on the newest copy of the authorization (no-op once it is gone). */
  setClient(bunkerPubkey: string, client: AuthorizedClient): void {
    const latest = this.#registry.get(bunkerPubkey);
    if (!latest) return;
    const others = latest.clients.filter((c) => c.clientPubkey !== client.clientPubkey);
    void this.#registry.apply({
      type: "upsert",
      authorization: { ...latest, clients: [...others, client] },
    });
  }

  /**
   * Forgets expired tombstones and unwatches their bunker pubkeys unless re-added since. Runs by
   * itself every `min(30 s, tombstoneMs)`; exposed so tests need not wait for the interval.
   */
  sweep(): void {
    const now = this.#now();
    for (const [bunkerPubkey, tombstone] of this.#tombstones) {
      if (tombstone.until > now) continue;
      this.#tombstones.delete(bunkerPubkey);
      if (!this.#registry.get(bunkerPubkey)) this.#relays.unwatch(bunkerPubkey);
    }
  }

  /** Stops the periodic sweep. */
  [Symbol.dispose](): void {
    clearInterval(this.#sweeper);
  }
}
