/**
 * The admin HTTP API: `createApp(deps)` builds a Hono app with no side effects; `main.ts` serves
 * it. Routes: `/health` and `/health/ready` (no auth), and `/api/*` behind admin auth (see
 * `auth.ts`). Routes parse the request, call a service (`src/service/`) and render its result.
 */
import { Hono } from "hono";
import { auditRoutes } from "./audit.ts";
import { adminAuth, nip98Payload } from "./auth.ts";
import { authorizationRoutes } from "./authorizations.ts";
import { backupRoutes } from "./backup.ts";
import { bodyMiddleware } from "./body.ts";
import { connectRoutes } from "./connect.ts";
import { contextMiddleware, resolveDeps } from "./context.ts";
import { notFound, onError } from "./errors.ts";
import { healthRoutes } from "./health.ts";
import { keyRoutes } from "./keys.ts";
import { policyRoutes } from "./policies.ts";
import type { AppDeps, AppEnv, AppVariables } from "./types.ts";

export type {
  AdminIdentity,
  AppDeps,
  AppEnv,
  AppVariables,
  RelayStatus,
  SignerStatus,
} from "./types.ts";

/** Builds the admin API over `deps`. */
export function createApp(deps: AppDeps): Hono<{ Variables: AppVariables }> {
  const resolved = resolveDeps(deps);
  const app = new Hono<AppEnv>();
  app.onError(onError);
  app.notFound(notFound);
  app.use("*", contextMiddleware(resolved));
  // Authenticate before any body is read; NIP-98's payload check needs the body, so it follows.
  app.use("/api/*", adminAuth({ ...resolved, now: resolved.services.now }));
  app.use("*", bodyMiddleware(resolved.maxBodyBytes, resolved.bodyTimeoutMs));
  app.use("/api/*", nip98Payload(resolved.services.repos.nip98Replays));
  app.route("/health", healthRoutes());
  // Counts and states only, nothing secret: open like /health, for scrapers.
  app.get("/metrics", (c) => {
    const render = c.var.deps.metrics;
    if (!render) return c.json({ error: "Metrics are not enabled" }, 404);
    return c.body(render(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
  app.route("/api/keys", keyRoutes());
  app.route("/api/policies", policyRoutes());
  app.route("/api/authorizations", authorizationRoutes());
  app.route("/api/audit", auditRoutes());
  app.route("/api/connect", connectRoutes());
  app.route("/api/backup", backupRoutes());
  return app;
}
