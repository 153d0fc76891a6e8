/**
 * The OAuth endpoints apps call directly: `POST /api/oauth/token` (authorization_code and
 * refresh_token grants; form-encoded as RFC 6749 says, or JSON), `POST /api/oauth/revoke`
 * (RFC 7009) and `GET /.well-known/oauth-authorization-server` (RFC 8414). They take no cookie
 * and no client secret (apps are public clients proving themselves with PKCE), so browsers may
 * call them from any origin. Errors are RFC 6749's `{"error", "error_description"}`. The consent
 * page, `/api/oauth/authorize`, is in `src/web/pages/consent.tsx`.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { listPolicies } from "../service/policies.ts";
import {
  exchangeCode,
  OAuthError,
  oauthSettings,
  refreshTokens,
  revokeToken,
} from "../service/oauth.ts";
import { isJsonMediaType } from "./body.ts";
import type { AppEnv } from "./types.ts";

const MAX_PARAM_CHARS = 4_096;

/** The token and revocation routes, to mount at `/api/oauth`. */
export function oauthRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.onError((error, c) => {
    if (error instanceof OAuthError) return oauthError(c, error);
    throw error;
  });
  routes.use("/:endpoint{token|revoke}", async (c, next) => {
    // Public clients in browsers call these from their own origin; no cookie is ever read here.
    c.header("Access-Control-Allow-Origin", "*");
    if (c.req.method === "OPTIONS") {
      c.header("Access-Control-Allow-Methods", "POST");
      c.header("Access-Control-Allow-Headers", "content-type, authorization, dpop");
      c.header("Access-Control-Max-Age", "600");
      return c.body(null, 204);
    }
    await next();
  });
  routes.post("/token", async (c) => {
    const params = await readParams(c);
    c.header("Cache-Control", "no-store");
    c.header("Pragma", "no-cache");
    switch (params.grant_type) {
      case "authorization_code": {
        const body = await exchangeCode(c.var.services, {
          code: required(params, "code"),
          redirectUri: required(params, "redirect_uri"),
          clientId: required(params, "client_id"),
          codeVerifier: required(params, "code_verifier"),
        });
        return c.json(body);
      }
      case "refresh_token": {
        const body = await refreshTokens(c.var.services, {
          refreshToken: required(params, "refresh_token"),
          clientId: params.client_id,
        });
        return c.json(body);
      }
      case undefined:
        throw new OAuthError("invalid_request", "grant_type is required");
      default:
        throw new OAuthError(
          "unsupported_grant_type",
          "grant_type must be authorization_code or refresh_token",
        );
    }
  });
  routes.post("/revoke", async (c) => {
    const params = await readParams(c);
    await revokeToken(c.var.services, required(params, "token"));
    c.header("Cache-Control", "no-store");
    return c.body(null, 200);
  });
  return routes;
}

/** `GET /.well-known/oauth-authorization-server` (RFC 8414). */
export async function authorizationServerMetadata(c: Context<AppEnv>): Promise<Response> {
  try {
    oauthSettings(c.var.services);
  } catch (error: unknown) {
    if (error instanceof OAuthError) return oauthError(c, error);
    throw error;
  }
  const issuer = c.var.deps.origins()[0] ?? new URL(c.req.url).origin;
  const policies = await listPolicies(c.var.services);
  c.header("Access-Control-Allow-Origin", "*");
  return c.json({
    issuer,
    authorization_endpoint: `${issuer}/api/oauth/authorize`,
    token_endpoint: `${issuer}/api/oauth/token`,
    revocation_endpoint: `${issuer}/api/oauth/revoke`,
    response_types_supported: ["code"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    code_challenge_methods_supported: ["S256"],
    authorization_response_iss_parameter_supported: true,
    token_endpoint_auth_methods_supported: ["none"],
    revocation_endpoint_auth_methods_supported: ["none"],
    scopes_supported: policies.map((policy) =>
      `policy:${policy.builtin ? policy.name : policy.record.name}`
    ),
    service_documentation: `${issuer}/`,
  });
}

function oauthError(c: Context<AppEnv>, error: OAuthError): Response {
  c.header("Cache-Control", "no-store");
  return c.json(
    { error: error.code, error_description: error.description },
    error.status as ContentfulStatusCode,
  );
}

/** The request's parameters, form-encoded or JSON; every value a string of bounded length. */
async function readParams(c: Context<AppEnv>): Promise<Record<string, string | undefined>> {
  const type = c.req.header("content-type");
  let entries: [string, unknown][];
  if (isJsonMediaType(type)) {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch (_error: unknown) {
      throw new OAuthError("invalid_request", "the body is not valid JSON");
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new OAuthError("invalid_request", "the body must be a JSON object");
    }
    entries = Object.entries(body);
  } else if (type?.split(";")[0]?.trim().toLowerCase() === "application/x-www-form-urlencoded") {
    entries = [...new URLSearchParams(new TextDecoder().decode(c.var.rawBody))];
  } else {
    throw new OAuthError(
      "invalid_request",
      "send application/x-www-form-urlencoded (or JSON) parameters",
    );
  }
  const params: Record<string, string | undefined> = Object.create(null);
  for (const [name, value] of entries) {
    if (typeof value !== "string" || value.length > MAX_PARAM_CHARS) {
      throw new OAuthError("invalid_request", `${name.slice(0, 40)} must be a string`);
    }
    if (params[name] !== undefined) {
      throw new OAuthError("invalid_request", `${name.slice(0, 40)} is given twice`);
    }
    params[name] = value;
  }
  return params;
}

function required(params: Record<string, string | undefined>, name: string): string {
  const value = params[name];
  if (!value) throw new OAuthError("invalid_request", `${name} is required`);
  return value;
}
