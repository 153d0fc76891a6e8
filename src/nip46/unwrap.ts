/**
 * Opening a request that passed intake: verify and decrypt it in a worker ({@link unwrapEvent};
 * {@link openEvent} adds the reserved lane's answer), then parse
 * `{id, method, params}` and tell a (bunker, client, request id) seen before ({@link readRequest}).
 */
import type { NostrEvent } from "../nostr/event.ts";
import {
  InvalidEventError,
  KeyUnavailableError,
  OverloadedError,
  SignerError,
  SignerTimeoutError,
  WorkerCrashedError,
} from "../signer/errors.ts";
import type { KeyRef, UnwrapResult } from "../signer/protocol.ts";
import type { ListenerSigner } from "./listener_types.ts";
import { type Nip46Request, parseRequest } from "./protocol.ts";
import { rejectEvent, type Rejection, RETRY_LATER, SIGNER_FAILED } from "./reply.ts";
import type { SeenSet } from "./seen.ts";

/** Outcome of {@link unwrapEvent}. */
export type Unwrap =
  | { kind: "unwrapped"; unwrapped: UnwrapResult }
  /** Answer with `reason` through the signer's reserved lane; `overloaded` when its queue was full. */
  | { kind: "reject"; reason: string; overloaded: boolean }
  /**
   * Drop without a reply, and forget the event was seen (it had no effect); `forged` when the
   * event itself is invalid (its signature, mostly: the rest was checked on the main thread).
   */
  | { kind: "drop"; reason: string; forged: boolean }
  /**
   * The bunker key cannot be opened (a corrupt row, a master key that does not match): nothing
   * can decrypt the request or sign an answer, so it is dropped, and the operator must hear of it.
   */
  | { kind: "unavailable"; error: KeyUnavailableError };

/**
 * The unwrap stage: verifies and decrypts `event` with the `bunker` key. A full queue, a crashed
 * or hung worker still get an answer (through the reserved lane); a forged or undecryptable event
 * is dropped, named by its error class; a bunker key that cannot be opened is reported apart.
 */
export async function unwrapEvent(
  signer: Pick<ListenerSigner, "unwrapRequest">,
  bunker: KeyRef,
  event: NostrEvent,
): Promise<Unwrap> {
  try {
    return { kind: "unwrapped", unwrapped: await signer.unwrapRequest({ bunker, event }) };
  } catch (error) {
    if (error instanceof OverloadedError) {
      return { kind: "reject", reason: RETRY_LATER, overloaded: true };
    }
    if (error instanceof WorkerCrashedError || error instanceof SignerTimeoutError) {
      // The worker holding the request died or hung, not necessarily because of the request:
      // its replacement answers with an error through the reserved lane, so nobody waits forever.
      return { kind: "reject", reason: SIGNER_FAILED, overloaded: false };
    }
    if (error instanceof KeyUnavailableError) return { kind: "unavailable", error };
    const reason = error instanceof SignerError ? error.name : "unwrap failed";
    return { kind: "drop", reason, forged: error instanceof InvalidEventError };
  }
}

/** Outcome of {@link openEvent}: {@link unwrapEvent}'s, with the reserved lane's answer to a reject. */
export type Opened =
  | Exclude<Unwrap, { kind: "reject" }>
  | { kind: "reject"; overloaded: boolean; rejection: Rejection };

/**
 * The unwrap stage: {@link unwrapEvent}, then for an event it could not unwrap the reserved lane's
 * answer (`rejectEvent`). A drop says `forged` when either job found the event invalid.
 */
export async function openEvent(
  signer: Pick<ListenerSigner, "unwrapRequest" | "rejectRequest">,
  input: { bunker: KeyRef; event: NostrEvent },
): Promise<Opened> {
  const { bunker, event } = input;
  const opened = await unwrapEvent(signer, bunker, event);
  if (opened.kind !== "reject") return opened;
  const rejection = await rejectEvent(signer, bunker, event, opened.reason);
  return { kind: "reject", overloaded: opened.overloaded, rejection };
}

/** Whether an {@link Opened} is a drop of an invalid event (a bad signature, mostly). */
export function isForged(opened: Opened): boolean {
  if (opened.kind === "drop") return opened.forged;
  return opened.kind === "reject" && opened.rejection.kind === "drop" && opened.rejection.forged;
}

/** Outcome of {@link readRequest}. */
export type Read =
  /** No usable request id: there is nothing to answer. */
  | { kind: "drop"; reason: string }
  /** This client already sent this request id to this bunker: not answered a second time. */
  | { kind: "duplicate"; requestId: string }
  /** Not a valid request, but it has an id: answer with `error`. */
  | { kind: "invalid"; requestId: string; error: string }
  /** A valid request, seen for the first time. */
  | { kind: "request"; requestId: string; request: Nip46Request };

/**
 * The key of one request: request ids are chosen by the client, so they are unique per client and
 * bunker at most (a client of two bunkers may count `"1"`, `"2"`, … on each).
 */
export function requestKey(bunkerPubkey: string, clientPubkey: string, requestId: string): string {
  return `${bunkerPubkey}:${clientPubkey}:${requestId}`;
}

/**
 * The read stage: parses the decrypted text and records its {@link requestKey} in `seenRequests`
 * at `now()` (called only when there is an id); a repeat is a duplicate.
 */
export function readRequest(
  unwrapped: Pick<UnwrapResult, "clientPubkey" | "plaintext"> & { bunkerPubkey: string },
  seenRequests: SeenSet,
  now: () => number,
): Read {
  const parsed = parseRequest(unwrapped.plaintext);
  let requestId: string;
  if (parsed.ok) requestId = parsed.request.id;
  else if (parsed.id === undefined) return { kind: "drop", reason: parsed.error };
  else requestId = parsed.id;
  const key = requestKey(unwrapped.bunkerPubkey, unwrapped.clientPubkey, requestId);
  if (!seenRequests.add(key, now())) return { kind: "duplicate", requestId };
  return parsed.ok
    ? { kind: "request", requestId, request: parsed.request }
    : { kind: "invalid", requestId, error: parsed.error };
}
