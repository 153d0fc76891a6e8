/** What the {@link Listener} depends on, and the decisions it reports. */
import type { ActiveAuthorization, AuthorizedClient } from "../channel/command.ts";
import type { ClientsRepo } from "../db/repos/clients.ts";
import type { Log } from "../log.ts";
import type { KeyRef, RespondJob, RespondResult, UnwrapResult } from "../signer/protocol.ts";
import type { NostrEvent } from "../nostr/event.ts";
import type { PolicyGate } from "./policy_gate.ts";

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
