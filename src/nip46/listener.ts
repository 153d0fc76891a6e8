/**
 * The NIP-46 request path (SPEC "NIP-46 engine"): relay event → cheap checks on the main thread
 * (shape, size, kind, `#p` names a loaded bunker, stale window, id = SHA-256 of the content via
 * WebCrypto, duplicate copy) → verify and
 * decrypt in a worker → parse `{id, method, params}` → duplicate (client, request id) → revoked /
 * expired / policy → method → reply built, encrypted with the request's scheme and signed in a
 * worker → published to the authorization's relays and the relay it came in on.
 *
 * Every request that can be answered is answered; what cannot (forged, undecryptable, no id) is
 * dropped with a debug log line — a forged event must have no effect at all.
 */
import type { ActiveAuthorization } from "../channel/command.ts";
import type { ClientsRepo } from "../db/repos/clients.ts";
import type { Log } from "../log.ts";
import {
  OverloadedError,
  SignerClosedError,
  SignerError,
  SignerTimeoutError,
  WorkerCrashedError,
} from "../signer/errors.ts";
import type {
  KeyRef,
  ReplyAction,
  RespondJob,
  RespondResult,
  UnwrapResult,
} from "../signer/protocol.ts";
import { type NostrEvent, serializeEvent } from "../nostr/event.ts";
import { isHex64, sha256Hex } from "../util/hex.ts";
import { dispatch } from "./methods.ts";
import { errorReason, type Nip46Request, parseRequest } from "./protocol.ts";
import { SeenSet } from "./seen.ts";
import type { PolicyGate } from "./policy_gate.ts";

/** Largest request event content we hand to a worker, in characters (the workers' own cap). */
export const MAX_CONTENT_CHARS = 65_536;
/** Most tags a request event may carry (clients send one `p` tag). */
export const MAX_TAGS = 32;
/** NIP-46 event kind. */
export const NIP46_KIND = 24133;

/** Reply to a request the signer could not finish (its worker crashed or hung). */
const SIGNER_FAILED = errorReason("invalid", "the signer could not complete the request");
/** Reply to a request whose handling failed on our side (e.g. the database is unreachable). */
const UNAVAILABLE = errorReason(
  "overloaded",
  "the request could not be completed now, retry later",
);

/** The crypto the listener needs (implemented by the signer pool). */
export interface ListenerSigner {
  unwrap(bunker: KeyRef, event: unknown): Promise<UnwrapResult>;
  respond(job: Omit<RespondJob, "op">): Promise<RespondResult>;
  /** Verify, decrypt and answer with an error in one job, in the pool's small reserved lane. */
  reject?(bunker: KeyRef, event: unknown, error: string): Promise<RespondResult | undefined>;
}

/** Where replies go. */
export interface ListenerPublisher {
  publish(event: NostrEvent, relays: string[]): Promise<unknown>;
}

/** Live authorizations by bunker pubkey, plus recently removed ones (to answer `revoked`). */
export interface ListenerDirectory {
  get(bunkerPubkey: string): ActiveAuthorization | undefined;
  removed(bunkerPubkey: string): ActiveAuthorization | undefined;
  /** Stores an authorization the listener changed itself (connect, logout). */
  update(authorization: ActiveAuthorization): void;
}

/** One decision, for the audit log and metrics. */
export interface Decision {
  authorizationId: string;
  clientPubkey: string;
  method: string;
  eventKind: number | null;
  eventId: string | null;
  decision: "allow" | "deny";
  reason: string | null;
  latencyMs: number;
}

/** Dependencies and settings of the {@link Listener}. */
export interface ListenerOptions {
  directory: ListenerDirectory;
  signer: ListenerSigner;
  publisher: ListenerPublisher;
  clients: Pick<ClientsRepo, "redeem" | "logout">;
  policy: PolicyGate;
  log: Log;
  /** Receives every decision (audit log, metrics). */
  onDecision?: (decision: Decision) => void;
  /** Requests older (or further in the future) than this are dropped, in seconds. Default 120. */
  windowSeconds?: number;
  /** Clock in ms. Default Date.now. */
  now?: () => number;
}

/** Turns relay events into answered NIP-46 requests. */
export class Listener {
  readonly #o: Required<Omit<ListenerOptions, "onDecision">> & Pick<ListenerOptions, "onDecision">;
  readonly #seenEvents = new SeenSet({ ttlMs: 600_000, max: 100_000 });
  readonly #seenRequests = new SeenSet({ ttlMs: 600_000, max: 100_000 });
  readonly #inflight = new Set<Promise<void>>();
  /** Counters for /health and /metrics. */
  readonly stats = { received: 0, dropped: 0, answered: 0, overloaded: 0, duplicates: 0 };

  constructor(options: ListenerOptions) {
    this.#o = { windowSeconds: 120, now: Date.now, ...options };
  }

  /** Requests being processed. */
  get inflight(): number {
    return this.#inflight.size;
  }

  /** Entry point for the relay pool: never throws, never blocks the socket. */
  handleEvent(raw: unknown, relayUrl: string): void {
    this.stats.received++;
    const task = this.#handle(raw, relayUrl).catch((error) => {
      this.#o.log({ level: "error", ns: "nip46.listener", msg: "Request failed", relayUrl, error });
    }).finally(() => this.#inflight.delete(task));
    this.#inflight.add(task);
  }

  /** Waits until in-flight requests are answered, or `timeoutMs` passes. */
  async drain(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.#inflight.size > 0 && Date.now() < until) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...this.#inflight]),
        new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, until - Date.now())))),
      ]);
      clearTimeout(timer);
    }
  }

  async #handle(raw: unknown, relayUrl: string): Promise<void> {
    const started = performance.now();
    const precheck = this.#precheck(raw);
    if (typeof precheck === "string") return this.#drop(precheck, relayUrl);
    const { event, bunkerPubkey } = precheck;
    // Copies of one event from several relays share id and sig. The id is checked against the
    // content first, so that a copy altered by a hostile relay (same id and sig, other content)
    // cannot take the real event's place in the duplicate set and get it dropped.
    if (!await idMatchesContent(event)) return this.#drop("id does not match content", relayUrl);
    if (!this.#seenEvents.add(`${event.id}:${event.sig}`, this.#o.now())) {
      this.stats.duplicates++;
      return this.#drop("duplicate", relayUrl);
    }
    const authorization = this.#o.directory.get(bunkerPubkey) ??
      this.#o.directory.removed(bunkerPubkey);
    if (!authorization) return this.#drop("unknown bunker pubkey", relayUrl);
    const bunker: KeyRef = { pubkey: bunkerPubkey, sealed: authorization.bunkerSecretSealed };

    let unwrapped: UnwrapResult;
    try {
      unwrapped = await this.#o.signer.unwrap(bunker, event);
    } catch (error) {
      if (error instanceof OverloadedError) {
        this.stats.overloaded++;
        const reason = errorReason("overloaded", "retry later");
        return await this.#rejectEvent(bunker, event, relayUrl, authorization, reason);
      }
      if (error instanceof WorkerCrashedError || error instanceof SignerTimeoutError) {
        // The worker holding the request died or hung, not necessarily because of the request:
        // its replacement answers with an error through the reserved lane, so nobody waits forever.
        return await this.#rejectEvent(bunker, event, relayUrl, authorization, SIGNER_FAILED);
      }
      this.#seenEvents.delete(`${event.id}:${event.sig}`);
      return this.#drop(error instanceof SignerError ? error.name : "unwrap failed", relayUrl);
    }
    const parsed = parseRequest(unwrapped.plaintext);
    if (!parsed.ok && parsed.id === undefined) return this.#drop(parsed.error, relayUrl);
    const requestId = parsed.ok ? parsed.request.id : parsed.id!;
    if (!this.#seenRequests.add(`${unwrapped.clientPubkey}:${requestId}`, this.#o.now())) {
      this.stats.duplicates++;
      return;
    }
    const reply = async (action: ReplyAction, kind: number | null, method: string) => {
      const response = await this.#respond(authorization, unwrapped, requestId, action);
      // Recorded when decided and signed, before the (possibly slow) publish.
      this.#o.onDecision?.({
        authorizationId: authorization.id,
        clientPubkey: unwrapped.clientPubkey,
        method,
        eventKind: kind,
        eventId: action.type === "sign_event" && !response.error
          ? signedEventId(response.result) ?? unwrapped.eventId
          : unwrapped.eventId,
        decision: response.error ? "deny" : "allow",
        reason: response.error ?? null,
        latencyMs: performance.now() - started,
      });
      await this.#publish(response.event, authorization, relayUrl);
    };
    if (!parsed.ok) return await reply({ type: "error", error: parsed.error }, null, "invalid");

    const { request } = parsed;
    const current = this.#o.directory.get(bunkerPubkey);
    const refusal = current
      ? this.#lifecycleRefusal(current)
      : errorReason("revoked", "the authorization was revoked");
    if (refusal) return await reply({ type: "error", error: refusal }, null, request.method);
    let result: { action: ReplyAction; kind?: number };
    try {
      result = await this.#decide(current!, unwrapped.clientPubkey, request);
    } catch (error) {
      // connect/logout write to the database; when it is unreachable the client still hears back.
      this.#o.log({
        level: "error",
        ns: "nip46.listener",
        msg: "Cannot handle request",
        method: request.method,
        relayUrl,
        error,
      });
      result = { action: { type: "error", error: UNAVAILABLE } };
    }
    await reply(result.action, result.kind ?? null, request.method);
  }

  async #decide(authorization: ActiveAuthorization, clientPubkey: string, request: Nip46Request) {
    const outcome = await dispatch(
      { clients: this.#o.clients },
      authorization,
      clientPubkey,
      request,
    );
    if (outcome.updated) this.#o.directory.update(outcome.updated);
    if (outcome.action.type === "error" || request.method === "connect") return outcome;
    const denial = this.#o.policy.check(authorization, {
      method: request.method,
      clientPubkey,
      userPubkey: authorization.userPubkey,
      kind: outcome.kind,
      content: contentOf(outcome.action),
      counterparty: counterpartyOf(outcome.action),
    });
    return denial
      ? { action: { type: "error", error: denial } as ReplyAction, kind: outcome.kind }
      : outcome;
  }

  #lifecycleRefusal(authorization: ActiveAuthorization): string | undefined {
    if (authorization.expiresAt !== null && authorization.expiresAt * 1000 <= this.#o.now()) {
      return errorReason("expired", "the authorization has expired");
    }
    return undefined;
  }

  #precheck(raw: unknown): { event: NostrEvent; bunkerPubkey: string } | string {
    if (typeof raw !== "object" || raw === null) return "not an object";
    const event = raw as Partial<NostrEvent>;
    if (event.kind !== NIP46_KIND) return "wrong kind";
    if (!isHex64(event.id) || !isHex64(event.pubkey) || typeof event.sig !== "string") {
      return "bad shape";
    }
    if (typeof event.content !== "string" || event.content.length > MAX_CONTENT_CHARS) {
      return "bad content";
    }
    if (typeof event.created_at !== "number" || !Array.isArray(event.tags)) return "bad shape";
    if (event.tags.length > MAX_TAGS) return "too many tags";
    const skew = Math.abs(this.#o.now() / 1000 - event.created_at);
    if (skew > this.#o.windowSeconds) return "stale";
    const bunkerPubkey = event.tags.find((tag) =>
      Array.isArray(tag) && tag[0] === "p" && typeof tag[1] === "string" &&
      (this.#o.directory.get(tag[1]) ?? this.#o.directory.removed(tag[1]))
    )?.[1] as string | undefined;
    if (!bunkerPubkey) return "no loaded bunker in #p";
    return { event: event as NostrEvent, bunkerPubkey };
  }

  /** Answers `event` with `reason` through the signer's reserved lane (one job: decrypt + reply). */
  async #rejectEvent(
    bunker: KeyRef,
    event: NostrEvent,
    relayUrl: string,
    auth: ActiveAuthorization,
    reason: string,
  ) {
    let reply: RespondResult | undefined;
    try {
      reply = await this.#o.signer.reject?.(bunker, event, reason);
    } catch (error) {
      const why = error instanceof OverloadedError
        ? "the reserved lane is full"
        : error instanceof SignerError
        ? error.name
        : "reject failed";
      return this.#drop(`cannot answer "${reason}": ${why}`, relayUrl);
    }
    if (!reply) return this.#drop(`cannot answer "${reason}": no request id`, relayUrl);
    await this.#publish(reply.event, auth, relayUrl);
  }

  async #respond(
    authorization: ActiveAuthorization,
    unwrapped: UnwrapResult,
    requestId: string,
    action: ReplyAction,
  ): Promise<RespondResult> {
    const bunker = { pubkey: authorization.bunkerPubkey, sealed: authorization.bunkerSecretSealed };
    const job = {
      bunker,
      clientPubkey: unwrapped.clientPubkey,
      scheme: unwrapped.scheme,
      requestId,
      createdAt: Math.floor(this.#o.now() / 1000),
    };
    let response: RespondResult;
    try {
      response = await this.#o.signer.respond({ ...job, action });
    } catch (error) {
      if (error instanceof SignerClosedError) throw error;
      // The action failed in a way the worker could not turn into a reply (crash, timeout,
      // overload): answer with an error so the client is never left waiting.
      const reason = error instanceof OverloadedError
        ? errorReason("overloaded", "retry later")
        : SIGNER_FAILED;
      response = await this.#o.signer.respond({ ...job, action: { type: "error", error: reason } });
    }
    return response;
  }

  async #publish(event: NostrEvent, authorization: ActiveAuthorization, relayUrl: string) {
    const relays = [...new Set([relayUrl, ...authorization.relays])];
    await this.#o.publisher.publish(event, relays);
    this.stats.answered++;
  }

  #drop(reason: string, relayUrl: string): void {
    this.stats.dropped++;
    this.#o.log({ level: "debug", ns: "nip46.listener", msg: "Dropped event", reason, relayUrl });
  }
}

/** True when `event.id` is the SHA-256 of its canonical serialization (WebCrypto, off the JS thread). */
async function idMatchesContent(event: NostrEvent): Promise<boolean> {
  let serialized: string;
  try {
    serialized = serializeEvent(event.pubkey, event);
  } catch {
    return false; // Not serializable (cannot come from JSON, but then it is no event either).
  }
  return await sha256Hex(serialized) === event.id;
}

function signedEventId(result: string): string | undefined {
  try {
    const id = (JSON.parse(result) as { id?: unknown }).id;
    return isHex64(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

function contentOf(action: ReplyAction): string | undefined {
  if (action.type === "sign_event") {
    try {
      const content = (JSON.parse(String(action.template)) as { content?: unknown }).content;
      return typeof content === "string" ? content : undefined;
    } catch {
      return undefined;
    }
  }
  if (action.type === "encrypt") return action.plaintext;
  return undefined;
}

function counterpartyOf(action: ReplyAction): string | undefined {
  return action.type === "encrypt" || action.type === "decrypt" ? action.peer : undefined;
}
