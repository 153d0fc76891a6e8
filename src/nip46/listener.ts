/**
 * The NIP-46 request path (SPEC "NIP-46 engine"): relay event → cheap checks on the main thread
 * (`intake.ts`: shape, size, kind, `#p` names a loaded bunker, stale window; then the id must be
 * the SHA-256 of the content, and duplicate copies are dropped) → verify and decrypt in a worker →
 * parse `{id, method, params}` → duplicate (client, request id) → revoked / expired / policy →
 * method → reply built, encrypted with the request's scheme and signed in a worker → published to
 * the authorization's relays and the relay it came in on.
 *
 * Every request that can be answered is answered; what cannot (forged, undecryptable, no id) is
 * dropped with a debug log line — a forged event must have no effect at all.
 */
import type { ActiveAuthorization } from "../domain/authorization.ts";
import {
  OverloadedError,
  SignerClosedError,
  SignerError,
  SignerTimeoutError,
  WorkerCrashedError,
} from "../signer/errors.ts";
import type { KeyRef, ReplyAction, RespondResult, UnwrapResult } from "../signer/protocol.ts";
import type { NostrEvent } from "../nostr/event.ts";
import { contentOf, counterpartyOf, signedEventId } from "./action_fields.ts";
import { idMatchesContent, precheckEvent } from "./intake.ts";
import type { ListenerOptions } from "./listener_types.ts";
import { dispatch } from "./methods.ts";
import { errorReason, type Nip46Request, parseRequest } from "./protocol.ts";
import { SeenSet } from "./seen.ts";

/** Reply to a request the signer could not finish (its worker crashed or hung). */
const SIGNER_FAILED = errorReason("invalid", "the signer could not complete the request");
/** Reply to a request whose handling failed on our side (e.g. the database is unreachable). */
const UNAVAILABLE = errorReason(
  "overloaded",
  "the request could not be completed now, retry later",
);

export { MAX_TAGS } from "./intake.ts";
export type {
  Decision,
  ListenerDirectory,
  ListenerOptions,
  ListenerPublisher,
  ListenerSigner,
} from "./listener_types.ts";

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
    const precheck = precheckEvent(raw, {
      nowMs: this.#o.now(),
      windowSeconds: this.#o.windowSeconds,
      serves: (bunkerPubkey) =>
        Boolean(this.#o.directory.get(bunkerPubkey) ?? this.#o.directory.removed(bunkerPubkey)),
    });
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
      unwrapped = await this.#o.signer.unwrapRequest({ bunker, event });
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
    if (outcome.client) this.#o.directory.setClient(authorization.bunkerPubkey, outcome.client);
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
      reply = await this.#o.signer.rejectRequest({ bunker, event, error: reason });
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
