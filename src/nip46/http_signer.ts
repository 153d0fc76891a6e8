/**
 * HTTP signing (`POST /api/nostr`, docs/ARCHITECTURE.md "The HTTP signing flow"): the methods the
 * method table marks `http`, answered for an OAuth grant over the listener's live state.
 *
 * 1. The grant's authorization is looked up in the registry by bunker pubkey on every request (no
 *    cache of its own): once the channel removed it, the next request is refused with 401.
 * 2. The decide stage is NIP-46's (`decide.ts`): expiry, the method handler, then the policy gate
 *    — so a policy binds HTTP exactly as it binds NIP-46. There is no `connect`: the grant is the
 *    binding. Per-client rate limits are keyed on the grant's pseudo-client id `http:<grant id>`.
 * 3. The key operation runs in the same {@link SignerPool} (lane, semaphore, bounded queue); a
 *    full queue answers 503 `overloaded: …` with a Retry-After.
 * 4. The decision goes to the same `onDecision` as the listener's (audit log, metrics), with
 *    transport `http`. Token failures (401) are not decisions and are not recorded.
 */
import { KeyErrorLog } from "./key_errors.ts";
import type { ActiveAuthorization } from "../domain/authorization.ts";
import type { Log } from "../log.ts";
import { isNip46Method, MAX_REQUEST_CONTENT_CHARS, NIP46_METHODS } from "../nostr/nip46.ts";
import {
  KeyUnavailableError,
  OverloadedError,
  SignerClosedError,
  SignerError,
  SignerTimeoutError,
} from "../signer/errors.ts";
import type { ActionReply, KeyAction } from "../signer/pool.ts";
import { isHex64 } from "../util/hex.ts";
import { signedEventId } from "./action_fields.ts";
import { type DecideDeps, decideRequest, lifecycleRefusal, type SharedLimits } from "./decide.ts";
import type { Decision, ListenerDirectory } from "./listener_types.ts";
import type { PolicyGate } from "./policy_gate.ts";
import { type ErrorPrefix, errorReason, MAX_PARAMS } from "./protocol.ts";
import { KEY_UNAVAILABLE, RETRY_LATER, SIGNER_FAILED } from "./reply.ts";

/** What an access token grants, as the OAuth service resolves it. */
export interface HttpGrant {
  /** The grant's id; the policy's per-client rate limits key on `http:<grantId>`. */
  grantId: string;
  /** The NIP-46 authorization this grant created (the policy and key come from it). */
  authorizationId: string;
  /** The bunker pubkey of that authorization: how the live registry finds it. */
  bunkerPubkey: string;
  /** The app's redirect origin, e.g. "https://app.example" (CORS allows exactly this). */
  origin: string;
}

/** What `POST /api/nostr` answers. */
export interface HttpSignerAnswer {
  /** HTTP status: 200, 400, 401, 403, 429, 500 or 503. */
  status: number;
  /** The JSON body: the method's result, or an error with a NIP-46 prefix (`forbidden: …`). */
  body: { result: string } | { error: string };
  /** For 429 and 503: seconds until a retry may succeed (the `Retry-After` header). */
  retryAfterSeconds?: number;
}

/** Answers one HTTP signing request for a resolved grant. */
export interface HttpSigner {
  /** Runs `method` with `params` (the request body's, unchecked) for `grant`. Never rejects for bad input. */
  handle(grant: HttpGrant, method: string, params: readonly unknown[]): Promise<HttpSignerAnswer>;
}

/** HTTP signing as the HTTP app takes it (`AppDeps.httpSigning`). */
export interface HttpSigning {
  /** The grant of a live access token; undefined when it is unknown, expired or revoked. */
  resolve(token: string): Promise<HttpGrant | undefined>;
  /**
   * Whether a live grant has `origin` as its redirect origin. CORS preflights carry no token, so
   * this is what answers them (and the CORS headers of a 401). Default: no origin.
   */
  allowsOrigin?(origin: string): Promise<boolean>;
  /** Runs the requests. */
  signer: HttpSigner;
}

/** The key operations HTTP signing needs; `SignerPool` implements it. */
export interface HttpSignerPool {
  /** Runs a key action and returns its bare outcome. */
  perform(action: KeyAction): Promise<ActionReply>;
}

/** Dependencies of {@link LiveHttpSigner}. */
export interface LiveHttpSignerOptions {
  /** The listener's live authorizations (the registry, or the directory over it). */
  directory: Pick<ListenerDirectory, "get">;
  /** The listener's policy gate: compiled policies and their rate-limit buckets are shared. */
  policy: Pick<PolicyGate, "check">;
  /** The signer pool the listener uses. */
  signer: HttpSignerPool;
  /** Receives every decision (the listener's audit writer and metrics), with transport `http`. */
  onDecision?: (decision: Decision) => void;
  /** Receives the error lines (a key that cannot be opened, a failed request). */
  log: Log;
  /** Clock in ms, for expiry and rate limits. Default `Date.now`. */
  now?: () => number;
  /** With several instances: rate limits shared through the database. */
  sharedLimits?: SharedLimits;
}

/** Seconds a client is asked to wait when the signer's queue is full. */
export const OVERLOADED_RETRY_SECONDS = 1;

/** The pseudo-client id of a grant: what policies and the audit log see as its client. */
export function httpClientId(grantId: string): string {
  return `http:${grantId}`;
}

/** HTTP status of each error prefix. */
const STATUS: Record<ErrorPrefix, number> = {
  unauthorized: 401,
  revoked: 401,
  expired: 401,
  forbidden: 403,
  "rate-limited": 429,
  invalid: 400,
  unsupported: 400,
  overloaded: 503,
};

/** Failures on our side, whose `invalid:` wording NIP-46 clients expect but which are no 400. */
const SERVER_FAILURES: ReadonlySet<string> = new Set([SIGNER_FAILED, KEY_UNAVAILABLE]);

/** HTTP has no connect or logout (not `http` in the method table): nothing writes clients. */
const NO_CLIENT_WRITES: DecideDeps["clients"] = {
  redeem: () => Promise.reject(new Error("Cannot redeem a connection secret over HTTP")),
  logout: () => Promise.reject(new Error("Cannot log out over HTTP")),
};

/** {@link HttpSigner} over the listener's registry, policy gate and signer pool. */
export class LiveHttpSigner implements HttpSigner {
  readonly #o: LiveHttpSignerOptions & { now: () => number };
  readonly #decide: DecideDeps;
  readonly #keyErrors: KeyErrorLog;

  constructor(options: LiveHttpSignerOptions) {
    this.#o = { now: Date.now, ...options };
    this.#keyErrors = new KeyErrorLog(options.log, "nip46.http");
    const { directory } = options;
    this.#decide = {
      directory: { get: (bunkerPubkey) => directory.get(bunkerPubkey), setClient: () => {} },
      clients: NO_CLIENT_WRITES,
      policy: options.policy,
      log: options.log,
      now: () => this.#o.now(),
      sharedLimits: options.sharedLimits,
    };
  }

  /** Answers one request (see the module doc); rejects only on a bug, never for bad input. */
  async handle(
    grant: HttpGrant,
    method: string,
    params: readonly unknown[],
  ): Promise<HttpSignerAnswer> {
    const started = performance.now();
    const current = this.#o.directory.get(grant.bunkerPubkey);
    if (!current || current.id !== grant.authorizationId) {
      return answer(errorReason("revoked", "the authorization was revoked"));
    }
    const lifecycle = lifecycleRefusal(current, this.#o.now);
    if (lifecycle) return answer(lifecycle);
    const record = (outcome: HttpSignerAnswer, eventKind: number | null = null) =>
      this.#record(current, grant, method, eventKind, outcome, started);

    if (!isNip46Method(method) || !NIP46_METHODS[method].http) {
      return record(answer(errorReason("unsupported", `${clip(method)} is not offered over HTTP`)));
    }
    const read = readParams(method, params, current.userPubkey);
    if (typeof read === "string") return record(answer(errorReason("invalid", read)));

    const verdict = await decideRequest(this.#decide, {
      bunkerPubkey: grant.bunkerPubkey,
      clientPubkey: httpClientId(grant.grantId),
      request: { id: "", method, params: read },
      bound: true,
    });
    const { action, eventKind } = verdict;
    switch (action.type) {
      case "result":
        return record({ status: 200, body: { result: action.result } }, eventKind);
      case "error":
        return record(answer(action.error), eventKind);
      case "auth_url":
        return record(answer(SIGNER_FAILED), eventKind); // never chosen for an HTTP method
    }
    return record(await this.#perform(current, action), eventKind);
  }

  /** Runs the key action in the pool; a signer failure becomes an answer (500 or 503). */
  async #perform(
    authorization: ActiveAuthorization,
    action: KeyAction,
  ): Promise<HttpSignerAnswer> {
    let reply: ActionReply;
    try {
      reply = await this.#o.signer.perform(action);
    } catch (error) {
      if (error instanceof OverloadedError) return answer(RETRY_LATER);
      if (error instanceof SignerTimeoutError) {
        return answer(errorReason("overloaded", "the signer did not answer in time, retry later"));
      }
      if (error instanceof SignerClosedError) {
        return answer(errorReason("overloaded", "the server is shutting down, retry later"));
      }
      if (error instanceof KeyUnavailableError) {
        this.#keyUnavailable(authorization.id, error);
        return answer(KEY_UNAVAILABLE);
      }
      if (error instanceof SignerError) return answer(SIGNER_FAILED);
      throw error;
    }
    return reply.error === undefined
      ? { status: 200, body: { result: reply.result } }
      : answer(reply.error);
  }

  #record(
    authorization: ActiveAuthorization,
    grant: HttpGrant,
    method: string,
    eventKind: number | null,
    outcome: HttpSignerAnswer,
    started: number,
  ): HttpSignerAnswer {
    const error = "error" in outcome.body ? outcome.body.error : null;
    const result = "result" in outcome.body ? outcome.body.result : undefined;
    this.#o.onDecision?.({
      authorizationId: authorization.id,
      clientPubkey: httpClientId(grant.grantId),
      method,
      eventKind,
      eventId: method === "sign_event" && result !== undefined
        ? signedEventId(result) ?? null
        : null,
      decision: error === null ? "allow" : "deny",
      reason: error,
      latencyMs: performance.now() - started,
      clientConnected: true,
      transport: "http",
    });
    return outcome;
  }

  /** A key that cannot be opened: logged at error at most once a minute per authorization. */
  #keyUnavailable(authorizationId: string, error: KeyUnavailableError): void {
    this.#keyErrors.report(authorizationId, error, this.#o.now());
  }
}

/**
 * The answer carrying `error`, with the status of its prefix; our own failures are 500, and
 * 429/503 say when to retry.
 */
export function answer(error: string): HttpSignerAnswer {
  const prefix = error.slice(0, Math.max(0, error.indexOf(":"))) as ErrorPrefix;
  const status = SERVER_FAILURES.has(error) ? 500 : STATUS[prefix] ?? 500;
  const out: HttpSignerAnswer = { status, body: { error } };
  if (status === 503) out.retryAfterSeconds = OVERLOADED_RETRY_SECONDS;
  if (status === 429) out.retryAfterSeconds = retryAfterOf(error);
  return out;
}

/** The seconds a `rate-limited: … retry in N s` reason names; 1 when it names none. */
function retryAfterOf(reason: string): number {
  const seconds = Number(/retry in (\d{1,9}) s/.exec(reason)?.[1]);
  return Number.isSafeInteger(seconds) && seconds > 0 ? seconds : 1;
}

/**
 * The params as the NIP-46 handlers take them (strings), or what is wrong with them. `sign_event`
 * takes `[event object or its JSON, user pubkey?]`: the pubkey, when given, must be the grant's
 * user's; every other method takes strings, as over NIP-46.
 */
function readParams(
  method: string,
  params: readonly unknown[],
  userPubkey: string,
): string[] | string {
  if (params.length > MAX_PARAMS) return `params must hold at most ${MAX_PARAMS} values`;
  if (method !== "sign_event") {
    return params.every((param) => typeof param === "string")
      ? params as string[]
      : "every param must be a string";
  }
  const [event, pubkey, ...rest] = params;
  if (rest.length > 0) return "sign_event takes [event, pubkey?]";
  let template: string;
  if (typeof event === "string") template = event;
  else if (typeof event === "object" && event !== null && !Array.isArray(event)) {
    template = JSON.stringify(event);
  } else return "sign_event needs an event object or its JSON as params[0]";
  if (template.length > MAX_REQUEST_CONTENT_CHARS) {
    return `the event is longer than ${MAX_REQUEST_CONTENT_CHARS} characters`;
  }
  if (pubkey !== undefined) {
    if (!isHex64(pubkey)) return "params[1] must be the user's pubkey in 64 lowercase hex";
    if (pubkey !== userPubkey) return `this grant signs for ${userPubkey}, not ${pubkey}`;
  }
  return [template];
}

function clip(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}
