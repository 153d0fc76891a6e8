/**
 * The NIP-46 request path, in stages that each return a tagged result:
 *
 * 1. intake (`intake.ts`, main thread): shape, size, kind, `#p` names a loaded bunker, stale
 *    window; the id must be the SHA-256 of the content; copies already taken in are dropped;
 * 2. throttle (`throttle.ts`, main thread): a sender that is not a connected client of the
 *    authorization is charged to its own, its bunker's and a global token bucket, and dropped
 *    when over;
 * 3. unwrap (`unwrap.ts`): verify and decrypt in a worker (an event in a connected client's name
 *    is not charged: limiting events by the pubkey they claim would let a forger shut the client
 *    out, so a forgery costs one verification and has no other effect);
 * 4. read (`unwrap.ts`): parse `{id, method, params}`; a repeated (bunker, client, request id)
 *    gets the reply kept for it (`replies.ts`) again, or nothing while the first is in flight;
 * 5. decide (`decide.ts`): revoked / expired, then the method handler, then the policy;
 * 6. reply (`reply.ts`): built, encrypted with the request's scheme and signed in a worker,
 *    kept for repeats (in the client's share), reported to `onDecision` (a stranger's within a
 *    shared budget), published to the authorization's relays and the one it came in on.
 *
 * Every request that can be answered is answered; what cannot (forged, undecryptable, no id) is
 * dropped with a debug log line — a forged event must have no effect at all.
 */
import { KeyErrorLog } from "./key_errors.ts";
import type { ActiveAuthorization } from "../domain/authorization.ts";
import type { NostrEvent } from "../nostr/event.ts";
import type { KeyRef, UnwrapResult } from "../signer/protocol.ts";
import { type DecideDeps, decideRequest, refuse, type Verdict } from "./decide.ts";
import { admitEvent, eventKey, type IntakeDeps } from "./intake.ts";
import { isConnected } from "./connect.ts";
import { emptyListenerStats, type ListenerOptions, type ListenerStats } from "./listener_types.ts";
import type { KeyUnavailableError } from "../signer/errors.ts";
import { ReplyCache, replyOwner, STRANGERS } from "./replies.ts";
import { decisionOf, replyRelays, respondTo } from "./reply.ts";
import { SeenSet } from "./seen.ts";
import { UnconnectedThrottle } from "./throttle.ts";
import { isForged, openEvent, readRequest, requestKey } from "./unwrap.ts";
import { MAX_REQUEST_ID_CHARS } from "./protocol.ts";

export { MAX_TAGS } from "./intake.ts";
export type {
  Decision,
  ListenerDirectory,
  ListenerOptions,
  ListenerPublisher,
  ListenerSigner,
  ListenerStats,
  RequestClaims,
} from "./listener_types.ts";

/** At most one line about strangers' decisions left unreported, per this many ms. */
const UNREPORTED_LOG_INTERVAL_MS = 60_000;

/** How long event ids and request ids are remembered as seen, and replies kept, in ms. */
export const DUPLICATE_WINDOW_MS = 600_000;

/** One request on its way to the reply stage. */
interface Answer {
  /** The authorization the request was addressed to (live or tombstone): its key answers. */
  authorization: ActiveAuthorization;
  /** The verified, decrypted request event. */
  unwrapped: UnwrapResult;
  /** The request id the reply echoes. */
  requestId: string;
  /** The method, or `"invalid"` for a request that did not parse. */
  method: string;
  /** What the reply says. */
  verdict: Verdict;
  /** `performance.now()` when the event arrived. */
  started: number;
  /** The relay the request came in on. */
  relayUrl: string;
}

/** Turns relay events into answered NIP-46 requests. */
export class Listener {
  readonly #o:
    & Required<
      Omit<
        ListenerOptions,
        | "onDecision"
        | "unconnectedLimits"
        | "replyCache"
        | "servedRelays"
        | "claims"
        | "sharedLimits"
      >
    >
    & Pick<ListenerOptions, "onDecision" | "servedRelays" | "claims" | "sharedLimits">;
  readonly #seenEvents = new SeenSet({ ttlMs: DUPLICATE_WINDOW_MS, max: 100_000 });
  readonly #seenRequests = new SeenSet({ ttlMs: DUPLICATE_WINDOW_MS, max: 100_000 });
  readonly #replies: ReplyCache;
  /** When the last key error was logged, per authorization id. */
  readonly #keyErrors: KeyErrorLog;
  readonly #throttle: UnconnectedThrottle;
  /** Strangers' decisions left unreported since the last line said so, and when that was. */
  readonly #unreported = { count: 0, loggedAt: -Infinity };
  readonly #inflight = new Set<Promise<void>>();
  readonly #intake: IntakeDeps;
  readonly #decide: DecideDeps;
  /** Counters for /health and /metrics. */
  readonly stats: ListenerStats = emptyListenerStats();

  /** Throws a RangeError when `unconnectedLimits` holds an unusable limit. */
  constructor(options: ListenerOptions) {
    const o = { windowSeconds: 120, now: Date.now, ...options };
    this.#o = o;
    this.#keyErrors = new KeyErrorLog(o.log, "nip46.listener");
    this.#throttle = new UnconnectedThrottle(o.unconnectedLimits, o.now());
    this.#replies = new ReplyCache(DUPLICATE_WINDOW_MS, o.replyCache);
    this.#intake = {
      directory: o.directory,
      seenEvents: this.#seenEvents,
      windowSeconds: o.windowSeconds,
      now: () => o.now(),
    };
    this.#decide = {
      directory: o.directory,
      clients: o.clients,
      policy: o.policy,
      log: o.log,
      now: () => o.now(),
      servedRelays: o.servedRelays,
      sharedLimits: o.sharedLimits,
    };
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

  /** Runs one relay event through the stages (see the module doc). */
  async #handle(raw: unknown, relayUrl: string): Promise<void> {
    const started = performance.now();
    const intake = await admitEvent(raw, this.#intake);
    switch (intake.kind) {
      case "drop":
        return this.#drop(intake.reason, relayUrl);
      case "duplicate":
        this.stats.duplicates++;
        return this.#drop("duplicate", relayUrl);
    }
    const { event, bunkerPubkey, authorization } = intake;
    const limited = this.#throttle.charge(authorization, event.pubkey, this.#o.now());
    if (limited) {
      this.stats.unconnectedDropped++;
      return this.#drop(limited, relayUrl);
    }
    const unwrapped = await this.#unwrap(event, authorization, relayUrl);
    if (!unwrapped) return;

    const read = readRequest({ ...unwrapped, bunkerPubkey }, this.#seenRequests, this.#intake.now);
    switch (read.kind) {
      case "drop":
        return this.#drop(read.reason, relayUrl);
      case "duplicate":
        return await this.#repeat(read.requestId, unwrapped, authorization, relayUrl);
    }
    const { clientPubkey } = unwrapped;
    if (!await this.#claim(bunkerPubkey, clientPubkey, read.requestId, relayUrl)) return;
    switch (read.kind) {
      case "invalid":
        return await this.#reply({
          authorization,
          unwrapped,
          requestId: read.requestId,
          method: "invalid",
          verdict: refuse(read.error),
          started,
          relayUrl,
        });
    }
    const verdict = await decideRequest(this.#decide, {
      bunkerPubkey,
      clientPubkey: unwrapped.clientPubkey,
      request: read.request,
      relayUrl,
    });
    await this.#reply({
      authorization,
      unwrapped,
      requestId: read.requestId,
      method: read.request.method,
      verdict,
      started,
      relayUrl,
    });
  }

  /**
   * With several instances, the claim of the answer (see `RequestClaims`): false when another
   * instance answers, or when the claim cannot be made — then the request is forgotten here, so
   * a retry is served once the database answers.
   */
  async #claim(
    bunkerPubkey: string,
    clientPubkey: string,
    requestId: string,
    relayUrl: string,
  ): Promise<boolean> {
    const claims = this.#o.claims;
    if (!claims) return true;
    try {
      if (await claims.claim({ bunkerPubkey, clientPubkey, requestId })) return true;
      this.stats.claimedElsewhere++;
      this.#drop("answered by another instance", relayUrl);
    } catch (error: unknown) {
      this.stats.claimFailed++;
      this.#seenRequests.delete(requestKey(bunkerPubkey, clientPubkey, requestId));
      this.#o.log({
        level: "warn",
        ns: "nip46.listener",
        msg: "Cannot claim a request: not answering it",
        relayUrl,
        error,
      });
      this.stats.dropped++;
    }
    return false;
  }

  /**
   * With several instances, the claim of an error reply from the reserved lane (`overloaded`,
   * `signer failed`): it is published only by the instance that holds the claim, like any answer
   * — else a request that reached two instances could get this error from one besides the real
   * answer from the other. The worker verified the event, so its author is the client; a request
   * id the read stage would not accept is not claimed, and the rejection is dropped.
   */
  async #claimRejection(
    bunkerPubkey: string,
    clientPubkey: string,
    requestId: string,
    relayUrl: string,
  ): Promise<boolean> {
    if (!this.#o.claims) return true;
    if (requestId === "" || requestId.length > MAX_REQUEST_ID_CHARS) {
      this.#drop("rejection without a usable request id", relayUrl);
      return false;
    }
    return await this.#claim(bunkerPubkey, clientPubkey, requestId, relayUrl);
  }

  /** The unwrap stage. Returns the opened request, or undefined when it was answered or dropped. */
  async #unwrap(
    event: NostrEvent,
    authorization: ActiveAuthorization,
    relayUrl: string,
  ): Promise<UnwrapResult | undefined> {
    const { bunkerPubkey } = authorization;
    const bunker: KeyRef = { pubkey: bunkerPubkey, sealed: authorization.bunkerSecretSealed };
    const opened = await openEvent(this.#o.signer, { bunker, event });
    if (isForged(opened)) this.stats.forged++;
    switch (opened.kind) {
      case "unwrapped":
        return opened.unwrapped;
      case "reject": {
        if (opened.overloaded) this.stats.overloaded++;
        const { rejection } = opened;
        if (rejection.kind === "drop") {
          this.#drop(rejection.reason, relayUrl);
          return undefined;
        }
        const { requestId } = rejection;
        if (await this.#claimRejection(bunkerPubkey, event.pubkey, requestId, relayUrl)) {
          await this.#publish(rejection.event, authorization, relayUrl);
        }
        return undefined;
      }
      case "drop":
        this.#seenEvents.delete(eventKey(event));
        this.#drop(opened.reason, relayUrl);
        return undefined;
      case "unavailable":
        this.#seenEvents.delete(eventKey(event));
        this.#keyUnavailable(authorization.id, opened.error);
        this.#drop("bunker key unavailable", relayUrl);
        return undefined;
    }
  }

  /**
   * A repeated request id: the kept reply goes out again, else nothing (see `replies.ts`). Its
   * content — already encrypted to the client — is signed anew by the bunker key with a fresh
   * `created_at`: relays that carried the first reply would refuse the very same event as a
   * duplicate. Nothing the client asked for runs twice; if the signer is busy, the kept event
   * itself is published.
   */
  async #repeat(
    requestId: string,
    unwrapped: UnwrapResult,
    authorization: ActiveAuthorization,
    relayUrl: string,
  ): Promise<void> {
    const key = requestKey(authorization.bunkerPubkey, unwrapped.clientPubkey, requestId);
    const reply = this.#replies.replyToRepeat(key, unwrapped.eventId, this.#o.now());
    if (!reply) {
      this.stats.duplicates++;
      return;
    }
    const envelope = await this.#o.signer.signWithKey({
      key: { pubkey: authorization.bunkerPubkey, sealed: authorization.bunkerSecretSealed },
      template: {
        kind: reply.kind,
        // A later second than the first reply's: the same second would give the same event id.
        created_at: Math.max(Math.floor(this.#o.now() / 1000), reply.created_at + 1),
        tags: reply.tags,
        content: reply.content,
      },
    }).catch(() => reply);
    await this.#publish(envelope, authorization, relayUrl);
    this.stats.resent++;
  }

  /**
   * The reply stage: respond, keep the reply (in the client's share, or the strangers'), report
   * the decision (before publishing; a stranger's within their budget), publish.
   */
  async #reply(answer: Answer): Promise<void> {
    const { authorization, unwrapped, verdict } = answer;
    const response = await respondTo(
      this.#o.signer,
      {
        bunker: { pubkey: authorization.bunkerPubkey, sealed: authorization.bunkerSecretSealed },
        clientPubkey: unwrapped.clientPubkey,
        scheme: unwrapped.scheme,
        requestId: answer.requestId,
        createdAt: Math.floor(this.#o.now() / 1000),
      },
      verdict.action,
      (error) => this.#keyUnavailable(authorization.id, error),
    );
    const { bunkerPubkey } = authorization;
    const clientConnected = isConnected(
      this.#o.directory.get(bunkerPubkey) ?? authorization,
      unwrapped.clientPubkey,
    );
    const key = requestKey(bunkerPubkey, unwrapped.clientPubkey, answer.requestId);
    const owner = clientConnected ? replyOwner(bunkerPubkey, unwrapped.clientPubkey) : STRANGERS;
    // An `overloaded:` reply did nothing and asks for a retry: the request id is forgotten instead.
    if (!this.#replies.keep(key, owner, response, unwrapped.eventId, this.#o.now())) {
      this.#seenRequests.delete(key);
    }
    if (clientConnected || this.#throttle.admitReport(this.#o.now())) {
      this.#o.onDecision?.(decisionOf({
        authorizationId: authorization.id,
        clientPubkey: unwrapped.clientPubkey,
        method: answer.method,
        eventKind: verdict.eventKind,
        action: verdict.action,
        response,
        requestEventId: unwrapped.eventId,
        latencyMs: performance.now() - answer.started,
        clientConnected,
      }));
    } else {
      this.#unreportedDecision();
    }
    await this.#publish(response.event, authorization, answer.relayUrl);
  }

  /**
   * A decision about a stranger over their shared budget: counted, and said at warn at most once
   * a minute, with how many went unreported since the last line.
   */
  #unreportedDecision(): void {
    this.stats.unconnectedUnreported++;
    this.#unreported.count++;
    const now = this.#o.now();
    if (now - this.#unreported.loggedAt < UNREPORTED_LOG_INTERVAL_MS) return;
    this.#o.log({
      level: "warn",
      ns: "nip46.listener",
      msg: "Unconnected senders over their audit budget: decisions not written to the audit log",
      unreported: this.#unreported.count,
    });
    this.#unreported.count = 0;
    this.#unreported.loggedAt = now;
  }

  async #publish(event: NostrEvent, authorization: ActiveAuthorization, relayUrl: string) {
    const relays = this.#o.servedRelays?.(authorization) ?? authorization.relays;
    await this.#o.publisher.publish(event, replyRelays(relayUrl, relays));
    this.stats.answered++;
  }

  /**
   * A key of `authorizationId` cannot be opened: counted, and logged at error at most once a minute
   * per authorization (every request to it fails the same way until the operator acts).
   */
  #keyUnavailable(authorizationId: string, error: KeyUnavailableError): void {
    this.stats.keyUnavailable++;
    this.#keyErrors.report(authorizationId, error, this.#o.now());
  }

  #drop(reason: string, relayUrl: string): void {
    this.stats.dropped++;
    this.#o.log({ level: "debug", ns: "nip46.listener", msg: "Dropped event", reason, relayUrl });
  }
}
