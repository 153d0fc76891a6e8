/**
 * Everything about one relay URL: the placement of its bunker pubkeys into REQs, the connections
 * that carry them, the REQ life cycle (EOSE, CLOSED, retries, NIP-42) and the dispatch of relay
 * messages. It never awaits another relay, so a dead relay cannot slow the others.
 */
import type { Log } from "../log.ts";
import { Authenticator } from "./auth.ts";
import type { BackoffOptions } from "./backoff.ts";
import { type ConnectionOptions, RelayConnection, shortReason } from "./connection.ts";
import { type LayoutLimits, SubscriptionLayout } from "./layout.ts";
import { Subscriptions } from "./subscriptions.ts";
import type { RelayStatus, SignAuth } from "./types.ts";
import { redactRelayUrl } from "../nostr/relay_url.ts";

/** Settings of a {@link Relay}, derived from the pool options. */
export interface RelaySettings {
  /** Structured logger. */
  log: Log;
  /** Receives each raw event with the relay URL. */
  onEvent: (event: unknown, relayUrl: string) => void;
  /** Called when a REQ was answered with EOSE (ready() waiters re-check). */
  onCovered: () => void;
  /** Signs NIP-42 AUTH events. */
  signAuth?: SignAuth;
  /** `since` = now − this, in seconds. */
  windowSeconds: number;
  /** REQ packing limits. */
  limits: LayoutLimits;
  /** Socket settings shared by every connection. */
  connection: Omit<ConnectionOptions, "url" | "index" | "log" | "onOpen" | "onMessage" | "onDown">;
  /** REQ retry backoff. */
  backoff: Required<BackoffOptions>;
  /** Time allowed for NIP-42, in ms. */
  authTimeoutMs: number;
  /** Most pubkeys authenticated per challenge. */
  maxAuthPerChallenge: number;
  /** Aborted when the pool closes. */
  signal: AbortSignal;
}

/** One relay URL and its connections. */
export class Relay {
  /** Normalized URL. */
  readonly url: string;
  /** Placement of this relay's bunker pubkeys. */
  readonly layout: SubscriptionLayout;
  /** NIP-42 state of this relay's connections. */
  readonly auth: Authenticator;
  /** publish() calls in progress (keep connection 0 open). */
  pendingPublishes = 0;
  /** Last error, CLOSED or NOTICE reason. */
  lastError?: string;
  /** When the last EVENT arrived, in ms since the epoch. */
  lastEventAt?: number;
  readonly #s: RelaySettings;
  readonly #logUrl: string;
  readonly #conns: (RelayConnection | undefined)[] = [];
  readonly #subs: Subscriptions;
  readonly #stopping = new Set<Promise<void>>();
  #reconnectsOfStopped = 0;
  #closed = false;

  /** Opens nothing until {@link sync}. */
  constructor(url: string, settings: RelaySettings) {
    this.url = url;
    this.#s = settings;
    this.#logUrl = redactRelayUrl(url);
    this.layout = new SubscriptionLayout(settings.limits);
    this.auth = new Authenticator({
      url,
      log: settings.log,
      signAuth: settings.signAuth,
      maxAuthPerChallenge: settings.maxAuthPerChallenge,
    });
    this.#subs = new Subscriptions({
      logUrl: this.#logUrl,
      log: settings.log,
      windowSeconds: settings.windowSeconds,
      backoff: settings.backoff,
      authTimeoutMs: settings.authTimeoutMs,
      canAuthenticate: settings.signAuth !== undefined,
      signal: settings.signal,
      layout: this.layout,
      auth: this.auth,
      connection: (index) => this.#conns[index],
      onCovered: settings.onCovered,
      onError: (reason) => (this.lastError = reason),
    });
  }

  /** True when nothing is watched or being published here. */
  get idle(): boolean {
    return this.layout.size === 0 && this.pendingPublishes === 0;
  }

  /** Opens the connections the layout needs, closes the others, and sends changed REQs. */
  sync(): void {
    if (this.#closed) return;
    const count = Math.max(1, this.layout.connectionCount, this.#conns.length);
    for (let k = 0; k < count; k++) {
      const needed = k === 0 || this.layout.connectionNeeded(k);
      const conn = this.#conns[k];
      if (needed && !conn) this.#conns[k] = this.#openConnection(k);
      if (!needed && conn) this.#stopConnection(k);
    }
    while (this.#conns.length > 0 && this.#conns.at(-1) === undefined) this.#conns.pop();
    for (const slot of this.layout.takeDirty()) this.#subs.send(slot);
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** A connection to publish on: an open one if any, else connection 0 (started); none if closed. */
  publishConnection(): RelayConnection | undefined {
    if (this.#closed) return undefined;
    const open = this.#conns.find((c) => c?.isOpen);
    if (open) return open;
    if (!this.#conns[0]) this.#conns[0] = this.#openConnection(0);
    return this.#conns[0];
  }

  /** True when a REQ covering `bunkerPubkey` is open on an open socket and answered EOSE. */
  covers(bunkerPubkey: string): boolean {
    return this.#subs.covers(bunkerPubkey);
  }

  /** Status for `/health`. */
  status(): RelayStatus {
    const conns = this.#conns.filter((c): c is RelayConnection => c !== undefined);
    return {
      url: this.#logUrl,
      connected: conns.length > 0 && conns.every((c) => c.isOpen),
      subscribed: this.layout.size > 0 && this.#subs.allCovered,
      pubkeys: this.layout.size,
      connections: conns.length,
      reconnects: this.#reconnectsOfStopped + conns.reduce((n, c) => n + c.reconnects, 0),
      lastError: this.lastError,
      lastEventAt: this.lastEventAt,
    };
  }

  /** Closes every connection and clears every timer. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#subs.close();
    for (let k = 0; k < this.#conns.length; k++) this.#stopConnection(k);
    while (this.#stopping.size > 0) await Promise.all([...this.#stopping]);
  }

  /** Authenticates `bunkerPubkey` on `conn` after an EVENT got OK false `auth-required:`. */
  authenticateFor(conn: RelayConnection, bunkerPubkey: string, deadline: number): Promise<number> {
    this.#subs.markAuthNeeded();
    return this.auth.authenticate(conn, [bunkerPubkey], deadline, this.#s.signal);
  }

  #openConnection(index: number): RelayConnection {
    const conn = new RelayConnection({
      ...this.#s.connection,
      url: this.url,
      index,
      log: this.#s.log,
      onOpen: (c) => this.#subs.onOpen(c),
      onMessage: (c, message) => this.#onMessage(c, message),
      onDown: (c, reason) => {
        this.lastError = reason;
        this.#subs.onDown(c);
      },
    });
    conn.start();
    return conn;
  }

  #stopConnection(index: number): void {
    const conn = this.#conns[index];
    if (!conn) return;
    this.#conns[index] = undefined;
    this.#reconnectsOfStopped += conn.reconnects;
    const stopping = conn.stop().finally(() => this.#stopping.delete(stopping));
    this.#stopping.add(stopping);
  }

  #onMessage(conn: RelayConnection, message: unknown[]): void {
    const [type, a, b, c] = message;
    switch (type) {
      case "EVENT":
        return this.#onEvent(conn, a, b);
      case "EOSE":
        return this.#subs.onEose(a);
      case "CLOSED":
        return this.#subs.onClosed(conn, a, b);
      case "OK":
        if (typeof a !== "string" || typeof b !== "boolean") return this.#ignored(type);
        conn.okWaiters.resolve(a, b, typeof c === "string" ? c : "");
        return;
      case "NOTICE": {
        const notice = shortReason(String(a));
        this.lastError = `NOTICE: ${notice}`;
        const url = this.#logUrl;
        this.#s.log({ level: "warn", ns: "relay.pool", msg: "Relay NOTICE", url, notice });
        return;
      }
      case "AUTH":
        if (!this.auth.setChallenge(conn, a)) return this.#ignored(type);
        return this.#subs.onChallenge(conn);
      default:
        return this.#ignored(String(type).slice(0, 16));
    }
  }

  #onEvent(conn: RelayConnection, subId: unknown, event: unknown): void {
    if (typeof subId !== "string" || typeof event !== "object" || event === null) {
      return this.#ignored("EVENT");
    }
    const id = (event as { id?: unknown }).id;
    if (typeof id === "string" && !conn.seenIds.add(id)) return;
    this.lastEventAt = Date.now();
    this.#s.onEvent(event, this.url);
  }

  #ignored(type: string): void {
    const url = this.#logUrl;
    this.#s.log({ level: "debug", ns: "relay.pool", msg: "Ignored relay message", url, type });
  }
}
