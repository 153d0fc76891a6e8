/**
 * The endpoint's live state: sessions by bunker pubkey, connections per client address, the short
 * replay window of replies, and the counters. Requests go to the listener through `submit`;
 * replies come back through {@link RelayHub.publish} (the routing publisher calls it for every
 * reply) and reach the matching subscriptions on that bunker's path. Nothing is stored beyond the
 * replay window ({@link REPLAY_WINDOW_MS}, at most {@link REPLAY_PER_BUNKER} per bunker).
 */
import { verifyEvent } from "nostr-tools/pure";
import type { ActiveAuthorization } from "../domain/authorization.ts";
import type { Log } from "../log.ts";
import type { NostrEvent } from "../nostr/event.ts";
import { NIP46_KIND } from "../nostr/kinds.ts";
import { authProblem } from "./auth.ts";
import {
  CLOSE_CODES,
  type Refusal,
  RelaySession,
  type RelaySocket,
  type SessionHost,
} from "./session.ts";
import {
  MAX_CONNECTIONS,
  type RelayServerSettings,
  REPLAY_PER_BUNKER,
  REPLAY_WINDOW_MS,
} from "./settings.ts";
import type { LocalRelayUrls } from "./urls.ts";

/** Dependencies and settings of the {@link RelayHub}. */
export interface RelayHubOptions {
  settings: RelayServerSettings;
  urls: LocalRelayUrls;
  /** The live authorizations (the listener's registry). */
  authorizations: { get(bunkerPubkey: string): ActiveAuthorization | undefined };
  /** Hands a request to the listener, with the relay URL it came in on. */
  submit: (event: NostrEvent, relayUrl: string) => void;
  log: Log;
  /** Clock in ms. Default `Date.now`. */
  now?: () => number;
  /** Checks an AUTH event's id and signature. Default nostr-tools' `verifyEvent`. */
  verify?: (event: NostrEvent) => boolean;
  /** How often idle connections and old replies are swept, in ms; 0 = never (tests). Default 5_000. */
  sweepIntervalMs?: number;
}

/** Counters of the endpoint, for /health and /metrics; the totals only grow. */
export interface RelayServerStats {
  /** Open connections. */
  connections: number;
  /** Open connections that authenticated at least one pubkey. */
  authenticatedConnections: number;
  /** Connections opened, in total. */
  opened: number;
  /** Messages received, in total. */
  messages: number;
  /** Replies delivered to subscriptions, in total. */
  delivered: number;
  /** Upgrades refused before the socket opened (unknown path or per-address cap), in total. */
  rejectedUpgrades: number;
  /** Refusals and closes by reason, in total. */
  refusals: Record<Refusal, number>;
}

/** Every session of the endpoint. */
export class RelayHub implements Disposable {
  readonly #o: RelayHubOptions;
  readonly #now: () => number;
  readonly #verify: (event: NostrEvent) => boolean;
  readonly #byBunker = new Map<string, Set<RelaySession>>();
  readonly #perAddress = new Map<string, number>();
  /** Sessions open now. */
  #open = 0;
  readonly #recent = new Map<string, { at: number; event: NostrEvent }[]>();
  readonly #sweeper: ReturnType<typeof setInterval> | undefined;
  readonly #totals = {
    opened: 0,
    messages: 0,
    delivered: 0,
    rejectedUpgrades: 0,
    refusals: {
      auth: 0,
      rate: 0,
      size: 0,
      subscriptions: 0,
      idle: 0,
      slow: 0,
      invalid: 0,
      restricted: 0,
      revoked: 0,
      connections: 0,
    } as Record<Refusal, number>,
  };
  readonly #host: SessionHost;
  #closed = false;

  constructor(opts: RelayHubOptions) {
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
    this.#verify = opts.verify ?? ((event) => verifyEvent(event));
    this.#host = {
      settings: opts.settings,
      now: () => this.#now(),
      authProblem: (bunkerPubkey, pubkey) =>
        authProblem(this.#o.authorizations.get(bunkerPubkey), pubkey),
      verify: (event) => this.#verify(event),
      submit: (event, relayUrl) => this.#o.submit(event, relayUrl),
      recent: (bunkerPubkey) => this.#fresh(bunkerPubkey, this.#now()),
      refused: (reason) => void this.#totals.refusals[reason]++,
      received: () => void this.#totals.messages++,
      ended: (session) => this.#ended(session),
    };
    const every = opts.sweepIntervalMs ?? 5_000;
    if (every > 0) this.#sweeper = setInterval(() => this.sweep(), every);
  }

  /** The endpoint's settings. */
  get settings(): RelayServerSettings {
    return this.#o.settings;
  }

  /** True when `bunkerPubkey` has a live authorization (its path may be opened). */
  serves(bunkerPubkey: string): boolean {
    return !this.#closed && this.#o.authorizations.get(bunkerPubkey) !== undefined;
  }

  /**
   * Why a connection from `address` cannot open now (its address's cap, or the endpoint's overall
   * {@link MAX_CONNECTIONS}), or undefined when it can.
   */
  refusal(address: string): string | undefined {
    if (this.#open >= MAX_CONNECTIONS) {
      return `the relay holds ${MAX_CONNECTIONS} connections, its most at once`;
    }
    if ((this.#perAddress.get(address) ?? 0) >= this.#o.settings.maxConnectionsPerIp) {
      return `at most ${this.#o.settings.maxConnectionsPerIp} at once (--relay-max-connections-per-ip)`;
    }
    return undefined;
  }

  /** Counts an upgrade refused before the socket opened (`cap`: by the per-address cap). */
  rejectedUpgrade(cap: boolean): void {
    this.#totals.rejectedUpgrades++;
    if (cap) this.#totals.refusals.connections++;
  }

  /** A new session on the path of `bunkerPubkey`; call `open()` on it once the socket is open. */
  attach(bunkerPubkey: string, address: string, socket: RelaySocket): RelaySession {
    const session = new RelaySession(
      { bunkerPubkey, address, url: this.#o.urls.urlFor(bunkerPubkey) },
      socket,
      this.#host,
    );
    const sessions = this.#byBunker.get(bunkerPubkey) ?? new Set();
    sessions.add(session);
    this.#byBunker.set(bunkerPubkey, sessions);
    this.#perAddress.set(address, (this.#perAddress.get(address) ?? 0) + 1);
    this.#open++;
    this.#totals.opened++;
    return session;
  }

  /** Keeps a reply for the replay window and delivers it on its bunker's path. */
  publish(event: NostrEvent): void {
    if (this.#closed || event.kind !== NIP46_KIND) return;
    const bunkerPubkey = event.pubkey;
    if (!this.#o.authorizations.get(bunkerPubkey) && !this.#byBunker.has(bunkerPubkey)) return;
    const now = this.#now();
    const kept = this.#fresh(bunkerPubkey, now);
    kept.push({ at: now, event });
    if (kept.length > REPLAY_PER_BUNKER) kept.splice(0, kept.length - REPLAY_PER_BUNKER);
    this.#recent.set(bunkerPubkey, kept);
    for (const session of this.#byBunker.get(bunkerPubkey) ?? []) {
      this.#totals.delivered += session.deliver(event);
    }
  }

  /** Ends every session on the path of a revoked authorization, at once. */
  revoke(bunkerPubkey: string): void {
    this.#recent.delete(bunkerPubkey);
    for (const session of [...(this.#byBunker.get(bunkerPubkey) ?? [])]) {
      this.#totals.refusals.revoked++;
      session.end("revoked: the authorization was revoked");
    }
  }

  /** Closes idle sessions and forgets replies past the window. Runs by itself every 5 s. */
  sweep(): void {
    const now = this.#now();
    for (const sessions of [...this.#byBunker.values()]) {
      for (const session of [...sessions]) session.closeIfIdle(now);
    }
    for (const bunkerPubkey of [...this.#recent.keys()]) this.#fresh(bunkerPubkey, now);
  }

  /** The counters. */
  stats(): RelayServerStats {
    let connections = 0;
    let authenticatedConnections = 0;
    for (const sessions of this.#byBunker.values()) {
      for (const session of sessions) {
        connections++;
        if (session.authenticated.size > 0) authenticatedConnections++;
      }
    }
    const { refusals, ...totals } = this.#totals;
    return { connections, authenticatedConnections, ...totals, refusals: { ...refusals } };
  }

  /** Closes every session (going away) and stops the sweep. */
  [Symbol.dispose](): void {
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const sessions of [...this.#byBunker.values()]) {
      for (const session of [...sessions]) {
        session.close(CLOSE_CODES.goingAway, "server shutting down");
      }
    }
    this.#recent.clear();
  }

  /** The replies of `bunkerPubkey` still in the window (pruned in place). */
  #fresh(bunkerPubkey: string, now: number): { at: number; event: NostrEvent }[] {
    const kept = this.#recent.get(bunkerPubkey) ?? [];
    const first = kept.findIndex((entry) => now - entry.at < REPLAY_WINDOW_MS);
    const fresh = first === -1 ? [] : first === 0 ? kept : kept.slice(first);
    if (fresh.length === 0) this.#recent.delete(bunkerPubkey);
    else if (fresh !== kept) this.#recent.set(bunkerPubkey, fresh);
    return fresh;
  }

  #ended(session: RelaySession): void {
    const sessions = this.#byBunker.get(session.bunkerPubkey);
    if (sessions?.delete(session) && sessions.size === 0) {
      this.#byBunker.delete(session.bunkerPubkey);
    }
    this.#open = Math.max(0, this.#open - 1);
    const count = (this.#perAddress.get(session.address) ?? 1) - 1;
    if (count <= 0) this.#perAddress.delete(session.address);
    else this.#perAddress.set(session.address, count);
  }
}
