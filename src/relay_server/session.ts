/**
 * One connection to the endpoint, on the path of one bunker pubkey: the NIP-01 subset a NIP-46
 * client needs (`EVENT`, `REQ`, `CLOSE`, `AUTH`), its NIP-42 state and its limits. It holds no
 * socket of its own: it writes through a {@link RelaySocket} and asks its {@link SessionHost} for
 * everything else, so tests drive it with plain objects and an injected clock.
 */
import type { NostrEvent } from "../nostr/event.ts";
import { NIP46_KIND } from "../nostr/kinds.ts";
import { isHex64 } from "../util/hex.ts";
import { checkAuthEvent } from "./auth.ts";
import { matchesAny, parseFilters, type RelayFilter } from "./filters.ts";
import { MAX_AUTHED_PUBKEYS, type RelayServerSettings } from "./settings.ts";

/** What a session writes to: a server-side WebSocket, or a stand-in in tests. */
export interface RelaySocket {
  send(data: string): void;
  /** Bytes queued but not yet sent. */
  readonly bufferedAmount: number;
  close(code?: number, reason?: string): void;
}

/** Why a session refused something or closed, for the counters. */
export type Refusal =
  | "auth"
  | "rate"
  | "size"
  | "subscriptions"
  | "idle"
  | "slow"
  | "invalid"
  | "restricted"
  | "revoked"
  | "connections";

/** What a session needs from the endpoint. */
export interface SessionHost {
  readonly settings: RelayServerSettings;
  /** Clock in ms. */
  now(): number;
  /** Whether AUTH may succeed for `pubkey` on this path (see `auth.ts`), or why not. */
  authProblem(bunkerPubkey: string, pubkey: string): string | undefined;
  /** Verifies an event's id and signature. */
  verify(event: NostrEvent): boolean;
  /** Hands a request event to the listener. */
  submit(event: NostrEvent, relayUrl: string): void;
  /** Replies kept for replay on this path, oldest first, with when each was kept (ms). */
  recent(bunkerPubkey: string): readonly { at: number; event: NostrEvent }[];
  /** Counts one refusal. */
  refused(reason: Refusal): void;
  /** Counts one message received. */
  received(): void;
  /** Called once when the session ends. */
  ended(session: RelaySession): void;
}

/** Messages over the rate a connection may send before it is closed. */
const MAX_OVER_RATE = 200;
/** Most request authors one connection remembers for replay. */
const MAX_CLAIMED = 64;

/** Whether `tags` has `p` tags, every one of them naming `bunkerPubkey`. */
function namesOnly(tags: readonly (readonly string[])[], bunkerPubkey: string): boolean {
  const named = tags.filter((tag) => tag[0] === "p");
  return named.length > 0 && named.every((tag) => tag[1] === bunkerPubkey);
}

/** Normal close codes of the endpoint. */
export const CLOSE_CODES = {
  normal: 1000,
  policy: 1008,
  tooBig: 1009,
  goingAway: 1001,
} as const;

/** One client connection on one bunker's path. */
export class RelaySession {
  /** The path's bunker pubkey. */
  readonly bunkerPubkey: string;
  /** This path's relay URL (what AUTH events must name, and what the listener is told). */
  readonly url: string;
  /** The client's address (for the per-address cap). */
  readonly address: string;
  /** The NIP-42 challenge sent on open. */
  readonly challenge: string = crypto.randomUUID();
  readonly #socket: RelaySocket;
  readonly #host: SessionHost;
  readonly #authed = new Set<string>();
  readonly #subscriptions = new Map<string, RelayFilter[]>();
  #tokens: number;
  /** Messages over the rate in this session. */
  #overRate = 0;
  /** Pubkeys this connection sent requests from, and when it first did (ms). */
  readonly #claimed = new Map<string, number>();
  #refilledAt: number;
  #lastActivity: number;
  #closed = false;

  constructor(
    opts: { bunkerPubkey: string; url: string; address: string },
    socket: RelaySocket,
    host: SessionHost,
  ) {
    this.bunkerPubkey = opts.bunkerPubkey;
    this.url = opts.url;
    this.address = opts.address;
    this.#socket = socket;
    this.#host = host;
    this.#tokens = 2 * host.settings.maxMessagesPerSecond;
    this.#refilledAt = host.now();
    this.#lastActivity = host.now();
  }

  /** Pubkeys this connection authenticated as. */
  get authenticated(): ReadonlySet<string> {
    return this.#authed;
  }

  /** Open subscriptions. */
  get subscriptions(): number {
    return this.#subscriptions.size;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sends the NIP-42 challenge; call once the socket is open. */
  open(): void {
    this.#send(["AUTH", this.challenge]);
  }

  /** Handles one message from the client. */
  handle(data: string | ArrayBuffer | Blob): void {
    if (this.#closed) return;
    this.#host.received();
    this.#lastActivity = this.#host.now();
    // Charged before anything is parsed: malformed messages count against the rate too, and a
    // client that keeps sending over it is closed rather than answered forever.
    const overRate = !this.#charge();
    if (overRate && ++this.#overRate > MAX_OVER_RATE) {
      this.#host.refused("rate");
      this.#notice("closing: too many messages over the rate limit");
      this.close(CLOSE_CODES.policy, "rate limited");
      return;
    }
    if (overRate && typeof data !== "string") return;
    if (typeof data !== "string") {
      this.#notice("invalid: send text frames");
      return;
    }
    const { maxMessageBytes } = this.#host.settings;
    if (
      data.length > maxMessageBytes ||
      (data.length * 3 > maxMessageBytes && utf8Length(data) > maxMessageBytes)
    ) {
      this.#host.refused("size");
      this.#notice(`invalid: message too large (max ${maxMessageBytes} bytes)`);
      this.close(CLOSE_CODES.tooBig, "message too large");
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch (_error: unknown) {
      this.#host.refused("invalid");
      this.#notice("invalid: the message is not JSON");
      return;
    }
    if (!Array.isArray(message) || typeof message[0] !== "string") {
      this.#host.refused("invalid");
      this.#notice("invalid: a message is a JSON array starting with its type");
      return;
    }
    switch (message[0]) {
      case "EVENT":
        return this.#event(message[1], overRate);
      case "REQ":
        return this.#req(message, overRate);
      case "CLOSE":
        if (typeof message[1] === "string") this.#subscriptions.delete(message[1]);
        return;
      case "AUTH":
        return this.#auth(message[1], overRate);
      default:
        this.#host.refused("invalid");
        this.#notice(`invalid: unsupported message type "${message[0].slice(0, 16)}"`);
    }
  }

  /** Sends `event` to every subscription it matches; returns how many. */
  deliver(event: NostrEvent): number {
    let sent = 0;
    for (const [id, filters] of this.#subscriptions) {
      if (!matchesAny(filters, event)) continue;
      this.#send(["EVENT", id, event]);
      sent++;
    }
    return sent;
  }

  /**
   * Closes the session when it has been idle too long: nothing received for `idleTimeoutMs` and
   * no subscription open (a client waiting on a subscription is not idle). True when closed.
   */
  closeIfIdle(now: number): boolean {
    if (this.#closed || this.#subscriptions.size > 0) return false;
    if (now - this.#lastActivity < this.#host.settings.idleTimeoutMs) return false;
    this.#host.refused("idle");
    this.#notice(`closing: idle for ${Math.round(this.#host.settings.idleTimeoutMs / 1000)} s`);
    this.close(CLOSE_CODES.normal, "idle");
    return true;
  }

  /** Ends every subscription with `reason` (e.g. `revoked: …`) and closes. */
  end(reason: string, code: number = CLOSE_CODES.normal): void {
    if (this.#closed) return;
    for (const id of this.#subscriptions.keys()) this.#send(["CLOSED", id, reason]);
    this.#notice(reason);
    this.close(code, reason.split(":")[0]);
  }

  /** Closes the socket and frees the session (idempotent). */
  close(code: number = CLOSE_CODES.normal, reason = ""): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscriptions.clear();
    this.#authed.clear();
    try {
      this.#socket.close(code, reason.slice(0, 120));
    } catch (_error: unknown) {
      // Already closing or closed by the peer: nothing left to free.
    }
    this.#host.ended(this);
  }

  #event(raw: unknown, overRate: boolean): void {
    if (!isEventShape(raw)) {
      this.#host.refused("invalid");
      const id = typeof raw === "object" && raw !== null ? (raw as { id?: unknown }).id : undefined;
      if (typeof id === "string" && id.length <= 64) {
        this.#send(["OK", id, false, "invalid: malformed event"]);
      } else this.#notice("invalid: malformed event");
      return;
    }
    const refusal = overRate
      ? this.#rateRefusal("rate")
      : raw.kind !== NIP46_KIND
      ? this.#refusal("restricted", `blocked: this relay accepts only kind ${NIP46_KIND}`)
      : !namesOnly(raw.tags, this.bunkerPubkey)
      ? this.#refusal("restricted", "blocked: the p tags must name this relay's bunker pubkey only")
      : this.#host.settings.auth === "required" && this.#authed.size === 0
      ? this.#refusal("auth", "auth-required: authenticate to send requests")
      : this.#host.settings.auth === "required" && !this.#authed.has(raw.pubkey)
      ? this.#refusal("auth", "restricted: the event is not by an authenticated pubkey")
      : undefined;
    if (refusal) {
      this.#send(["OK", raw.id, false, refusal]);
      return;
    }
    this.#host.submit(raw, this.url);
    if (!this.#claimed.has(raw.pubkey) && this.#claimed.size < MAX_CLAIMED) {
      this.#claimed.set(raw.pubkey, this.#host.now());
    }
    this.#send(["OK", raw.id, true, ""]);
  }

  #req(message: unknown[], overRate: boolean): void {
    const id = message[1];
    if (typeof id !== "string" || id.length === 0 || id.length > 64) {
      this.#host.refused("invalid");
      this.#notice("invalid: a subscription id is a string of 1 to 64 characters");
      return;
    }
    const refusal = overRate
      ? this.#rateRefusal("rate")
      : this.#host.settings.auth === "required" && this.#authed.size === 0
      ? this.#refusal("auth", "auth-required: authenticate to subscribe")
      : !this.#subscriptions.has(id) &&
          this.#subscriptions.size >= this.#host.settings.maxSubscriptions
      ? this.#refusal(
        "subscriptions",
        `rate-limited: too many subscriptions (max ${this.#host.settings.maxSubscriptions})`,
      )
      : undefined;
    if (refusal) {
      this.#subscriptions.delete(id);
      this.#send(["CLOSED", id, refusal]);
      return;
    }
    const parsed = parseFilters(message.slice(2), this.bunkerPubkey);
    const problem = !parsed.ok ? parsed.reason : this.#host.settings.auth === "required" &&
        parsed.filters.some((f) => !f.p || f.p.some((p) => !this.#authed.has(p)))
      ? "restricted: #p must list only pubkeys this connection authenticated as"
      : undefined;
    if (!parsed.ok || problem) {
      this.#host.refused(parsed.ok ? "restricted" : "invalid");
      this.#subscriptions.delete(id);
      this.#send(["CLOSED", id, problem ?? "invalid: bad filter"]);
      return;
    }
    this.#subscriptions.set(id, parsed.filters);
    // Replayed replies are a courtesy: one that does not fit the send buffer is skipped, never a
    // reason to drop a client that reads (a large replay is queued all at once).
    for (const event of this.#replay(parsed.filters)) {
      this.#send(["EVENT", id, event], { skipWhenFull: true });
    }
    this.#send(["EOSE", id]);
  }

  /**
   * Kept replies the filters match, newest `limit` of them per filter (all when no limit) — but
   * only replies to a pubkey this connection authenticated as, or sent a request from before the
   * reply was kept: a stranger cannot read back who talked to this bunker.
   */
  #replay(filters: readonly RelayFilter[]): NostrEvent[] {
    const recent = this.#host.recent(this.bunkerPubkey).filter(({ at, event }) => {
      const client = event.tags.find((tag) => tag[0] === "p")?.[1];
      if (client === undefined) return false;
      if (this.#authed.has(client)) return true;
      const since = this.#claimed.get(client);
      return since !== undefined && since <= at;
    }).map(({ event }) => event);
    const out = new Set<NostrEvent>();
    for (const filter of filters) {
      const matched = recent.filter((event) => matchesAny([filter], event));
      const limit = filter.limit ?? matched.length;
      for (const event of matched.slice(Math.max(0, matched.length - limit))) out.add(event);
    }
    return [...out];
  }

  #auth(raw: unknown, overRate: boolean): void {
    const id = typeof raw === "object" && raw !== null ? (raw as { id?: unknown }).id : undefined;
    const replyId = typeof id === "string" && id.length <= 64 ? id : "";
    if (overRate) {
      this.#send(["OK", replyId, false, this.#rateRefusal("rate")]);
      return;
    }
    const checked = checkAuthEvent(raw, {
      challenge: this.challenge,
      url: this.url,
      nowSeconds: Math.floor(this.#host.now() / 1000),
      verify: (event) => this.#host.verify(event),
    });
    const problem = !checked.ok
      ? checked.problem
      : this.#authed.has(checked.pubkey)
      ? undefined
      : this.#authed.size >= MAX_AUTHED_PUBKEYS
      ? "restricted: too many pubkeys on one connection"
      : this.#host.authProblem(this.bunkerPubkey, checked.pubkey);
    if (!checked.ok || problem) {
      this.#host.refused(checked.ok ? "restricted" : "auth");
      this.#send(["OK", replyId, false, problem ?? "invalid: bad auth event"]);
      return;
    }
    this.#authed.add(checked.pubkey);
    this.#send(["OK", replyId, true, ""]);
  }

  /** Takes one token from the message bucket; false when empty. */
  #charge(): boolean {
    const { maxMessagesPerSecond } = this.#host.settings;
    const now = this.#host.now();
    const burst = 2 * maxMessagesPerSecond;
    this.#tokens = Math.min(
      burst,
      this.#tokens + ((now - this.#refilledAt) / 1000) * maxMessagesPerSecond,
    );
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  #rateRefusal(reason: Refusal): string {
    return this.#refusal(
      reason,
      `rate-limited: over ${this.#host.settings.maxMessagesPerSecond} messages per second`,
    );
  }

  #refusal(reason: Refusal, text: string): string {
    this.#host.refused(reason);
    return text;
  }

  #notice(text: string): void {
    this.#send(["NOTICE", text]);
  }

  /**
   * Sends one message, unless the socket already holds more unsent data than allowed: then the
   * client is not reading, and the connection is dropped instead of buffering without end.
   */
  #send(message: unknown[], opts: { skipWhenFull?: boolean } = {}): void {
    if (this.#closed) return;
    const data = JSON.stringify(message);
    if (this.#socket.bufferedAmount + data.length > this.#host.settings.maxBufferedBytes) {
      if (opts.skipWhenFull) return;
      this.#host.refused("slow");
      this.close(CLOSE_CODES.policy, "rate-limited: slow consumer, send buffer full");
      return;
    }
    try {
      this.#socket.send(data);
    } catch (_error: unknown) {
      this.close(CLOSE_CODES.goingAway, "send failed");
    }
  }
}

/** True when `raw` has the fields of a signed event (the signature is checked by the listener). */
function isEventShape(raw: unknown): raw is NostrEvent {
  if (typeof raw !== "object" || raw === null) return false;
  const event = raw as Record<string, unknown>;
  return isHex64(event.id) && isHex64(event.pubkey) && typeof event.sig === "string" &&
    typeof event.kind === "number" && typeof event.content === "string" &&
    typeof event.created_at === "number" && Array.isArray(event.tags) &&
    event.tags.every((tag) => Array.isArray(tag) && tag.every((item) => typeof item === "string"));
}

/** UTF-8 length of `text`, without encoding it. */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) bytes += code >= 0x800 && (code < 0xd800 || code > 0xdfff) ? 2 : 1;
  }
  return bytes;
}
