/**
 * Browser sessions over HTTP: the `keycast_session` cookie (HttpOnly, SameSite=Lax, Path=/,
 * Secure whenever the public URL is https) and the defences every cookie-authenticated state
 * change passes.
 *
 * CSRF, in two layers. {@link sameOrigin}: a state-changing request that carries the session
 * cookie must come from one of the server's own origins — its `Origin` header must be one of them
 * (or, when it is absent or `null`, as the pages' `no-referrer` policy makes it, the browser's
 * `Sec-Fetch-Site` must say `same-origin`); without either header, only a JSON body is accepted,
 * which no other site can send without a CORS preflight keycast never grants. Forms also carry a token
 * (`CsrfTokens`) bound to the session, or, before login, to the anonymous `keycast_visitor` cookie.
 */
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { isRandomToken, randomToken } from "../accounts/tokens.ts";
import type { LiveSession } from "../db/repos/sessions.ts";
import { authenticate, type ClientInfo } from "../service/accounts.ts";
import { isJsonMediaType } from "./body.ts";
import { ApiError } from "./errors.ts";
import type { AppEnv } from "./types.ts";

/** The session cookie. */
export const SESSION_COOKIE = "keycast_session";
/** The anonymous visitor cookie that the CSRF tokens of the login and registration forms bind to. */
export const VISITOR_COOKIE = "keycast_visitor";
const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** The logged-in person of this request, with the cookie value that proved it. */
export interface SessionContext {
  live: LiveSession;
  /** The cookie value (never log it). */
  token: string;
}

/** Sets `c.var.session` when the request carries a live session cookie. */
export function readSession(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = getCookie(c, SESSION_COOKIE);
    if (token !== undefined && isRandomToken(token) && c.var.services.accounts) {
      const live = await authenticate(c.var.services, token);
      if (live) c.set("session", { live, token });
    }
    await next();
  };
}

/** 401 JSON unless the request has a live session. */
export function requireSession(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!c.var.session) throw new ApiError(401, "Log in first: no valid session cookie");
    await next();
  };
}

/**
 * Refuses (403) a state-changing request that carries the session cookie but does not come from
 * one of this server's origins (see the module doc). Requests without the cookie pass: they are
 * not authenticated by it.
 */
export function sameOrigin(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (UNSAFE_METHODS.has(c.req.method) && getCookie(c, SESSION_COOKIE) !== undefined) {
      if (!fromOwnOrigin(c)) {
        throw new ApiError(
          403,
          "Cross-site request refused: this request must come from keycast's own pages",
        );
      }
    }
    await next();
  };
}

/** Whether the request comes from one of the server's origins (see {@link sameOrigin}). */
export function fromOwnOrigin(c: Context<AppEnv>): boolean {
  const origin = c.req.header("origin");
  // Under `Referrer-Policy: no-referrer` browsers send `Origin: null` even from keycast's own
  // pages; then only `Sec-Fetch-Site`, which no page can set, can vouch for the request.
  if (origin !== undefined && origin !== "null") return c.var.deps.origins().includes(origin);
  const site = c.req.header("sec-fetch-site");
  if (origin === "null") return site === "same-origin";
  if (site !== undefined) return site === "same-origin";
  return isJsonMediaType(c.req.header("content-type"));
}

/** Sets the session cookie for `token`, ending at `expiresAt`. */
export function setSessionCookie(c: Context<AppEnv>, token: string, expiresAt: Date): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: "Lax",
    path: "/",
    secure: secureCookies(c),
    expires: expiresAt,
  });
}

/** Removes the session cookie from the browser. */
export function clearSessionCookie(c: Context<AppEnv>): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: secureCookies(c) });
}

/**
 * The anonymous visitor id the login and registration forms' CSRF tokens bind to; a fresh one
 * is set as a cookie when the browser has none.
 */
export function visitorId(c: Context<AppEnv>): string {
  const existing = getCookie(c, VISITOR_COOKIE);
  if (existing !== undefined && isRandomToken(existing)) return existing;
  const fresh = randomToken();
  setCookie(c, VISITOR_COOKIE, fresh, {
    httpOnly: true,
    sameSite: "Lax",
    path: "/",
    secure: secureCookies(c),
  });
  return fresh;
}

/** What a form's CSRF token is bound to: the session, else the visitor cookie. */
export function csrfBinding(c: Context<AppEnv>): string {
  const session = c.var.session;
  if (session) return `session:${session.live.session.idHash}`;
  return `visitor:${visitorId(c)}`;
}

/** The client's address and user agent, for throttling and account history. */
export function clientInfo(c: Context<AppEnv>): ClientInfo {
  const userAgent = c.req.header("user-agent")?.slice(0, 200) ?? null;
  return { ip: clientAddress(c), userAgent };
}

/**
 * The client's address: the connection's peer, or — when that peer is one of `--trust-proxy` —
 * the last address in `X-Forwarded-For` that is not a trusted proxy.
 */
export function clientAddress(c: Context<AppEnv>): string {
  const peer =
    (c.env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr?.hostname ??
      "unknown";
  const trusted = c.var.deps.trustedProxies ?? [];
  if (!trusted.includes(peer)) return peer;
  const forwarded = (c.req.header("x-forwarded-for") ?? "").split(",").map((part) => part.trim())
    .filter((part) => part !== "" && part.length <= 64);
  for (let i = forwarded.length - 1; i >= 0; i--) {
    if (!trusted.includes(forwarded[i]!)) return forwarded[i]!;
  }
  return peer;
}

function secureCookies(c: Context<AppEnv>): boolean {
  return c.var.deps.origins().some((origin) => origin.startsWith("https://"));
}
