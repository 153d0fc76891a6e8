/**
 * OAuth 2.0 authorization codes with PKCE for web apps (RFC 6749, RFC 7636, RFC 7009): a person
 * approves an app on the consent page; the app exchanges the code for an access token (for
 * `/api/nostr`), a refresh token, and a `bunker://` URL (for NIP-46) of a new authorization made
 * for it. The rules, each enforced here:
 *
 * - `redirect_uri` is `https://…`, or `http://` on a loopback host; any other scheme only when an
 *   operator registered the client with that exact URI. A registered client's URIs are pinned.
 * - PKCE is required, `S256` only; `state` is required and echoed.
 * - A code is 256 random bits, stored as its sha256, single use, valid 60 s, bound to the client,
 *   redirect URI, person, key, policy and challenge; a second use revokes what the first made.
 * - An unknown policy is an error, never full access.
 * - Errors go back to the app only when it is registered (its redirect URIs pinned); for any other
 *   app they are shown on a page, so keycast cannot be used to bounce people to a chosen site.
 * - Every redirect carries `iss` (RFC 9207), so an app that talks to several servers can tell them
 *   apart.
 * - Tokens are random, stored as sha256; a refresh token is rotated, and reusing an old one revokes
 *   the whole grant. Every lookup goes to the database: revoking ends a token at once.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { base64urlnopad } from "@scure/base";
import { randomToken, tokenHash } from "../accounts/tokens.ts";
import { describePolicy } from "../policy/describe.ts";
import { constantTimeEqualText } from "../util/constant_time.ts";
import { createAuthorization, revokeAuthorization } from "./authorizations.ts";
import type { OAuthSettings, ServiceDeps } from "./deps.ts";
import { checkAppRoom, ownKey } from "./own.ts";
import { builtinPolicy } from "./policies.ts";

/** How long an authorization code lives, in ms. */
export const CODE_TTL_MS = 60_000;
/** The policy an app gets when its scope names none. */
export const DEFAULT_SCOPE_POLICY = "social";
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);
const MAX_CLIENT_ID_CHARS = 200;
const MAX_REDIRECT_URI_CHARS = 2_000;
const MAX_STATE_CHARS = 1_000;

/** An OAuth error as RFC 6749 names it (`invalid_grant`, …), with the HTTP status to answer. */
export class OAuthError extends Error {
  override name = "OAuthError";
  constructor(readonly code: string, readonly description: string, readonly status = 400) {
    super(description);
  }
}

/** A checked authorization request. */
export interface AuthorizeRequest {
  clientId: string;
  redirectUri: string;
  /** The redirect URI's origin (`scheme://host[:port]`, or `scheme:` for an app scheme). */
  origin: string;
  state: string;
  codeChallenge: string;
  /** The policy the app asked for (`scope=policy:<name>`), or the registered client's. */
  policyName: string;
  /** The registered client's name, when it is registered. */
  registeredName: string | null;
  /** `prompt=login`: the person must log in again. */
  promptLogin: boolean;
  /** This server's issuer identifier, added to every redirect as `iss`. */
  issuer: string;
}

/**
 * Why an authorization request cannot go on: shown on a page while the redirect URI is not known
 * to be safe, sent back to the app once it is.
 */
export type AuthorizeProblem =
  | { kind: "page"; message: string }
  | { kind: "redirect"; location: string };

/** The settings, or an error when OAuth is off. */
export function oauthSettings(deps: ServiceDeps): OAuthSettings {
  if (!deps.oauth || deps.oauth.mode === "off") {
    throw new OAuthError("access_denied", "OAuth is turned off on this server", 404);
  }
  return deps.oauth;
}

/** Checks the query of `GET /api/oauth/authorize` (see the module doc for the rules). */
export async function checkAuthorizeRequest(
  deps: ServiceDeps,
  query: Record<string, string | undefined>,
  issuer: string,
): Promise<{ ok: true; request: AuthorizeRequest } | { ok: false; problem: AuthorizeProblem }> {
  const page = (message: string) => ({
    ok: false as const,
    problem: { kind: "page", message } as const,
  });
  if (!deps.oauth || deps.oauth.mode === "off") return page("OAuth is turned off on this server.");
  const clientId = query.client_id ?? "";
  if (
    clientId === "" || clientId.length > MAX_CLIENT_ID_CHARS || /[\p{Cc}\p{Cf}]/u.test(clientId)
  ) {
    return page("The app sent no usable client_id.");
  }
  const registered = await deps.repos.oauth.getClient(clientId);
  if (deps.oauth.mode === "registered" && !registered) {
    return page("This server accepts only apps its operator registered, and this one is not.");
  }
  const redirectUri = query.redirect_uri ?? "";
  const redirect = checkRedirectUri(redirectUri, registered?.redirectUris);
  if (!redirect.ok) return page(redirect.problem);

  const state = query.state ?? "";
  // Only a registered app's pinned URIs receive errors; anyone's https URL would make keycast an
  // open redirect for whoever builds the link.
  const back = (error: string, description: string) =>
    registered
      ? {
        ok: false as const,
        problem: {
          kind: "redirect" as const,
          location: withQuery(redirectUri, {
            error,
            error_description: description,
            ...(state ? { state } : {}),
            iss: issuer,
          }),
        },
      }
      : page(`The app's request cannot be used: ${description}.`);
  if (query.response_type !== "code") {
    return back("unsupported_response_type", "response_type must be code");
  }
  if (state === "" || state.length > MAX_STATE_CHARS) {
    return back("invalid_request", "state is required (1 to 1000 characters)");
  }
  if ((query.code_challenge_method ?? "") !== "S256") {
    return back("invalid_request", "PKCE with code_challenge_method=S256 is required");
  }
  const codeChallenge = query.code_challenge ?? "";
  if (!/^[A-Za-z0-9_-]{43}$/.test(codeChallenge)) {
    return back("invalid_request", "code_challenge must be a base64url SHA-256 (43 characters)");
  }
  const scope = (query.scope ?? "").trim();
  const asked = scope.split(/\s+/).find((part) => part.startsWith("policy:"))?.slice(7);
  const policyName = asked || registered?.policyName || DEFAULT_SCOPE_POLICY;
  if (!(await policyExists(deps, policyName))) {
    return back("invalid_scope", `no policy named ${JSON.stringify(policyName.slice(0, 64))}`);
  }
  return {
    ok: true,
    request: {
      clientId,
      redirectUri,
      origin: redirect.origin,
      state,
      codeChallenge,
      policyName,
      registeredName: registered?.name ?? null,
      promptLogin: query.prompt === "login",
      issuer,
    },
  };
}

/** Whether `uri` may receive codes, and its origin; `registered` pins it to exact URIs. */
export function checkRedirectUri(
  uri: string,
  registered?: readonly string[],
): { ok: true; origin: string } | { ok: false; problem: string } {
  if (uri === "" || uri.length > MAX_REDIRECT_URI_CHARS) {
    return { ok: false, problem: "The app sent no usable redirect_uri." };
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch (_error: unknown) {
    return { ok: false, problem: "The app's redirect_uri is not a URL." };
  }
  if (url.hash !== "" || uri.includes("#")) {
    return { ok: false, problem: "The app's redirect_uri must not have a fragment." };
  }
  if (/[^\x21-\x7e]/.test(uri)) {
    return { ok: false, problem: "The app's redirect_uri must be plain ASCII without spaces." };
  }
  if (
    (url.protocol === "https:" || url.protocol === "http:") &&
    !/^([a-z0-9-]+\.)*[a-z0-9-]+$|^\[[0-9a-f:.]+\]$/i.test(url.hostname)
  ) {
    return { ok: false, problem: "The app's redirect_uri has an unusable host." };
  }
  const reserved = ["code", "state", "error", "iss"].find((name) => url.searchParams.has(name));
  if (reserved) {
    return {
      ok: false,
      problem: `The app's redirect_uri must not carry a ${reserved} parameter of its own.`,
    };
  }
  if (url.username !== "" || url.password !== "") {
    return { ok: false, problem: "The app's redirect_uri must not carry credentials." };
  }
  const origin = url.origin !== "null" ? url.origin : url.protocol;
  if (registered) {
    return registered.includes(uri)
      ? { ok: true, origin }
      : { ok: false, problem: "The redirect_uri is not one the operator registered for this app." };
  }
  // An unregistered app's URI must not carry another URL: a redirector on a trusted origin would
  // pass the code on, while the consent page shows only that origin.
  if (/:\/\/|%3a%2f%2f/i.test(url.search)) {
    return {
      ok: false,
      problem: "The app's redirect_uri carries another URL in its query; register the app first.",
    };
  }
  if (url.protocol === "https:") return { ok: true, origin };
  if (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname)) return { ok: true, origin };
  return {
    ok: false,
    problem: url.protocol === "http:"
      ? "The app's redirect_uri must use https (plain http only on this machine)."
      : "Apps with their own URL scheme must be registered by the operator first.",
  };
}

/** Approves `request` for `accountId`'s key `keyRef`: the redirect carrying a fresh code. */
export async function approveAuthorization(
  deps: ServiceDeps,
  accountId: string,
  request: AuthorizeRequest,
  keyRef: string,
): Promise<string> {
  oauthSettings(deps);
  const key = await ownKey(deps, accountId, keyRef);
  await checkAppRoom(deps, accountId);
  const code = randomToken();
  await deps.repos.oauth.createCode({
    codeHash: tokenHash(code),
    clientId: request.clientId,
    redirectUri: request.redirectUri,
    accountId,
    keyId: key.id,
    policyName: request.policyName,
    codeChallenge: request.codeChallenge,
    expiresAt: new Date(deps.now() + CODE_TTL_MS),
  });
  await deps.repos.accountEvents.add({
    accountId,
    action: "oauth_approved",
    detail: `${request.origin} (${request.clientId.slice(0, 100)})`,
  });
  return withQuery(request.redirectUri, { code, state: request.state, iss: request.issuer });
}

/** The redirect of a denied request. */
export function denyAuthorization(request: AuthorizeRequest): string {
  return withQuery(request.redirectUri, {
    error: "access_denied",
    error_description: "the person declined",
    state: request.state,
    iss: request.issuer,
  });
}

/** The token endpoint's answer. */
export interface TokenResponse {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  refresh_token: string;
  scope: string;
  /** Only when the grant was just made from a code: the NIP-46 connection, shown once. */
  bunker_url?: string;
  policy: { name: string; description: string };
}

/** `grant_type=authorization_code`: checks the code and the PKCE verifier, makes the grant. */
export async function exchangeCode(
  deps: ServiceDeps,
  input: { code: string; redirectUri: string; clientId: string; codeVerifier: string },
): Promise<TokenResponse> {
  const settings = oauthSettings(deps);
  const codeHash = tokenHash(input.code);
  const code = await deps.repos.oauth.getCode(codeHash);
  if (!code) throw new OAuthError("invalid_grant", "unknown code");
  const grantId = crypto.randomUUID();
  if (code.usedAt !== null || !(await deps.repos.oauth.claimCode(codeHash, grantId))) {
    // RFC 6749 §10.5: a code used twice may have been stolen; undo what the first use made. The
    // first use may still be making its grant: it checks for this mark once it has.
    const made = await deps.repos.oauth.markReplayed(codeHash);
    if (made) await revokeGrant(deps, made, "its code was used twice");
    throw new OAuthError("invalid_grant", "this code was already used");
  }
  if (code.expiresAt.getTime() <= deps.now()) throw new OAuthError("invalid_grant", "code expired");
  if (code.clientId !== input.clientId) {
    throw new OAuthError("invalid_grant", "the code was issued to another client_id");
  }
  if (code.redirectUri !== input.redirectUri) {
    throw new OAuthError("invalid_grant", "redirect_uri does not match the authorization request");
  }
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(input.codeVerifier)) {
    throw new OAuthError("invalid_grant", "code_verifier must be 43 to 128 unreserved characters");
  }
  const challenge = base64urlnopad.encode(sha256(new TextEncoder().encode(input.codeVerifier)));
  if (!constantTimeEqualText(challenge, code.codeChallenge)) {
    throw new OAuthError("invalid_grant", "code_verifier does not match code_challenge");
  }
  const account = await deps.repos.accounts.get(code.accountId);
  if (!account || account.disabledAt !== null) {
    throw new OAuthError("invalid_grant", "the account is disabled");
  }
  const key = (await deps.repos.keys.list(code.accountId)).find((k) => k.id === code.keyId);
  if (!key) throw new OAuthError("invalid_grant", "the key is gone");
  const origin = checkRedirectUri(code.redirectUri, [code.redirectUri]);
  await checkAppRoom(deps, code.accountId);
  const created = await createAuthorization(deps, {
    key: key.pubkey,
    owner: code.accountId,
    relays: [],
    policy: code.policyName,
    maxUses: 1,
    expiresIn: null,
    label: `${origin.ok ? origin.origin : code.clientId}`.slice(0, 100),
  });
  await deps.repos.oauth.createGrant({
    id: grantId,
    authorizationId: created.record.id,
    accountId: code.accountId,
    clientId: code.clientId,
    redirectOrigin: origin.ok ? origin.origin : "",
  });
  if ((await deps.repos.oauth.getCode(codeHash))?.replayedAt) {
    // The code was replayed while this grant was being made.
    await revokeGrant(deps, grantId, "its code was used twice");
    throw new OAuthError("invalid_grant", "this code was used twice");
  }
  await deps.repos.accountEvents.add({
    accountId: code.accountId,
    action: "app_connected",
    detail: `${
      origin.ok ? origin.origin : code.clientId
    } by OAuth (${created.record.bunkerPubkey})`,
  });
  const tokens = await issueTokens(deps, settings, grantId);
  return { ...tokens, bunker_url: created.bunkerUrl, ...(await scopeOf(deps, code.policyName)) };
}

/** `grant_type=refresh_token`: rotates the refresh token; reusing an old one ends the grant. */
export async function refreshTokens(
  deps: ServiceDeps,
  input: { refreshToken: string; clientId: string | undefined },
): Promise<TokenResponse> {
  const settings = oauthSettings(deps);
  const hash = tokenHash(input.refreshToken);
  const token = await deps.repos.oauth.getToken(hash);
  if (!token || token.kind !== "refresh") {
    throw new OAuthError("invalid_grant", "unknown refresh token");
  }
  if (token.usedAt !== null || !(await deps.repos.oauth.claimRefresh(hash))) {
    await revokeGrant(deps, token.grantId, "a refresh token was used twice");
    throw new OAuthError(
      "invalid_grant",
      "this refresh token was already used: the grant is revoked",
    );
  }
  if (input.clientId !== undefined && input.clientId !== token.grant.clientId) {
    throw new OAuthError("invalid_grant", "the refresh token was issued to another client_id");
  }
  if (!grantIsLive(deps, token) || token.expiresAt.getTime() <= deps.now()) {
    throw new OAuthError("invalid_grant", "the grant has ended");
  }
  const record = await deps.repos.authorizations.get(token.grant.authorizationId);
  const tokens = await issueTokens(deps, settings, token.grantId);
  // One valid access token per grant; of the used refresh tokens only the one just rotated stays
  // (to tell its reuse), so a refresh loop cannot grow the table.
  await deps.repos.oauth.trimTokens(token.grantId, tokenHash(tokens.access_token), hash);
  return { ...tokens, ...(await scopeOf(deps, record?.policyName ?? DEFAULT_SCOPE_POLICY)) };
}

/** RFC 7009: ends the grant `token` (access or refresh) belongs to; unknown tokens are ignored. */
export async function revokeToken(deps: ServiceDeps, token: string): Promise<void> {
  oauthSettings(deps);
  const found = await deps.repos.oauth.getToken(tokenHash(token));
  if (found) await revokeGrant(deps, found.grantId, "the app revoked it");
}

/** What a live access token grants, for `/api/nostr`; undefined for anything else. */
export async function resolveAccessToken(
  deps: ServiceDeps,
  token: string,
): Promise<
  { grantId: string; authorizationId: string; bunkerPubkey: string; origin: string } | undefined
> {
  if (!deps.oauth || deps.oauth.mode === "off" || token.length > 200) return undefined;
  const found = await deps.repos.oauth.getToken(tokenHash(token));
  if (!found || found.kind !== "access") return undefined;
  if (found.expiresAt.getTime() <= deps.now() || !grantIsLive(deps, found)) return undefined;
  return {
    grantId: found.grantId,
    authorizationId: found.grant.authorizationId,
    bunkerPubkey: found.bunkerPubkey,
    origin: found.grant.redirectOrigin,
  };
}

/** Ends a grant: its tokens and the NIP-46 authorization it made; says why in the history. */
async function revokeGrant(deps: ServiceDeps, grantId: string, why: string): Promise<void> {
  const grant = await deps.repos.oauth.getGrant(grantId);
  if (!grant || grant.revokedAt !== null) return;
  await deps.repos.oauth.revokeGrant(grantId);
  await revokeAuthorization(deps, grant.authorizationId);
  await deps.repos.accountEvents.add({
    accountId: grant.accountId,
    action: "app_revoked",
    detail: `${grant.redirectOrigin} by OAuth: ${why}`,
  });
  deps.log({
    level: why === "the app revoked it" ? "info" : "warn",
    ns: "service.oauth",
    msg: "OAuth grant revoked",
    grantId,
    authorizationId: grant.authorizationId,
    why,
  });
}

function grantIsLive(
  deps: ServiceDeps,
  token: {
    grant: { revokedAt: Date | null };
    authorizationRevokedAt: Date | null;
    authorizationExpiresAt: Date | null;
    accountDisabledAt: Date | null;
  },
): boolean {
  if (token.grant.revokedAt !== null || token.authorizationRevokedAt !== null) return false;
  if (token.accountDisabledAt !== null) return false;
  return token.authorizationExpiresAt === null ||
    token.authorizationExpiresAt.getTime() > deps.now();
}

async function issueTokens(
  deps: ServiceDeps,
  settings: OAuthSettings,
  grantId: string,
): Promise<Pick<TokenResponse, "access_token" | "token_type" | "expires_in" | "refresh_token">> {
  const access = randomToken();
  const refresh = randomToken();
  const now = deps.now();
  await deps.repos.oauth.createToken({
    tokenHash: tokenHash(access),
    grantId,
    kind: "access",
    expiresAt: new Date(now + settings.accessTtlMs),
  });
  await deps.repos.oauth.createToken({
    tokenHash: tokenHash(refresh),
    grantId,
    kind: "refresh",
    expiresAt: new Date(now + settings.refreshTtlMs),
  });
  return {
    access_token: access,
    token_type: "Bearer",
    expires_in: Math.floor(settings.accessTtlMs / 1000),
    refresh_token: refresh,
  };
}

async function scopeOf(
  deps: ServiceDeps,
  policyName: string,
): Promise<Pick<TokenResponse, "scope" | "policy">> {
  const rules = builtinPolicy(policyName) ??
    (await deps.repos.policies.getByName(policyName))?.rules ?? {};
  return {
    scope: `policy:${policyName}`,
    policy: { name: policyName, description: describePolicy(rules).join(" ") },
  };
}

async function policyExists(deps: ServiceDeps, name: string): Promise<boolean> {
  if (name.length > 64) return false;
  return builtinPolicy(name) !== undefined ||
    (await deps.repos.policies.getByName(name)) !== undefined;
}

/** `uri` with `params` appended to its query, keeping what it already had as it was. */
export function withQuery(uri: string, params: Record<string, string>): string {
  const extra = new URLSearchParams(params).toString();
  const url = new URL(uri);
  const separator = url.search === "" ? (uri.endsWith("?") ? "" : "?") : "&";
  return `${uri}${separator}${extra}`;
}
