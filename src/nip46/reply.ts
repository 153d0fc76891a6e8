/**
 * Answering a request: the reply is built, encrypted with the request's scheme and signed in a
 * worker ({@link respondTo}, or {@link rejectEvent} for an event that could not be unwrapped),
 * recorded as a {@link Decision}, and published to the relay it came in on plus the
 * authorization's relays ({@link replyRelays}).
 */
import type { NostrEvent } from "../nostr/event.ts";
import {
  InvalidEventError,
  KeyUnavailableError,
  OverloadedError,
  SignerClosedError,
  SignerError,
} from "../signer/errors.ts";
import type {
  KeyRef,
  RejectResult,
  ReplyAction,
  RespondInput,
  RespondResult,
} from "../signer/protocol.ts";
import { signedEventId } from "./action_fields.ts";
import type { Decision, ListenerSigner } from "./listener_types.ts";
import { errorReason } from "./protocol.ts";

/** Reply when the signer's queue is full. */
export const RETRY_LATER: string = errorReason("overloaded", "retry later");
/** Reply to a request the signer could not finish (its worker crashed or hung). */
export const SIGNER_FAILED: string = errorReason(
  "invalid",
  "the signer could not complete the request",
);

/** Reply when a key the request needs cannot be opened on this server. */
export const KEY_UNAVAILABLE: string = errorReason(
  "invalid",
  "the signing key cannot be opened on this server",
);

/** A reply job without its action: who answers whom, how, and when (`createdAt` in Unix seconds). */
export type ReplyJob = Omit<RespondInput, "action"> & { createdAt: number };

/**
 * The respond stage: runs `action` and returns the signed reply. When the action fails in a way
 * the worker could not turn into a reply (crash, timeout, overload, a key that cannot be opened),
 * answers with an error instead, so the client is never left waiting; a closed signer is rethrown.
 * `onKeyUnavailable` hears of a key that cannot be opened.
 */
export async function respondTo(
  signer: Pick<ListenerSigner, "respond">,
  job: ReplyJob,
  action: ReplyAction,
  onKeyUnavailable?: (error: KeyUnavailableError) => void,
): Promise<RespondResult> {
  try {
    return await signer.respond({ ...job, action });
  } catch (error) {
    if (error instanceof SignerClosedError) throw error;
    if (error instanceof KeyUnavailableError) onKeyUnavailable?.(error);
    const reason = error instanceof OverloadedError
      ? RETRY_LATER
      : error instanceof KeyUnavailableError
      ? KEY_UNAVAILABLE
      : SIGNER_FAILED;
    return await signer.respond({ ...job, action: { type: "error", error: reason } });
  }
}

/**
 * Outcome of {@link rejectEvent}: the reply to publish and the request id it echoes, or why there
 * is none (`forged` when the event itself is invalid: its signature, mostly).
 */
export type Rejection =
  | { kind: "reply"; event: NostrEvent; requestId: string }
  | { kind: "drop"; reason: string; forged: boolean };

/** The reject stage: answers `event` with `reason` through the signer's reserved lane (one job). */
export async function rejectEvent(
  signer: Pick<ListenerSigner, "rejectRequest">,
  bunker: KeyRef,
  event: NostrEvent,
  reason: string,
): Promise<Rejection> {
  let reply: RejectResult | undefined;
  try {
    reply = await signer.rejectRequest({ bunker, event, error: reason });
  } catch (error) {
    const why = error instanceof OverloadedError
      ? "the reserved lane is full"
      : error instanceof SignerError
      ? error.name
      : "reject failed";
    const forged = error instanceof InvalidEventError;
    return { kind: "drop", reason: `cannot answer "${reason}": ${why}`, forged };
  }
  if (!reply) {
    return { kind: "drop", reason: `cannot answer "${reason}": no request id`, forged: false };
  }
  return { kind: "reply", event: reply.event, requestId: reply.requestId };
}

/** What {@link decisionOf} records about one answered request. */
export interface DecisionInput {
  /** The authorization that answered (live, or the tombstone of a removed one). */
  authorizationId: string;
  /** The verified author of the request. */
  clientPubkey: string;
  /** The method, or `"invalid"` for a request that did not parse. */
  method: string;
  /** For sign_event: the kind of the event to sign; null otherwise. */
  eventKind: number | null;
  /** The action the reply was asked to carry. */
  action: ReplyAction;
  /** The signed reply. */
  response: RespondResult;
  /** Id of the request event. */
  requestEventId: string;
  /** Time since the event arrived, in ms. */
  latencyMs: number;
  /** Whether the client is a bound, logged-in client of the authorization once answered. */
  clientConnected: boolean;
}

/**
 * The audit record of an answered request: denied when the reply carries an error; for a signed
 * event, the id of the event signed (else the request event's id).
 */
export function decisionOf(input: DecisionInput): Decision {
  const { action, response } = input;
  return {
    authorizationId: input.authorizationId,
    clientPubkey: input.clientPubkey,
    method: input.method,
    eventKind: input.eventKind,
    eventId: action.type === "sign_event" && !response.error
      ? signedEventId(response.result) ?? input.requestEventId
      : input.requestEventId,
    decision: response.error ? "deny" : "allow",
    reason: response.error ?? null,
    latencyMs: input.latencyMs,
    clientConnected: input.clientConnected,
    transport: "nip46",
  };
}

/** Where a reply goes: the relay the request came in on, then the authorization's, deduplicated. */
export function replyRelays(relayUrl: string, relays: readonly string[]): string[] {
  return [...new Set([relayUrl, ...relays])];
}
