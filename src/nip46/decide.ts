/**
 * Deciding a valid request: the authorization must still be live and unexpired, then the method
 * handler chooses the action ({@link dispatch}), then the authorization's policy may deny it.
 */
import type { ActiveAuthorization } from "../domain/authorization.ts";
import type { Log } from "../log.ts";
import type { ReplyAction } from "../signer/protocol.ts";
import { contentOf, counterpartyOf, createdAtOf } from "./action_fields.ts";
import type { ListenerDirectory, ListenerOptions } from "./listener_types.ts";
import { dispatch } from "./methods.ts";
import type { PolicyGate } from "./policy_gate.ts";
import { errorReason, type Nip46Request } from "./protocol.ts";

/** Reply to a request whose handling failed on our side (e.g. the database is unreachable). */
export const UNAVAILABLE: string = errorReason(
  "overloaded",
  "the request could not be completed now, retry later",
);

/** The reply chosen for a request, and the kind of the event it concerns (for audit). */
export interface Verdict {
  /** What the reply says, or the key operation that produces it. */
  action: ReplyAction;
  /** For sign_event: the kind of the event to sign; null otherwise. */
  eventKind: number | null;
}

/** What {@link decideRequest} reads and writes. */
export interface DecideDeps {
  /** The newest copy of each authorization; connect and logout record the client on it. */
  directory: Pick<ListenerDirectory, "get" | "setClient">;
  /** Where connect and logout are written (the database). */
  clients: ListenerOptions["clients"];
  /** The authorization's policy. */
  policy: Pick<PolicyGate, "check">;
  /** Receives the line for a request that failed on our side. */
  log: Log;
  /** Clock in ms, for expiry. */
  now: () => number;
  /** What `switch_relays` answers (see `DispatchDeps`). */
  servedRelays?: (authorization: ActiveAuthorization) => string[];
  /**
   * With several instances: the policy's rate limits charged in the database too, so they hold
   * across instances (`src/cluster/rate_limits.ts`); resolves to the denial, or undefined.
   */
  sharedLimits?: SharedLimits;
}

/** Rate limits shared by several instances (see {@link DecideDeps.sharedLimits}). */
export interface SharedLimits {
  charge(
    authorization: ActiveAuthorization,
    clientPubkey: string,
    method: string,
  ): Promise<string | undefined>;
}

/** One valid request, as {@link decideRequest} sees it. */
export interface DecideInput {
  /** The bunker pubkey the request was addressed to. */
  bunkerPubkey: string;
  /** The verified author of the request (over HTTP: the grant's pseudo-client id). */
  clientPubkey: string;
  /** The parsed request. */
  request: Nip46Request;
  /** The relay the request came in on (for the log line); absent over HTTP. */
  relayUrl?: string;
  /** The client is bound by an HTTP signing grant, not by `connect` (see `dispatch`). */
  bound?: boolean;
}

/** A verdict that answers with `error`. */
export function refuse(error: string): Verdict {
  return { action: { type: "error", error }, eventKind: null };
}

/**
 * The decide stage: revoked and expired authorizations are refused, then {@link dispatch} and the
 * policy choose the reply. A failure on our side (connect/logout cannot reach the database) is
 * logged and answered with {@link UNAVAILABLE}, so the client still hears back.
 */
export async function decideRequest(deps: DecideDeps, input: DecideInput): Promise<Verdict> {
  const current = deps.directory.get(input.bunkerPubkey);
  if (!current) return refuse(errorReason("revoked", "the authorization was revoked"));
  const refusal = lifecycleRefusal(current, deps.now);
  if (refusal) return refuse(refusal);
  try {
    return await dispatchAndCheck(deps, current, input);
  } catch (error) {
    deps.log({
      level: "error",
      ns: "nip46.listener",
      msg: "Cannot handle request",
      method: input.request.method,
      relayUrl: input.relayUrl,
      error,
    });
    return refuse(UNAVAILABLE);
  }
}

/** Why a live `authorization` may not be used now (`expired: …`), or undefined. */
export function lifecycleRefusal(
  authorization: ActiveAuthorization,
  now: () => number,
): string | undefined {
  if (authorization.expiresAt !== null && authorization.expiresAt * 1000 <= now()) {
    return errorReason("expired", "the authorization has expired");
  }
  return undefined;
}

async function dispatchAndCheck(
  deps: DecideDeps,
  authorization: ActiveAuthorization,
  { clientPubkey, request, bound }: DecideInput,
): Promise<Verdict> {
  const outcome = await dispatch(
    {
      clients: deps.clients,
      servedRelays: deps.servedRelays,
    },
    authorization,
    clientPubkey,
    request,
    {
      bound,
    },
  );
  if (outcome.client) deps.directory.setClient(authorization.bunkerPubkey, outcome.client);
  const eventKind = outcome.kind ?? null;
  if (outcome.action.type === "error" || request.method === "connect") {
    return { action: outcome.action, eventKind };
  }
  const denial = deps.policy.check(authorization, {
    method: request.method,
    clientPubkey,
    userPubkey: authorization.userPubkey,
    kind: outcome.kind,
    content: contentOf(outcome.action),
    counterparty: counterpartyOf(outcome.action),
    createdAt: createdAtOf(outcome.action),
  });
  if (denial) return { action: { type: "error", error: denial }, eventKind };
  const shared = await deps.sharedLimits?.charge(authorization, clientPubkey, request.method);
  return shared
    ? { action: { type: "error", error: shared }, eventKind }
    : { action: outcome.action, eventKind };
}
