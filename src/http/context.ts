/**
 * The one middleware that puts the dependencies into `c.var`, assigns the request id (echoed in
 * `X-Request-Id`) and writes one access-log line per request.
 */
import type { MiddlewareHandler } from "hono";
import type { AppDeps, AppEnv, ResolvedDeps } from "./types.ts";

/** Default cap on request bodies, in bytes (64 KiB). */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
/** Default wait for the listener to subscribe a new bunker pubkey, in ms. */
export const DEFAULT_SUBSCRIBE_TIMEOUT_MS = 5_000;
/** Default limit on reading one request body, in ms. */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;

/** Header carrying the request id, in and out. */
export const REQUEST_ID_HEADER = "X-Request-Id";
/** An incoming request id is kept when it is 1–128 of these characters; otherwise replaced. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:=-]{1,128}$/;

/** Fills in the defaults of the optional {@link AppDeps} fields. */
export function resolveDeps(deps: AppDeps): ResolvedDeps {
  return {
    ...deps,
    maxBodyBytes: deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    subscribeTimeoutMs: deps.subscribeTimeoutMs ?? DEFAULT_SUBSCRIBE_TIMEOUT_MS,
    bodyTimeoutMs: deps.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
    now: deps.now ?? Date.now,
  };
}

/** Sets `c.var.{db,repos,vault,channel,log,deps,requestId}` and logs the outcome of the request. */
export function contextMiddleware(deps: ResolvedDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header(REQUEST_ID_HEADER);
    const requestId = incoming !== undefined && SANE_REQUEST_ID.test(incoming)
      ? incoming
      : crypto.randomUUID();
    c.set("requestId", requestId);
    c.set("db", deps.db);
    c.set("repos", deps.repos);
    c.set("vault", deps.vault);
    c.set("channel", deps.channel);
    c.set("log", deps.log);
    c.set("deps", deps);
    c.header(REQUEST_ID_HEADER, requestId);
    const started = performance.now();
    await next();
    // Only the path: query strings are not logged (none carries secrets today; keep it that way).
    deps.log({
      level: c.req.path.startsWith("/health") ? "debug" : "info",
      ns: "http",
      msg: "Request served",
      requestId,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  };
}
