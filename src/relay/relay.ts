/**
 * Everything about one relay URL: the placement of its bunker pubkeys into REQs, the connections
 * that carry them, the REQ life cycle (EOSE, CLOSED, retries, NIP-42) and the dispatch of relay
 * messages. It never awaits another relay, so a dead relay cannot slow the others.
 */
import type { Log } from "../log.ts";
import { Authenticator } from "./auth.ts";
import { backoffDelay, type BackoffOptions } from "./backoff.ts";
import { type ConnectionOptions, RelayConnection, shortReason } from "./connection.ts";
import { type Coverage, type LayoutLimits, SubscriptionLayout } from "./layout.ts";
import type { RelayStatus, SignAuth, Timer } from "./types.ts";
import { redactRelayUrl } from "./url.ts";

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

interface Slot {
  subId?: string;
  coverage: Coverage;
  eosed: boolean;
  authBlocked: boolean;
  sentAuthEpoch: number;
  attempt: number;
  retryTimer?: Timer;
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
  readonly #slots = new Map<number, Slot>();
  readonly #subSlots = new Map<string, number>();
  readonly #stopping = new Set<Promise<void>>();
  readonly #authPending = new WeakSet<RelayConnection>();
  #reconnectsOfStopped = 0;
  #subSeq = 0;
  #authNeeded = false;
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
    for (const slot of this.layout.takeDirty()) this.#sendSlot(slot);
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
    const slotIndex = this.layout.slotOf(bunkerPubkey);
    if (slotIndex === undefined) return false;
    const slot = this.#slots.get(slotIndex);
    const conn = this.#conns[this.layout.connectionOf(slotIndex)];
    if (!slot?.eosed || !slot.subId || !conn?.isOpen) return false;
    return slot.coverage === "all" || slot.coverage.has(bunkerPubkey);
  }

  /** Status for `/health`. */
  status(): RelayStatus {
    const conns = this.#conns.filter((c): c is RelayConnection => c !== undefined);
    const slots = [...this.#slots.values()];
    return {
      url: this.#logUrl,
      connected: conns.length > 0 && conns.every((c) => c.isOpen),
      subscribed: this.layout.size > 0 && slots.length > 0 &&
        slots.every((s) => s.eosed && s.subId !== undefined),
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
    for (const slot of this.#slots.values()) clearTimeout(slot.retryTimer);
    this.#slots.clear();
    for (let k = 0; k < this.#conns.length; k++) this.#stopConnection(k);
    while (this.#stopping.size > 0) await Promise.all([...this.#stopping]);
  }

  /** Handles one connection-level auth-required signal for publishing: authenticates `pubkey`. */
  authenticateFor(conn: RelayConnection, bunkerPubkey: string, deadline: number): Promise<number> {
    this.#authNeeded = true;
    const pubkeys = [bunkerPubkey, ...this.layout.pubkeysOf(conn.index)];
    return this.auth.authenticate(conn, pubkeys, deadline, this.#s.signal);
  }

  #openConnection(index: number): RelayConnection {
    const conn = new RelayConnection({
      ...this.#s.connection,
      url: this.url,
      index,
      log: this.#s.log,
      onOpen: (c) => this.#onOpen(c),
      onMessage: (c, message) => this.#onMessage(c, message),
      onDown: (c, reason) => this.#onDown(c, reason),
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

  #onOpen(conn: RelayConnection): void {
    for (const slot of this.layout.slotsOf(conn.index)) this.#sendSlot(slot);
  }

  #onDown(conn: RelayConnection, reason: string): void {
    this.lastError = reason;
    for (const index of this.layout.slotsOf(conn.index)) {
      const slot = this.#slots.get(index);
      if (!slot) continue;
      clearTimeout(slot.retryTimer);
      if (slot.subId) this.#subSlots.delete(slot.subId);
      Object.assign(slot, {
        subId: undefined,
        eosed: false,
        authBlocked: false,
        retryTimer: undefined,
      });
    }
  }

  /** Sends (or re-sends, or closes) the REQ of `index` if its connection is open. */
  #sendSlot(index: number): void {
    if (this.#closed) return;
    const connIndex = this.layout.connectionOf(index);
    const conn = this.#conns[connIndex];
    let slot = this.#slots.get(index);
    if (slot) clearTimeout(slot.retryTimer);
    const since = Math.floor(Date.now() / 1000) - this.#s.windowSeconds;
    const filters = this.layout.filtersFor(index, since);
    if (filters.length === 0) {
      if (slot?.subId) {
        conn?.send(JSON.stringify(["CLOSE", slot.subId]));
        this.#subSlots.delete(slot.subId);
      }
      this.#slots.delete(index);
      return;
    }
    slot ??= {
      coverage: new Set(),
      eosed: false,
      authBlocked: false,
      sentAuthEpoch: 0,
      attempt: 0,
    };
    this.#slots.set(index, slot);
    if (!conn?.isOpen) return;
    const subId = `kc${connIndex}.${index}.${++this.#subSeq}`;
    const old = slot.subId;
    conn.send(JSON.stringify(["REQ", subId, ...filters]));
    if (old) {
      conn.send(JSON.stringify(["CLOSE", old]));
      this.#subSlots.delete(old);
    }
    this.#subSlots.set(subId, index);
    Object.assign(slot, {
      subId,
      coverage: this.layout.coverageOf(index),
      eosed: false,
      authBlocked: false,
      sentAuthEpoch: this.auth.epoch(conn),
    });
    this.#s.log({
      level: "debug",
      ns: "relay.sub",
      msg: "Sent REQ",
      url: this.#logUrl,
      subId,
      filters: filters.length,
      replaces: old,
    });
  }

  #retrySlot(index: number, why: string): void {
    const slot = this.#slots.get(index);
    if (!slot || this.#closed) return;
    clearTimeout(slot.retryTimer);
    const delayMs = backoffDelay(slot.attempt++, this.#s.backoff);
    this.#s.log({
      level: "info",
      ns: "relay.sub",
      msg: "Retrying REQ",
      url: this.#logUrl,
      slot: index,
      reason: why,
      retryInMs: delayMs,
    });
    slot.retryTimer = setTimeout(() => this.#sendSlot(index), delayMs);
  }

  #onMessage(conn: RelayConnection, message: unknown[]): void {
    const [type, a, b, c] = message;
    switch (type) {
      case "EVENT":
        if (typeof a !== "string" || typeof b !== "object" || b === null) return this.#bad(type);
        if (typeof (b as { id?: unknown }).id === "string") {
          if (!conn.seenIds.add((b as { id: string }).id)) return;
        }
        this.lastEventAt = Date.now();
        this.#s.onEvent(b, this.url);
        return;
      case "EOSE":
        return this.#onEose(a);
      case "CLOSED":
        return this.#onClosed(conn, a, b);
      case "OK":
        if (typeof a !== "string" || typeof b !== "boolean") return this.#bad(type);
        conn.okWaiters.resolve(a, b, typeof c === "string" ? c : "");
        return;
      case "NOTICE":
        this.lastError = `NOTICE: ${shortReason(String(a))}`;
        this.#s.log({
          level: "warn",
          ns: "relay.pool",
          msg: "Relay NOTICE",
          url: this.#logUrl,
          notice: shortReason(String(a)),
        });
        return;
      case "AUTH":
        if (typeof a !== "string" || a.length === 0 || a.length > 1_024) return this.#bad(type);
        conn.setChallenge(a);
        if (this.#authNeeded) void this.#authThenResend(conn);
        return;
      default:
        return this.#bad(String(type).slice(0, 16));
    }
  }

  #bad(type: string): void {
    this.#s.log({
      level: "debug",
      ns: "relay.pool",
      msg: "Ignored relay message",
      url: this.#logUrl,
      type,
    });
  }

  #onEose(subId: unknown): void {
    const index = typeof subId === "string" ? this.#subSlots.get(subId) : undefined;
    const slot = index === undefined ? undefined : this.#slots.get(index);
    if (!slot || slot.subId !== subId) return;
    slot.eosed = true;
    slot.attempt = 0;
    this.#s.onCovered();
  }

  #onClosed(conn: RelayConnection, subId: unknown, reason: unknown): void {
    if (typeof subId !== "string") return this.#bad("CLOSED");
    const index = this.#subSlots.get(subId);
    const slot = index === undefined ? undefined : this.#slots.get(index);
    if (index === undefined || !slot || slot.subId !== subId) return;
    const why = shortReason(typeof reason === "string" ? reason : "");
    this.#subSlots.delete(subId);
    Object.assign(slot, { subId: undefined, eosed: false });
    this.lastError = `CLOSED: ${why}`;
    this.#s.log({
      level: "warn",
      ns: "relay.sub",
      msg: "Relay closed REQ",
      url: this.#logUrl,
      subId,
      reason: why,
    });
    if (!why.startsWith("auth-required:") || !this.#s.signAuth) return this.#retrySlot(index, why);
    this.#authNeeded = true;
    slot.authBlocked = true;
    if (slot.sentAuthEpoch < this.auth.epoch(conn)) return this.#sendSlot(index);
    void this.#authThenResend(conn);
  }

  /** Authenticates on `conn`, then re-sends its REQs that were closed with `auth-required:`. */
  async #authThenResend(conn: RelayConnection): Promise<void> {
    if (this.#authPending.has(conn)) return;
    this.#authPending.add(conn);
    const blocked = () =>
      this.layout.slotsOf(conn.index).filter((i) => this.#slots.get(i)?.authBlocked);
    try {
      const first = blocked().flatMap((i) => this.layout.pubkeysOfSlot(i));
      const priority = first.length > 0 ? first : this.layout.pubkeysOf(conn.index);
      const all = [...priority, ...this.layout.pubkeysOf(conn.index)];
      const deadline = Date.now() + this.#s.authTimeoutMs;
      await this.auth.authenticate(conn, all, deadline, this.#s.signal);
    } finally {
      this.#authPending.delete(conn);
    }
    if (this.#closed || !conn.isOpen) return;
    for (const index of blocked()) {
      const slot = this.#slots.get(index);
      if (slot && slot.sentAuthEpoch < this.auth.epoch(conn)) this.#sendSlot(index);
      else this.#retrySlot(index, "auth-required: authentication did not help");
    }
  }
}
