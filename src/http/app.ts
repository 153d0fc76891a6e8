/**
 * The admin HTTP API: `createApp(deps)` builds a Hono app with no side effects; `main.ts` serves
 * it. Routes: `/health` and `/health/ready` (no auth), and `/api/*` behind admin auth (see
 * `auth.ts`). Every write is committed to the database before its command goes on the channel.
 */
import { Hono } from "hono";
import { adminAuth } from "./auth.ts";
import { bodyMiddleware } from "./body.ts";
import { contextMiddleware, resolveDeps } from "./context.ts";
import { notFound, onError } from "./errors.ts";
import { healthRoutes } from "./health.ts";
import type { AppDeps, AppEnv, AppVariables } from "./types.ts";

export type {
  AdminIdentity,
  AppDeps,
  AppEnv,
  AppVariables,
  RelayStatus,
  SignerStatus,
} from "./types.ts";
export { ApiError } from "./errors.ts";
export { ensureAdminToken, readAdminToken } from "./admin_token.ts";

/** Builds the admin API over `deps`. */
export function createApp(deps: AppDeps): Hono<{ Variables: AppVariables }> {
  const resolved = resolveDeps(deps);
  const app = new Hono<AppEnv>();
  app.onError(onError);
  app.notFound(notFound);
  app.use("*", contextMiddleware(resolved));
  app.use("*", bodyMiddleware(resolved.maxBodyBytes, resolved.bodyTimeoutMs));
  app.route("/health", healthRoutes());
  app.use("/api/*", adminAuth(resolved));
  return app;
}
