/**
 * What the admin services need. Routes, the web pages and tests build one {@link ServiceDeps}
 * and call the service functions with it; the services know nothing of HTTP.
 */
import type { PasswordHasher } from "../accounts/password.ts";
import type { LoginThrottle } from "../accounts/throttle.ts";
import type { SharedThrottle } from "../cluster/login_throttle.ts";
import type { Repos } from "../db/repos/repos.ts";
import type { Log } from "../log.ts";
import type { Vault } from "../vault/vault.ts";
import type { AuthorizationChanges } from "./changes.ts";

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

/** The running listener, as the services see it. */
export interface ListenerLink {
  /** Resolves true once the listener is subscribed for this bunker pubkey; honours `signal`. */
  awaitSubscribed(bunkerPubkey: string, signal: AbortSignal): Promise<boolean>;
  /**
   * Sends the `connect` reply of a nostrconnect:// pairing (`result` = the client's secret) from
   * the bunker key; resolves true when at least one relay accepted it.
   */
  sendPairingReply(pairing: PairingReply): Promise<boolean>;
}

/** Where and how a backup is taken (the server's database and data dir). */
export interface SnapshotSource {
  /** Directory the snapshot is written in: the data dir (the SQLite worker may write only there). */
  dir: string;
  /** Writes a consistent copy of the database to the new file `path` (`Db.snapshot`). */
  snapshot(path: string): Promise<void>;
}

/** Who may register: nobody (admins create accounts), holders of an invite, or anyone. */
export type RegistrationMode = "closed" | "invite" | "open";

/** How accounts behave on this server (`serve` flags). */
export interface AccountSettings {
  registration: RegistrationMode;
  /** A session ends after this long unused, in ms. */
  sessionIdleMs: number;
  /** A session ends this long after login whatever happens, in ms. */
  sessionMaxMs: number;
}

/** The signer's key operations the account services use (the secrets stay in its workers). */
export interface KeyWorker {
  /** A fresh key's pubkey and vault-sealed secret. */
  generateKey(): Promise<{ pubkey: string; sealed: string }>;
  /** A stored key as NIP-49 ncryptsec under `password`. */
  exportKey(
    input: { key: { pubkey: string; sealed: string }; password: string; logN: number },
  ): Promise<string>;
}

/** What the account services need beyond the admin ones. */
export interface AccountDeps {
  passwords: Pick<PasswordHasher, "hash" | "verify" | "verifyNobody">;
  keyWorker: KeyWorker;
  throttle: LoginThrottle;
  /**
   * With several instances: attempts this instance's throttle admits are counted in the database
   * too, so limits hold across instances (`src/cluster/login_throttle.ts`). Default: none.
   */
  sharedThrottle?: SharedThrottle;
  settings: AccountSettings;
}

/** Dependencies of every service function. */
export interface ServiceDeps {
  /** Repositories over the database. */
  repos: Repos;
  /** Seals new user and bunker secret keys. */
  vault: Vault;
  /** Tells the listener about committed changes. */
  changes: AuthorizationChanges;
  /** The structured logger (routes pass one carrying the request id). */
  log: Log;
  /** Wall clock in ms since the epoch. */
  now: () => number;
  /** The server's `--relay` list, used when an authorization names none. */
  defaultRelays: readonly string[];
  /**
   * keycast's own relay endpoint, when advertised (`--public-url`): its URL for a bunker pubkey,
   * listed first in every new `bunker://` URL. Then the relay lists may be empty.
   */
  localRelayUrl?: (bunkerPubkey: string) => string;
  /** The listener; absent when none runs (then pairing is unavailable). */
  listener?: ListenerLink;
  /** How long creating an authorization waits for the listener to subscribe, in ms. Default 5_000. */
  subscribeTimeoutMs?: number;
  /** The database copier behind backups; absent when none is wired (then backups are unavailable). */
  snapshots?: SnapshotSource;
  /** Accounts, sessions and people's keys; absent when not wired (then those services fail). */
  accounts?: AccountDeps;
  /** OAuth for web apps; absent = off. */
  oauth?: OAuthSettings;
}

/** Whether apps may use OAuth: any app, only registered clients, or none. */
export type OAuthMode = "open" | "registered" | "off";

/** How OAuth behaves on this server (`serve` flags). */
export interface OAuthSettings {
  mode: OAuthMode;
  /** Lifetime of an access token, in ms. Default 1 hour. */
  accessTtlMs: number;
  /** Lifetime of a refresh token, in ms. Default 30 days. */
  refreshTtlMs: number;
}
