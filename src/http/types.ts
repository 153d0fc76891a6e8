/** The admin API's dependencies and the typed Hono context every route handler reads. */
import type { AuthorizationChannel } from "../channel/channel.ts";
import type { Db } from "../db/db.ts";
import type { Repos } from "../db/repos/mod.ts";
import type { Log } from "../log.ts";
import type { Vault } from "../vault/vault.ts";

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
  /** Audit rows waiting for the database, and rows dropped because the buffer was full. */
  audit?: { buffered: number; dropped: number };
}

/** The reply that completes a nostrconnect:// pairing. */
export interface PairingReply {
  bunkerPubkey: string;
  /** The bunker secret key, vault-sealed. */
  bunkerSecretSealed: string;
  clientPubkey: string;
  /** The client's secret from the URI (never log it). */
  secret: string;
  relays: string[];
}

/** Everything {@link createApp} needs; `main.ts` builds it, tests build it with `TestApp`. */
export interface AppDeps {
  /** The database (health pings it). */
  db: Db;
  /** Repositories over `db`. */
  repos: Repos;
  /** Seals new user and bunker secret keys. */
  vault: Vault;
  /** Receives one command after each committed change to authorizations. */
  channel: AuthorizationChannel;
  /** The structured logger. */
  log: Log;
  /** Version reported by `/health`. */
  version: string;
  /** The server's `--relay` list, used when an authorization names none. */
  defaultRelays: string[];
  /** sha256 of the admin token (the token itself is never kept). */
  adminTokenHash: Uint8Array;
  /** Lowercase hex pubkeys allowed to use the admin API with NIP-98. */
  adminPubkeys: string[];
  /** Live listener state for `/health`. */
  signerStatus: () => SignerStatus;
  /** Resolves true once the listener is subscribed for this bunker pubkey; must honour `signal`. */
  awaitSubscribed?: (bunkerPubkey: string, signal: AbortSignal) => Promise<boolean>;
  /**
   * Sends the `connect` reply of a nostrconnect:// pairing (`result` = the client's secret) from
   * the bunker key on `relays`; resolves true when at least one relay accepted it. Without it,
   * `POST /api/connect` answers 503.
   */
  sendPairingReply?: (pairing: PairingReply) => Promise<boolean>;
  /** Renders `GET /metrics` (Prometheus text format); without it the route answers 404. */
  metrics?: () => string;
  /** Largest accepted request body, in bytes. Default 65_536. */
  maxBodyBytes?: number;
  /** How long `POST /api/authorizations` waits for `awaitSubscribed`, in ms. Default 5_000. */
  subscribeTimeoutMs?: number;
  /** How long reading a request body may take, in ms. Default 30_000. */
  bodyTimeoutMs?: number;
  /** Wall clock in ms since the epoch (NIP-98 windows, expiry times). Default `Date.now`. */
  now?: () => number;
}

/** How the current request proved it is an admin. */
export type AdminIdentity = { method: "bearer" } | { method: "nip98"; pubkey: string };

/** Typed `c.var` of every handler. */
export interface AppVariables {
  /** The database. */
  db: Db;
  /** Repositories over `db`. */
  repos: Repos;
  /** The vault for sealing secrets. */
  vault: Vault;
  /** The authorization channel to the listener. */
  channel: AuthorizationChannel;
  /** The structured logger. */
  log: Log;
  /** The dependencies as given, with defaults applied. */
  deps: ResolvedDeps;
  /** Id of this request (accepted from `X-Request-Id` when sane, else a fresh UUID). */
  requestId: string;
  /** The request body, read and size-capped once (empty for bodiless requests). */
  rawBody: Uint8Array;
  /** Set by the admin auth middleware on `/api/*`. */
  admin: AdminIdentity;
}

/** {@link AppDeps} with every optional number and clock filled in. */
export type ResolvedDeps =
  & Omit<AppDeps, "maxBodyBytes" | "subscribeTimeoutMs" | "bodyTimeoutMs" | "now">
  & Required<Pick<AppDeps, "maxBodyBytes" | "subscribeTimeoutMs" | "bodyTimeoutMs" | "now">>;

/** The Hono environment of the admin API. */
export interface AppEnv {
  /** Context variables. */
  Variables: AppVariables;
}
