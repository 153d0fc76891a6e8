/** The admin API's dependencies and the typed Hono context every route handler reads. */
import type { CsrfTokens } from "../accounts/tokens.ts";
import type { Log } from "../log.ts";
import type { HttpGrant, HttpSigning } from "../nip46/http_signer.ts";
import type { ServiceDeps } from "../service/deps.ts";
import type { VerifiedNip98 } from "./nip98.ts";
import type { SessionContext } from "./session.ts";

/** One relay as the listener sees it, for `/health`. */
export interface RelayStatus {
  /** Relay URL. */
  url: string;
  /** True while the WebSocket is open. */
  connected: boolean;
  /** True once the relay confirmed the listener's subscription (EOSE). */
  subscribed: boolean;
}

/** Live listener state reported by `/health` and `/health/ready`. */
export interface SignerStatus {
  /** Authorizations held by the listener. */
  loadedAuthorizations: number;
  /** Channel commands received but not applied yet. */
  pendingCommands: number;
  /** Signing workers running. */
  workers: number;
  /** Signing jobs waiting for a worker. */
  queueDepth: number;
  /** True once authorizations are loaded and the listener serves relays (drives `/health/ready`). */
  ready: boolean;
  /** Every relay the listener uses. */
  relays: RelayStatus[];
  /**
   * Audit rows waiting for the database, dropped because the buffer was full, refused by the
   * database (set aside), and not written because a never-connected client sent too many.
   */
  audit?: { buffered: number; dropped: number; rejected: number; suppressed: number };
  /** keycast's own relay endpoint (`GET /<bunker pubkey>` over WebSocket), when it runs. */
  ownRelay?: {
    /** Whether new bunker URLs list it (`--public-url` is set). */
    advertised: boolean;
    /** NIP-42 mode, `required` or `optional`. */
    auth: string;
    /** Open connections. */
    connections: number;
    /** Open connections that authenticated a pubkey. */
    authenticatedConnections: number;
  };
  /** This instance's part in a cluster (`serve --cluster`). */
  cluster?: {
    /** This instance's id. */
    id: string;
    /** Live instances it last saw, itself included. */
    instances: number;
    /** Bunker slots it serves (of 4096). */
    servedSlots: number;
    /** Bunkers it watches on relays. */
    watched: number;
    /** Its lease ran out unrenewed: it serves none of its bunkers until the database answers. */
    fenced: boolean;
    /** Handing its bunkers over before it stops. */
    leaving: boolean;
  };
}

/** One keycast serving this database, as `GET /api/instances` lists it. */
export interface InstanceInfo {
  /** 32 hex characters, new at every start. */
  id: string;
  /** Where operators can find it: `host:port`. */
  address: string;
  /** The keycast version it runs. */
  version: string;
  /** When it started (without `--cluster`) or joined the cluster. */
  startedAt: Date;
  /** Its last lease renewal; null without `--cluster` (no lease). */
  heartbeatAt: Date | null;
  /** When its lease runs out unless renewed; null without `--cluster`. */
  leaseUntil: Date | null;
  /** Handing its bunkers over before it stops. */
  leaving: boolean;
}

/** The instances serving this database, and which one answers. */
export interface InstanceList {
  /** Whether this instance runs with `--cluster`; without it, it is the only instance. */
  cluster: boolean;
  /** The id of the instance answering. */
  self: string;
  /** Every live instance, oldest first (without `--cluster`: this one alone). */
  instances: InstanceInfo[];
}

/** Everything {@link createApp} needs; `src/server.ts` builds it, tests build it with `TestApp`. */
export interface AppDeps {
  /** What the routes call: repositories, vault, change feed, clock, listener link. */
  services: ServiceDeps;
  /** True when the database answers within `timeoutMs` (health checks). */
  pingDatabase: (timeoutMs: number) => Promise<boolean>;
  /** Version reported by `/health`. */
  version: string;
  /** sha256 of the admin token (the token itself is never kept). */
  adminTokenHash: Uint8Array;
  /** Lowercase hex pubkeys allowed to use the admin API with NIP-98. */
  adminPubkeys: string[];
  /**
   * This server's origins, which NIP-98 `u` tags must name: the `--public-url`, or the bound
   * address (read once the port is known).
   */
  origins: () => readonly string[];
  /** Live listener state for `/health`. */
  signerStatus: () => SignerStatus;
  /**
   * The instances serving this database, for `GET /api/instances` (`src/server/instances.ts`);
   * may throw `DatabaseUnavailableError` (503).
   */
  instances: () => Promise<InstanceList>;
  /** Renders `GET /metrics` (Prometheus text format); without it the route answers 404. */
  metrics?: () => string;
  /** Largest accepted request body, in bytes. Default 65_536. */
  maxBodyBytes?: number;
  /** How long reading a request body may take, in ms. Default 30_000. */
  bodyTimeoutMs?: number;
  /** Mints and checks the CSRF tokens of the web pages' forms. */
  csrf: CsrfTokens;
  /** Addresses of reverse proxies whose `X-Forwarded-For` is believed (`--trust-proxy`). */
  trustedProxies?: readonly string[];
  /**
   * HTTP signing (`POST /api/nostr`): access tokens resolved into grants, and the signer that runs
   * their requests over the listener's live state. Without it the route answers 503.
   */
  httpSigning?: HttpSigning;
}

/** How the current request proved it is an admin. */
export type AdminIdentity =
  | { method: "bearer" }
  | { method: "nip98"; pubkey: string; event: VerifiedNip98 }
  /** A logged-in account with the admin role, through the session cookie. */
  | { method: "session"; accountId: string };

/** Typed `c.var` of every handler. */
export interface AppVariables {
  /** The services, with a logger that carries this request's id. */
  services: ServiceDeps;
  /** The structured logger, carrying this request's id. */
  log: Log;
  /** The dependencies as given, with defaults applied. */
  deps: ResolvedDeps;
  /** Id of this request (accepted from `X-Request-Id` when sane, else a fresh UUID). */
  requestId: string;
  /** The request body, read and size-capped once (empty for bodiless requests). */
  rawBody: Uint8Array;
  /** Set by the admin auth middleware on the admin routes. */
  admin: AdminIdentity;
  /** The logged-in person, when the request carries a live session cookie. */
  session?: SessionContext;
  /** On `/api/nostr`: the grant of the request's access token (set by `nostrAuth`). */
  httpGrant?: HttpGrant;
}

/** {@link AppDeps} with every optional number filled in. */
export type ResolvedDeps =
  & Omit<AppDeps, "maxBodyBytes" | "bodyTimeoutMs">
  & Required<Pick<AppDeps, "maxBodyBytes" | "bodyTimeoutMs">>;

/** The Hono environment of the admin API. */
export interface AppEnv {
  /** Context variables. */
  Variables: AppVariables;
}
