/** What the {@link Listener} depends on, and the decisions it reports. */
import type { ActiveAuthorization, AuthorizedClient } from "../domain/authorization.ts";
import type { AuditTransport } from "../db/repos/audit.ts";
import type { ClientsRepo } from "../db/repos/clients.ts";
import type { Log } from "../log.ts";
import type {
  KeyRef,
  RejectResult,
  RespondInput,
  RespondResult,
  UnwrapResult,
} from "../signer/protocol.ts";
import type { NostrEvent } from "../nostr/event.ts";
import type { SharedLimits } from "./decide.ts";
import type { PolicyGate } from "./policy_gate.ts";
import type { ReplyCacheLimits } from "./replies.ts";
import type { UnconnectedLimits } from "./throttle.ts";

/** The crypto the listener needs; {@link SignerPool} implements it. */
export interface ListenerSigner {
  /** Verifies and decrypts a request addressed to `bunker`. */
  unwrapRequest(input: { bunker: KeyRef; event: unknown }): Promise<UnwrapResult>;
  /** Runs an action and returns the encrypted, signed reply. */
  respond(input: RespondInput): Promise<RespondResult>;
  /**
   * Verifies, decrypts and answers with `error` in one job, in the pool's small reserved lane;
   * `undefined` when the request carries no id.
   */
  rejectRequest(
    input: { bunker: KeyRef; event: unknown; error: string },
  ): Promise<RejectResult | undefined>;
  /** Signs `template` with `key` (a re-sent reply's fresh envelope); `pubkey`/`id`/`sig` computed. */
  signWithKey(input: { key: KeyRef; template: unknown }): Promise<NostrEvent>;
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

/** The {@link Listener}'s counters, for /health and /metrics; each only grows. */
export interface ListenerStats {
  /** Relay events handed to the listener. */
  received: number;
  /** Events dropped without a reply (includes `unconnectedDropped` and `forged`). */
  dropped: number;
  /** Replies published (includes `resent`). */
  answered: number;
  /** Requests refused because the signer's queue was full. */
  overloaded: number;
  /** Copies of an event, and repeated request ids, ignored without a reply. */
  duplicates: number;
  /** Requests from unconnected senders dropped by their rate limits, before any worker job. */
  unconnectedDropped: number;
  /**
   * Decisions about unconnected senders over their shared audit budget: answered, but not
   * reported to `onDecision` (no audit row, not in the request metrics).
   */
  unconnectedUnreported: number;
  /** Events a worker found invalid (a bad signature, mostly): dropped with no effect. */
  forged: number;
  /** Kept replies published again for a repeated request id. */
  resent: number;
  /** Requests that met a key this server cannot open (logged at error). */
  keyUnavailable: number;
  /** Requests another instance claimed first (cluster mode): answered there, dropped here. */
  claimedElsewhere: number;
  /** Requests whose claim could not be made (the database did not answer): dropped. */
  claimFailed: number;
}

/** Counters of a listener that has seen nothing yet. */
export function emptyListenerStats(): ListenerStats {
  return {
    received: 0,
    dropped: 0,
    answered: 0,
    overloaded: 0,
    duplicates: 0,
    unconnectedDropped: 0,
    unconnectedUnreported: 0,
    forged: 0,
    resent: 0,
    keyUnavailable: 0,
    claimedElsewhere: 0,
    claimFailed: 0,
  };
}

/**
 * Claims the answer to a request among several instances (`serve --cluster`, `src/cluster/`), so
 * a request that reaches two instances is answered by one.
 */
export interface RequestClaims {
  /** True when this instance answers; false when another claimed it; rejects when unknown. */
  claim(
    request: { bunkerPubkey: string; clientPubkey: string; requestId: string },
  ): Promise<boolean>;
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
  /** Whether the client was connected to the authorization (strangers' rows are rate-limited). */
  clientConnected: boolean;
  /** How the request came: over relays (`nip46`) or `POST /api/nostr` (`http`). */
  transport: AuditTransport;
}

/** Dependencies and settings of the {@link Listener}. */
export interface ListenerOptions {
  directory: ListenerDirectory;
  signer: ListenerSigner;
  publisher: ListenerPublisher;
  clients: Pick<ClientsRepo, "redeem" | "logout">;
  policy: PolicyGate;
  log: Log;
  /**
   * Receives the decisions (audit log, metrics): every one about a connected client; those about
   * other senders within their shared budget (`unconnectedLimits.auditRows`), the rest only
   * counted in `stats.unconnectedUnreported`, so a flood of random keys cannot fill the audit log.
   */
  onDecision?: (decision: Decision) => void;
  /**
   * The relays `switch_relays` answers with, and replies also go to: keycast's own endpoint first
   * when advertised, then the authorization's. Default the authorization's relays.
   */
  servedRelays?: (authorization: ActiveAuthorization) => string[];
  /** Requests older (or further in the future) than this are dropped, in seconds. Default 120. */
  windowSeconds?: number;
  /** Clock in ms. Default Date.now. */
  now?: () => number;
  /**
   * Rate limits for senders that are not connected clients of the authorization they write to,
   * charged before any worker job, and the budget of their decisions reported; each field
   * defaults (see `DEFAULT_UNCONNECTED_LIMITS`: per sender 20/min, burst 10; per bunker 20/s,
   * burst 60; all of them 200/s, burst 400; decisions reported 10/s, burst 100; 10_000 sender
   * and 10_000 bunker buckets).
   */
  unconnectedLimits?: Partial<UnconnectedLimits>;
  /**
   * Bounds of the replies kept to answer a repeated request id again; each field defaults (see
   * `DEFAULT_REPLY_CACHE_LIMITS`: 50_000 replies, 32 MiB; per client of a bunker, and for all
   * unconnected senders together, 1_000 replies, 2 MiB).
   */
  replyCache?: Partial<ReplyCacheLimits>;
  /**
   * With several instances: every request is claimed before it is decided (and before the
   * reserved lane's error reply to it is published), and dropped when another instance claimed it
   * or the claim cannot be made (fail closed). Default: none (one instance answers everything it
   * hears).
   */
  claims?: RequestClaims;
  /** With several instances: rate limits shared through the database (see `DecideDeps`). */
  sharedLimits?: SharedLimits;
}
