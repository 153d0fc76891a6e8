/**
 * The one middleware that puts the dependencies into `c.var`, assigns the request id (echoed in
 * `X-Request-Id`) and writes one access-log line per request.
 */
import type { MiddlewareHandler } from "hono";
import { withFields } from "../log.ts";
import type { AppDeps, AppEnv, ResolvedDeps } from "./types.ts";

/** Default cap on request bodies, in bytes (64 KiB). */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
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
    bodyTimeoutMs: deps.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
  };
}

/** Sets `c.var.{services,log,deps,requestId}` and logs the outcome of the request. */
export function contextMiddleware(deps: ResolvedDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header(REQUEST_ID_HEADER);
    const requestId = incoming !== undefined && SANE_REQUEST_ID.test(incoming)
      ? incoming
      : crypto.randomUUID();
    c.set("requestId", requestId);
    const log = withFields(deps.services.log, { requestId });
    c.set("log", log);
    c.set("services", { ...deps.services, log });
    c.set("deps", deps);
    c.header(REQUEST_ID_HEADER, requestId);
    const started = performance.now();
    await next();
    // Only the path: query strings are not logged (none carries secrets today; keep it that way).
    deps.services.log({
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
