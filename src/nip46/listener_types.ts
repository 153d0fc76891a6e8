/** What the {@link Listener} depends on, and the decisions it reports. */
import type { ActiveAuthorization, AuthorizedClient } from "../domain/authorization.ts";
import type { ClientsRepo } from "../db/repos/clients.ts";
import type { Log } from "../log.ts";
import type { KeyRef, RespondInput, RespondResult, UnwrapResult } from "../signer/protocol.ts";
import type { NostrEvent } from "../nostr/event.ts";
import type { PolicyGate } from "./policy_gate.ts";

/** The crypto the listener needs; {@link SignerPool} implements it. */
export interface ListenerSigner {
  /** Verifies and decrypts a request addressed to `bunker`. */
  unwrapRequest(input: { bunker: KeyRef; event: unknown }): Promise<UnwrapResult>;
  /** Runs an action and returns the encrypted, signed reply. */
  respond(input: RespondInput): Promise<RespondResult>;
  /** Verifies, decrypts and answers with `error` in one job, in the pool's small reserved lane. */
  rejectRequest(
    input: { bunker: KeyRef; event: unknown; error: string },
  ): Promise<RespondResult | undefined>;
}

/** Where replies go. */
export interface ListenerPublisher {
  publish(event: NostrEvent, relays: string[]): Promise<unknown>;
}

/** Live authorizations by bunker pubkey, plus recently removed ones (to answer `revoked`). */
export interface ListenerDirectory {
  get(bunkerPubkey: string): ActiveAuthorization | undefined;
  removed(bunkerPubkey: string): ActiveAuthorization | undefined;
  /** Records a client the listener bound or logged out, on the newest copy of the authorization. */
  setClient(bunkerPubkey: string, client: AuthorizedClient): void;
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
