/**
 * `POST /api/nostr`: HTTP signing for apps that hold an OAuth access token. The body is
 * `{"method", "params"}` with a method the method table offers over HTTP (`get_public_key`,
 * `sign_event`, `nip04_*`, `nip44_*`, `ping`); the answer is `{"result"}` or `{"error"}`, the
 * error carrying the same stable prefix a NIP-46 reply would (`forbidden: …`). Statuses: 400
 * invalid params or unknown method, 401 missing, bad, expired or revoked token (with
 * `WWW-Authenticate: Bearer`), 403 policy denial, 429 rate limited and 503 overloaded (both with
 * `Retry-After`), 503 as well when HTTP signing is not enabled. The requests themselves run in
 * `src/nip46/http_signer.ts`.
 *
 * {@link nostrAuth} runs before the body is read, like the admin auth: it answers CORS preflights
 * and resolves the token. CORS is granted to exactly one origin, the grant's redirect origin:
 * `Access-Control-Allow-Origin: <that origin>`, never credentials. A preflight carries no token,
 * so it is granted when a live grant has the asking origin (`HttpSigning.allowsOrigin`). A request
 * whose `Origin` is not its grant's is refused (403) before any work: a page elsewhere that got
 * hold of the token cannot make keycast sign for it. Requests without `Origin` (servers, native
 * apps, curl) are not affected.
 */
import { type Context, Hono, type MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { HttpSigning } from "../nip46/http_signer.ts";
import { isJsonMediaType } from "./body.ts";
import { ApiError } from "./errors.ts";
import type { AppEnv } from "./types.ts";

/** Longest access token accepted, in characters (checked before any lookup). */
export const MAX_ACCESS_TOKEN_CHARS = 1_024;
/** How long browsers may cache a granted preflight, in seconds. */
export const PREFLIGHT_MAX_AGE_SECONDS = 600;
/** RFC 6750 `b64token`. */
const TOKEN_SYNTAX = /^[A-Za-z0-9\-._~+/]+=*$/;
const NO_TOKEN_CHALLENGE = { "WWW-Authenticate": 'Bearer realm="keycast"' };
/** The challenge of every 401 that had a token: bad, expired, revoked. */
export const INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"';

/**
 * Authenticates `/api/nostr` before its body is read: answers preflights, resolves the bearer
 * token into `c.var.httpGrant` (401 otherwise), and sets the CORS headers of the grant's origin.
 */
export function nostrAuth(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.header("Cache-Control", "no-store");
    c.header("Vary", "Origin");
    const signing = c.var.deps.httpSigning;
    const origin = c.req.header("origin");
    if (c.req.method === "OPTIONS") {
      if (signing && origin !== undefined && await originAllowed(signing, origin)) {
        allowOrigin(c, origin);
        c.header("Access-Control-Allow-Methods", "POST");
        c.header("Access-Control-Allow-Headers", "authorization, content-type");
        c.header("Access-Control-Max-Age", String(PREFLIGHT_MAX_AGE_SECONDS));
      }
      return c.body(null, 204);
    }
    if (!signing) throw notEnabled();
    const token = bearerToken(c.req.header("authorization"));
    if (token === undefined) {
      if (origin !== undefined && await originAllowed(signing, origin)) allowOrigin(c, origin);
      throw new ApiError(401, 'unauthorized: send "Authorization: Bearer <access token>"', {
        headers: NO_TOKEN_CHALLENGE,
      });
    }
    const grant = TOKEN_SYNTAX.test(token) && token.length <= MAX_ACCESS_TOKEN_CHARS
      ? await signing.resolve(token)
      : undefined;
    if (!grant) {
      if (origin !== undefined && await originAllowed(signing, origin)) allowOrigin(c, origin);
      throw invalidToken("unauthorized: the access token is invalid, expired or revoked");
    }
    if (origin !== undefined) {
      if (origin !== grant.origin) {
        throw new ApiError(403, "forbidden: this access token was issued to another origin");
      }
      allowOrigin(c, origin);
    }
    c.set("httpGrant", grant);
    await next();
  };
}

/** The route, to mount at `/api/nostr` behind {@link nostrAuth}. */
export function nostrRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>().post("/", async (c) => {
    const signing = c.var.deps.httpSigning;
    const grant = c.var.httpGrant;
    // nostrAuth let nothing through without them; a route mounted without it must not run.
    if (!signing || !grant) throw notEnabled();
    const { method, params } = await readBody(c);
    const answer = await signing.signer.handle(grant, method, params);
    if (answer.retryAfterSeconds !== undefined) {
      c.header("Retry-After", String(answer.retryAfterSeconds));
    }
    if (answer.status === 401) c.header("WWW-Authenticate", INVALID_TOKEN_CHALLENGE);
    return c.json(answer.body, answer.status as ContentfulStatusCode);
  });
}

/** `{method, params}` from the JSON body (already read and size-capped), or a 400. */
async function readBody(
  c: Context<AppEnv>,
): Promise<{ method: string; params: readonly unknown[] }> {
  if (c.var.rawBody.byteLength === 0 || !isJsonMediaType(c.req.header("content-type"))) {
    throw new ApiError(
      400,
      'invalid: send {"method", "params"} as JSON with Content-Type: application/json',
    );
  }
  const body: unknown = await c.req.json();
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ApiError(400, 'invalid: the body must be a JSON object {"method", "params"}');
  }
  const { method, params } = body as Record<string, unknown>;
  if (typeof method !== "string" || method.length === 0 || method.length > 64) {
    throw new ApiError(400, "invalid: method must be a string of 1 to 64 characters", {
      field: "method",
    });
  }
  if (params !== undefined && !Array.isArray(params)) {
    throw new ApiError(400, "invalid: params must be an array", { field: "params" });
  }
  return { method, params: params ?? [] };
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive). */
function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? "");
  return match?.[1];
}

async function originAllowed(signing: HttpSigning, origin: string): Promise<boolean> {
  return origin !== "null" && (await signing.allowsOrigin?.(origin) ?? false);
}

function allowOrigin(c: Context<AppEnv>, origin: string): void {
  c.header("Access-Control-Allow-Origin", origin);
  c.header("Access-Control-Expose-Headers", "Retry-After, WWW-Authenticate");
}

function notEnabled(): ApiError {
  return new ApiError(503, "unsupported: HTTP signing is not enabled on this server");
}

function invalidToken(message: string): ApiError {
  return new ApiError(401, message, { headers: { "WWW-Authenticate": INVALID_TOKEN_CHALLENGE } });
}
