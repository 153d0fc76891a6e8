/**
 * The REQ life cycle of one relay: each layout slot becomes one REQ on its connection; a changed
 * slot is re-sent under a fresh subscription id (then the old id is closed), EOSE marks it
 * covered, CLOSED retries it with backoff, and `auth-required:` runs NIP-42 first.
 */
import type { Log } from "../log.ts";
import type { Authenticator } from "./auth.ts";
import { backoffDelay, type BackoffOptions } from "./backoff.ts";
import { type RelayConnection, shortReason } from "./connection.ts";
import type { Coverage, SubscriptionLayout } from "./layout.ts";
import type { Timer } from "./types.ts";

/** What {@link Subscriptions} needs from its relay. */
export interface SubscriptionHost {
  /** URL safe to log. */
  logUrl: string;
  /** Structured logger. */
  log: Log;
  /** `since` = now − this, in seconds. */
  windowSeconds: number;
  /** REQ retry backoff. */
  backoff: Required<BackoffOptions>;
  /** Time allowed for NIP-42, in ms. */
  authTimeoutMs: number;
  /** False when no signAuth was given (auth-required: is then retried like other CLOSED). */
  canAuthenticate: boolean;
  /** Aborted when the pool closes. */
  signal: AbortSignal;
  /** Placement of the relay's pubkeys. */
  layout: SubscriptionLayout;
  /** NIP-42 state of the relay's connections. */
  auth: Authenticator;
  /** The connection carrying connection index `index`, if any. */
  connection(index: number): RelayConnection | undefined;
  /** Called when a REQ answered EOSE. */
  onCovered(): void;
  /** Records a CLOSED reason as the relay's last error. */
  onError(reason: string): void;
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

/** REQ state of every slot of one relay. */
export class Subscriptions {
  readonly #h: SubscriptionHost;
  readonly #slots = new Map<number, Slot>();
  readonly #subSlots = new Map<string, number>();
  readonly #authPending = new WeakSet<RelayConnection>();
  #subSeq = 0;
  #authNeeded = false;
  #closed = false;

  /** No REQ is sent until {@link send}. */
  constructor(host: SubscriptionHost) {
    this.#h = host;
  }

  /** True when every REQ is open and answered EOSE (false with none). */
  get allCovered(): boolean {
    const slots = [...this.#slots.values()];
    return slots.length > 0 && slots.every((s) => s.eosed && s.subId !== undefined);
  }

  /** True when the REQ holding `bunkerPubkey` is open on an open socket and answered EOSE. */
  covers(bunkerPubkey: string): boolean {
    const index = this.#h.layout.slotOf(bunkerPubkey);
    if (index === undefined) return false;
    const slot = this.#slots.get(index);
    if (!slot?.eosed || !slot.subId) return false;
    if (!this.#h.connection(this.#h.layout.connectionOf(index))?.isOpen) return false;
    return slot.coverage === "all" || slot.coverage.has(bunkerPubkey);
  }

  /** Remembers that this relay asks for NIP-42, so later challenges are answered at once. */
  markAuthNeeded(): void {
    this.#authNeeded = true;
  }

  /** Sends (or re-sends, or closes) the REQ of slot `index` if its connection is open. */
  send(index: number): void {
    if (this.#closed) return;
    const { layout, log, logUrl } = this.#h;
    const connIndex = layout.connectionOf(index);
    const conn = this.#h.connection(connIndex);
    let slot = this.#slots.get(index);
    if (slot) clearTimeout(slot.retryTimer);
    const since = Math.floor(Date.now() / 1000) - this.#h.windowSeconds;
    const filters = layout.filtersFor(index, since);
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
    slot.subId = subId;
    slot.coverage = layout.coverageOf(index);
    slot.eosed = slot.authBlocked = false;
    slot.sentAuthEpoch = this.#h.auth.epoch(conn);
    log({ level: "debug", ns: "relay.sub", msg: "Sent REQ", url: logUrl, subId, replaces: old });
  }

  /** A socket opened: sends every REQ it carries. */
  onOpen(conn: RelayConnection): void {
    for (const index of this.#h.layout.slotsOf(conn.index)) this.send(index);
  }

  /** A socket closed: its REQs are gone until it reopens. */
  onDown(conn: RelayConnection): void {
    for (const index of this.#h.layout.slotsOf(conn.index)) {
      const slot = this.#slots.get(index);
      if (!slot) continue;
      clearTimeout(slot.retryTimer);
      if (slot.subId) this.#subSlots.delete(slot.subId);
      slot.subId = slot.retryTimer = undefined;
      slot.eosed = slot.authBlocked = false;
    }
  }

  /** Handles `["EOSE", subId]`. */
  onEose(subId: unknown): void {
    const slot = this.#slotOf(subId);
    if (!slot) return;
    slot.eosed = true;
    slot.attempt = 0;
    this.#h.onCovered();
  }

  /** Handles `["CLOSED", subId, reason]`. */
  onClosed(conn: RelayConnection, subId: unknown, reason: unknown): void {
    const slot = this.#slotOf(subId);
    const index = typeof subId === "string" ? this.#subSlots.get(subId) : undefined;
    if (!slot || index === undefined || typeof subId !== "string") return;
    const why = shortReason(typeof reason === "string" ? reason : "");
    this.#subSlots.delete(subId);
    slot.subId = undefined;
    slot.eosed = false;
    this.#h.onError(`CLOSED: ${why}`);
    const { log, logUrl } = this.#h;
    log({
      level: "warn",
      ns: "relay.sub",
      msg: "Relay closed REQ",
      url: logUrl,
      subId,
      reason: why,
    });
    if (!why.startsWith("auth-required:") || !this.#h.canAuthenticate) {
      return this.#retry(index, why);
    }
    this.#authNeeded = true;
    slot.authBlocked = true;
    if (slot.sentAuthEpoch < this.#h.auth.epoch(conn)) return this.send(index);
    void this.#authThenResend(conn);
  }

  /** A challenge arrived on `conn`: answers it at once if this relay asked for NIP-42 before. */
  onChallenge(conn: RelayConnection): void {
    if (this.#authNeeded && this.#h.canAuthenticate) void this.#authThenResend(conn);
  }

  /** Clears every retry timer; nothing is sent afterwards. */
  close(): void {
    this.#closed = true;
    for (const slot of this.#slots.values()) clearTimeout(slot.retryTimer);
    this.#slots.clear();
  }

  #slotOf(subId: unknown): Slot | undefined {
    if (typeof subId !== "string") return undefined;
    const index = this.#subSlots.get(subId);
    const slot = index === undefined ? undefined : this.#slots.get(index);
    return slot?.subId === subId ? slot : undefined;
  }

  #retry(index: number, why: string): void {
    const slot = this.#slots.get(index);
    if (!slot || this.#closed) return;
    clearTimeout(slot.retryTimer);
    const delayMs = backoffDelay(slot.attempt++, this.#h.backoff);
    const { log, logUrl } = this.#h;
    log({ level: "info", ns: "relay.sub", msg: "Retrying REQ", url: logUrl, reason: why, delayMs });
    slot.retryTimer = setTimeout(() => this.send(index), delayMs);
  }

  /** Authenticates on `conn`, then re-sends its REQs that were closed with `auth-required:`. */
  async #authThenResend(conn: RelayConnection): Promise<void> {
    if (this.#authPending.has(conn)) return;
    this.#authPending.add(conn);
    const { layout, auth } = this.#h;
    const blocked = () => layout.slotsOf(conn.index).filter((i) => this.#slots.get(i)?.authBlocked);
    try {
      const first = blocked().flatMap((i) => layout.pubkeysOfSlot(i));
      const pubkeys = first.length > 0 ? first : layout.pubkeysOf(conn.index);
      const deadline = Date.now() + this.#h.authTimeoutMs;
      await auth.authenticate(conn, pubkeys, deadline, this.#h.signal);
    } finally {
      this.#authPending.delete(conn);
    }
    if (this.#closed || !conn.isOpen) return;
    for (const index of blocked()) {
      const slot = this.#slots.get(index);
      if (slot && slot.sentAuthEpoch < auth.epoch(conn)) this.send(index);
      else this.#retry(index, "auth-required: authentication did not help");
    }
  }
}
