/**
 * `AdminClient`: the management subcommands' typed client of the admin API (`/api/*`), one method
 * per route. Every request carries `Authorization: Bearer <token>` and has a timeout; failures
 * become an {@link AdminError} whose message is safe to print (it never holds the token, a secret
 * key, a connection secret or a `bunker://` URL). Redirects are never followed (bodies hold
 * secret keys and the token travels in every request): a 3xx answer is an error. For the same
 * reason requests never go through a proxy, whatever HTTP_PROXY or HTTPS_PROXY say
 * (`direct_fetch.ts`).
 */
import { BACKUP_MEDIA_TYPE } from "../domain/backup.ts";
import { directFetch } from "./direct_fetch.ts";
import type { AuthorizationView, KeyView, PolicyView } from "../http/views.ts";
import type { InstancesView, InstanceView } from "../http/instances.ts";

export type { AuthorizationView, InstancesView, InstanceView, KeyView, PolicyView };

/** Default time for one request, response body included, in ms. */
export const REQUEST_TIMEOUT_MS = 15_000;

/** Default time for a whole backup download, in ms (10 min, like the server's own bound). */
export const BACKUP_TIMEOUT_MS = 10 * 60_000;

/** The answer to `POST /api/backup`: the snapshot's bytes, still to be read. */
export interface BackupDownload {
  /** The file's bytes. */
  body: ReadableStream<Uint8Array>;
  /** Its size from `Content-Length`, when the server gave one. */
  size: number | undefined;
}

/** A failed admin request: `status` is the HTTP status, or 0 when no response came. */
export class AdminError extends Error {
  override name = "AdminError";
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The answer to `POST /api/authorizations`: the only response that holds the `bunker://` URL. */
export interface CreatedAuthorization {
  id: string;
  bunker_url: string;
  bunker_pubkey: string;
  key_name: string;
  user_pubkey: string;
  relays: string[];
  policy: string | null;
  max_uses: number | null;
  expires_at: string | null;
  label: string | null;
  created_at: string;
  /** Whether the listener confirmed its relay subscription before the answer. */
  subscribed: boolean;
}

/** Fields of `POST /api/authorizations`; absent ones take the server's defaults. */
export interface AuthorizationInput {
  /** Key name or pubkey (hex or npub). */
  key: string;
  relays?: string[];
  policy?: string;
  /** Distinct clients allowed; null for no limit. Server default 1. */
  max_uses?: number | null;
  /** Lifetime in seconds. Default: no expiry. */
  expires_in?: number;
  label?: string;
}

/** The answer to `PUT /api/policies/:name`. */
export interface UpdatedPolicy extends PolicyView {
  /** How many live authorizations using the policy were re-sent to the listener. */
  updated_authorizations: number;
}

/** The answer to `DELETE /api/authorizations/:id`. */
export interface RevokedAuthorization {
  id: string;
  revoked: true;
  already_revoked?: boolean;
}

/** Fields of `POST /api/connect`. */
export interface ConnectInput {
  /** The client's `nostrconnect://` URI (it holds the client's secret). */
  uri: string;
  /** Key name or pubkey (hex or npub). */
  key: string;
  policy?: string;
  label?: string;
  /** Lifetime in seconds. Default: no expiry. */
  expires_in?: number;
}

/** The answer to `POST /api/connect`: the authorization bound to the paired client. */
export interface ConnectedClient {
  id: string;
  bunker_pubkey: string;
  client_pubkey: string;
  key_name: string;
  user_pubkey: string;
  relays: string[];
  policy: string | null;
  label: string | null;
  expires_at: string | null;
  /** Permissions the client asked for (hints only: the policy decides). */
  requested_perms: string[];
  /** Whether the listener confirmed its relay subscription before the answer. */
  subscribed: boolean;
  /** Whether a relay accepted keycast's reply to the client's pending `connect`. */
  sent: boolean;
}

/** One account as `GET /api/accounts` lists it (never its password hash). */
export interface AccountView {
  id: string;
  username: string;
  email: string | null;
  role: AccountRole;
  disabled: boolean;
  /** How many keys the account owns. */
  key_count: number;
  created_at: string;
}

/** What an account may do: `admin` manages the server, `user` only its own keys and apps. */
export type AccountRole = "user" | "admin";

/** Fields of `POST /api/accounts`. */
export interface AccountInput {
  username: string;
  email?: string;
  /** The new account's password (at least 12 characters; the server checks it again). */
  password: string;
  role: AccountRole;
}

/** The answer to `POST /api/invites`: the only response that holds the invite's code. */
export interface CreatedInvite {
  id: string;
  role: AccountRole;
  /** The code a person registers with; the server keeps only its hash. */
  code: string;
  created_at: string;
  expires_at: string;
}

/** One OAuth client as `GET /api/oauth-clients` lists it. */
export interface OAuthClientView {
  /** The `client_id` the app sends. */
  client_id: string;
  name: string;
  /** The only URIs its codes may go to, each matched exactly. */
  redirect_uris: string[];
  /** The policy its grants get when the app asks for none; null: the server's default. */
  policy: string | null;
  created_at: string;
}

/** Fields of `POST /api/oauth-clients` (which replaces a client registered under the same id). */
export interface OAuthClientInput {
  client_id: string;
  name: string;
  redirect_uris: string[];
  policy?: string;
}

/** One audit log row as `GET /api/audit` lists it (oldest first). */
export interface AuditEntryView {
  id: string;
  at: string;
  authorization_id?: string | null;
  client_pubkey?: string | null;
  method?: string;
  event_kind?: number | null;
  event_id?: string | null;
  decision?: string;
  reason?: string | null;
  latency_ms?: number | null;
  /** `nip46` or `http`; absent from servers older than HTTP signing (all nip46). */
  transport?: string;
}

/** Filters of `GET /api/audit`. */
export interface AuditQuery {
  authorization?: string;
  /** ISO 8601 time: only rows at or after it. */
  since?: string;
  /** Only rows after this id (for following the log). */
  afterId?: string;
  /** At most this many rows (the server caps it at 1000). */
  limit?: number;
}

/** How to reach the server. */
export interface AdminClientOptions {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:8080`. */
  server: string;
  /** Admin token sent as a bearer token. */
  token: string;
  /** HTTP function. Default {@link directFetch}: never through a proxy. */
  fetch?: typeof fetch;
  /** Time for one request, in ms. Default {@link REQUEST_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** Typed client of the admin API. */
export class AdminClient {
  /** Base URL of the server. */
  readonly server: string;
  readonly #token: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(options: AdminClientOptions) {
    this.server = options.server.replace(/\/+$/, "");
    this.#token = options.token;
    this.#fetch = options.fetch ?? directFetch;
    this.#timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  }

  /** `POST /api/keys`: generates and stores a key. */
  async createKey(name: string): Promise<KeyView> {
    return await this.#request<KeyView>("POST", "/api/keys", { name });
  }

  /** `POST /api/keys/import`: stores an nsec, hex or ncryptsec secret key. */
  async importKey(input: { name: string; secret: string; password?: string }): Promise<KeyView> {
    return await this.#request<KeyView>("POST", "/api/keys/import", input);
  }

  /** `GET /api/keys`. */
  async listKeys(): Promise<KeyView[]> {
    return listOf<KeyView>(await this.#request("GET", "/api/keys"), "keys");
  }

  /** `GET /api/policies`: built-in and stored policies. */
  async listPolicies(): Promise<PolicyView[]> {
    return listOf<PolicyView>(await this.#request("GET", "/api/policies"), "policies");
  }

  /** `POST /api/policies`. */
  async createPolicy(name: string, rules: Record<string, unknown>): Promise<PolicyView> {
    return await this.#request<PolicyView>("POST", "/api/policies", { name, rules });
  }

  /** `PUT /api/policies/:name`: replaces the rules; live authorizations using it follow. */
  async updatePolicy(name: string, rules: Record<string, unknown>): Promise<UpdatedPolicy> {
    const path = `/api/policies/${encodeURIComponent(name)}`;
    return await this.#request<UpdatedPolicy>("PUT", path, { rules });
  }

  /** `DELETE /api/policies/:name`. */
  async deletePolicy(name: string): Promise<void> {
    await this.#request("DELETE", `/api/policies/${encodeURIComponent(name)}`);
  }

  /** `POST /api/authorizations`: the answer holds the `bunker://` URL, once. */
  async createAuthorization(input: AuthorizationInput): Promise<CreatedAuthorization> {
    return await this.#request<CreatedAuthorization>("POST", "/api/authorizations", input);
  }

  /** `GET /api/authorizations`, revoked ones too when `includeRevoked`. */
  async listAuthorizations(includeRevoked = false): Promise<AuthorizationView[]> {
    const path = `/api/authorizations${includeRevoked ? "?include_revoked=true" : ""}`;
    return listOf<AuthorizationView>(await this.#request("GET", path), "authorizations");
  }

  /** `DELETE /api/authorizations/:id`: revokes. */
  async revokeAuthorization(id: string): Promise<RevokedAuthorization> {
    const path = `/api/authorizations/${encodeURIComponent(id)}`;
    return await this.#request<RevokedAuthorization>("DELETE", path);
  }

  /** `GET /api/accounts`, oldest first. */
  async listAccounts(): Promise<AccountView[]> {
    return listOf<AccountView>(await this.#request("GET", "/api/accounts"), "accounts");
  }

  /** `POST /api/accounts`: creates an account with a fresh key (no invite needed). */
  async createAccount(input: AccountInput): Promise<AccountView> {
    return await this.#request<AccountView>("POST", "/api/accounts", input);
  }

  /** `GET /api/accounts/:ref`: the account with that username, email or id. */
  async getAccount(ref: string): Promise<AccountView> {
    return await this.#request<AccountView>("GET", `/api/accounts/${encodeURIComponent(ref)}`);
  }

  /** `POST /api/accounts/:ref/disable` or `/enable`; `ref` is a username, email or id. */
  async setAccountDisabled(
    ref: string,
    disabled: boolean,
  ): Promise<{ id: string; username: string; disabled: boolean }> {
    const path = `/api/accounts/${encodeURIComponent(ref)}/${disabled ? "disable" : "enable"}`;
    return await this.#request("POST", path);
  }

  /** `POST /api/accounts/:ref/password`: sets a new password and ends the account's sessions. */
  async resetPassword(ref: string, password: string): Promise<{ ended_sessions: number }> {
    const path = `/api/accounts/${encodeURIComponent(ref)}/password`;
    return await this.#request("POST", path, { password });
  }

  /** `POST /api/invites`: the answer holds the code, once. `expires_in` is in seconds. */
  async createInvite(input: { role: AccountRole; expires_in?: number }): Promise<CreatedInvite> {
    return await this.#request<CreatedInvite>("POST", "/api/invites", input);
  }

  /** `GET /api/oauth-clients`, by client id. */
  async listOAuthClients(): Promise<OAuthClientView[]> {
    return listOf<OAuthClientView>(await this.#request("GET", "/api/oauth-clients"), "clients");
  }

  /** `POST /api/oauth-clients`: registers a client, or replaces the one with its id. */
  async registerOAuthClient(input: OAuthClientInput): Promise<OAuthClientView> {
    return await this.#request<OAuthClientView>("POST", "/api/oauth-clients", input);
  }

  /** `DELETE /api/oauth-clients/:client_id` (grants it already has stay until revoked). */
  async removeOAuthClient(clientId: string): Promise<void> {
    await this.#request("DELETE", `/api/oauth-clients/${encodeURIComponent(clientId)}`);
  }

  /** `POST /api/connect`: accepts a client's `nostrconnect://` pairing. */
  async connect(input: ConnectInput): Promise<ConnectedClient> {
    return await this.#request<ConnectedClient>("POST", "/api/connect", input);
  }

  /** `GET /api/audit`. */
  async audit(query: AuditQuery = {}, signal?: AbortSignal): Promise<AuditEntryView[]> {
    const params = new URLSearchParams();
    if (query.authorization) params.set("authorization", query.authorization);
    if (query.since) params.set("since", query.since);
    if (query.afterId) params.set("after_id", query.afterId);
    if (query.limit !== undefined) params.set("limit", String(query.limit));
    const search = params.size ? `?${params}` : "";
    return listOf<AuditEntryView>(
      await this.#request("GET", `/api/audit${search}`, undefined, signal),
      "entries",
    );
  }

  /** `GET /api/instances`: the instances serving the database, and which one answered. */
  async listInstances(): Promise<InstancesView> {
    const body = await this.#request("GET", "/api/instances");
    const instances = listOf<InstanceView>(body, "instances");
    const { cluster, self } = body as Record<string, unknown>;
    if (typeof cluster !== "boolean" || typeof self !== "string") {
      throw new AdminError(200, 'Unexpected answer from keycast: no "cluster" and "self"');
    }
    return { cluster, self, instances };
  }

  /**
   * `POST /api/backup`: hands the snapshot's bytes to `save`, which reads them to the end (and
   * may fail with its own errors, which pass through unchanged). The whole exchange, body
   * included, is bounded by `timeoutMs` (default {@link BACKUP_TIMEOUT_MS}).
   */
  async downloadBackup<T>(
    save: (download: BackupDownload) => Promise<T>,
    timeoutMs: number = BACKUP_TIMEOUT_MS,
  ): Promise<T> {
    return await this.#exchange("POST", "/api/backup", {
      accept: BACKUP_MEDIA_TYPE,
      timeoutMs,
      passReadErrors: true,
      read: async (response) => {
        const type = response.headers.get("content-type")?.split(";")[0]?.trim() ?? "";
        const length = response.headers.get("content-length");
        if (type !== BACKUP_MEDIA_TYPE || !response.body) {
          await response.body?.cancel();
          throw new AdminError(
            response.status,
            `keycast at ${this.server} answered with ${clip(type || "no content type", 100)}, ` +
              "not a backup",
          );
        }
        const size = length !== null && /^\d{1,15}$/.test(length) ? Number(length) : undefined;
        return await save({ body: response.body, size });
      },
    });
  }

  async #request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<T> {
    return await this.#exchange(method, path, {
      body,
      signal,
      accept: "application/json",
      timeoutMs: this.#timeoutMs,
      read: async (response) => {
        const text = await response.text();
        if (text === "") return undefined as T;
        try {
          return JSON.parse(text) as T;
        } catch {
          throw new AdminError(response.status, `keycast at ${this.server} answered with non-JSON`);
        }
      },
    });
  }

  /**
   * One request: a 3xx or an error status becomes an {@link AdminError}; a 2xx goes to `read`.
   * Failures to connect or to answer in time become AdminErrors too, and so do `read`'s errors
   * unless `passReadErrors`.
   */
  async #exchange<T>(
    method: string,
    path: string,
    opts: {
      body?: unknown;
      signal?: AbortSignal;
      accept: string;
      timeoutMs: number;
      read: (response: Response) => Promise<T>;
      passReadErrors?: boolean;
    },
  ): Promise<T> {
    const { body, signal, timeoutMs } = opts;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), timeoutMs);
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#token}`,
      accept: opts.accept,
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    let reading = false;
    try {
      const response = await this.#fetch(`${this.server}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal,
        // Never re-send a secret body or the token to wherever a 3xx points.
        redirect: "manual",
      });
      if (isRedirect(response)) {
        await response.body?.cancel();
        throw new AdminError(response.status, this.#redirectMessage(response));
      }
      if (!response.ok) {
        throw new AdminError(response.status, errorMessage(response, await response.text()));
      }
      reading = true;
      return await opts.read(response);
    } catch (error: unknown) {
      if (signal?.aborted) throw error;
      if (timeout.signal.aborted) {
        throw new AdminError(
          0,
          `keycast at ${this.server} did not answer within ${timeoutMs / 1000} s`,
        );
      }
      if (error instanceof AdminError || (reading && opts.passReadErrors)) throw error;
      throw new AdminError(
        0,
        `Cannot reach keycast at ${this.server}: is \`keycast serve\` running? ` +
          `(set --server or KEYCAST_SERVER for another address)`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  #redirectMessage(response: Response): string {
    const location = response.headers.get("location");
    const target = location ? ` to ${clip(location, 200)}` : "";
    return `keycast at ${this.server} answered with a redirect${target}; ` +
      "keycast does not follow redirects: set --server or KEYCAST_SERVER to the address that " +
      "answers directly";
  }
}

/** A 3xx answer, or the opaque stand-in some fetch implementations give for one. */
function isRedirect(response: Response): boolean {
  return response.type === "opaqueredirect" || (response.status >= 300 && response.status < 400);
}

/** The server's `{"error": …}` message, or the status line when the body is not that. */
function errorMessage(response: Response, text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && "error" in parsed) {
      const error = (parsed as { error: unknown }).error;
      if (typeof error === "string" && error !== "") return clip(error);
    }
  } catch {
    // Not JSON (a proxy's error page, say): fall through to the status line.
  }
  return `${response.status} ${response.statusText || "request failed"}`.trim();
}

/** The array under `field` of a list response. */
function listOf<T>(body: unknown, field: string): T[] {
  const list = typeof body === "object" && body !== null
    ? (body as Record<string, unknown>)[field]
    : undefined;
  if (!Array.isArray(list)) {
    throw new AdminError(200, `Unexpected answer from keycast: no "${field}" list`);
  }
  return list as T[];
}

/**
 * Cuts an untrusted message to one line of at most `max` characters (default 500), without
 * control characters or the bidirectional controls that would reorder what the terminal shows.
 */
function clip(message: string, max = 500): string {
  const line = message.replace(/[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]+/gu, " ")
    .trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}
