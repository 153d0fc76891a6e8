/**
 * The HTTP app: `createApp(deps)` builds a Hono app with no side effects; `src/server.ts` serves
 * it. Routes: `/health`, `/health/ready` and `/metrics` (no auth); `/api/auth` (register, login,
 * logout) and `/api/user` (a logged-in person's own keys and apps, see `session.ts`);
 * `/api/nostr` (HTTP signing with an OAuth access token, see `nostr.ts`); and every
 * other `/api` route behind admin auth (see `auth.ts`). Routes parse the
 * request, call a service (`src/service/`) and render its result.
 */
import { Hono } from "hono";
import { accountRoutes, inviteRoutes } from "./accounts.ts";
import { auditRoutes } from "./audit.ts";
import { adminAuth, nip98Payload } from "./auth.ts";
import { authRoutes } from "./auth_routes.ts";
import { authorizationRoutes } from "./authorizations.ts";
import { backupRoutes } from "./backup.ts";
import { bodyMiddleware, readsBody } from "./body.ts";
import { connectRoutes } from "./connect.ts";
import { contextMiddleware, resolveDeps } from "./context.ts";
import { notFound, onError } from "./errors.ts";
import { healthRoutes } from "./health.ts";
import { instanceRoutes } from "./instances.ts";
import { keyRoutes } from "./keys.ts";
import { nostrAuth, nostrRoutes } from "./nostr.ts";
import { authorizationServerMetadata, oauthRoutes } from "./oauth.ts";
import { oauthClientRoutes } from "./oauth_clients.ts";
import { consentPages } from "../web/pages/consent.tsx";
import { policyRoutes } from "./policies.ts";
import { readSession, sameOrigin } from "./session.ts";
import type { AppDeps, AppEnv, AppVariables } from "./types.ts";
import { userRoutes } from "./user.ts";
import { securityHeaders, WEB_FORM_PATHS, webRoutes } from "../web/web.ts";

export type {
  AdminIdentity,
  AppDeps,
  AppEnv,
  AppVariables,
  RelayStatus,
  SignerStatus,
} from "./types.ts";

/** The API paths a person reaches with their own session; every other `/api` path is admin. */
const PERSON_PATHS = /^\/api\/(auth|user|oauth|nostr)(\/|$)/;

/** Builds the HTTP app over `deps`. */
export function createApp(deps: AppDeps): Hono<{ Variables: AppVariables }> {
  const resolved = resolveDeps(deps);
  const app = new Hono<AppEnv>();
  app.onError(onError);
  app.notFound(notFound);
  app.use("*", securityHeaders());
  app.use("*", contextMiddleware(resolved));
  app.use("*", readSession());
  // Authenticate before any body is read; NIP-98's payload check needs the body, so it follows.
  // Every /api path but a person's is admin, unknown ones included: they 401 before they 404.
  const admin = adminAuth({ ...resolved, now: resolved.services.now });
  app.use("/api/*", (c, next) => PERSON_PATHS.test(c.req.path) ? next() : admin(c, next));
  // HTTP signing's access tokens and CORS, also before the body is read.
  app.use("/api/nostr/*", nostrAuth());
  app.use("*", sameOrigin());
  // Only /api requests and the web pages' form posts have their bodies read (`readsBody`).
  const readBody = bodyMiddleware(resolved.maxBodyBytes, resolved.bodyTimeoutMs);
  app.use(
    "*",
    (c, next) => readsBody(c.req.method, c.req.path, WEB_FORM_PATHS) ? readBody(c, next) : next(),
  );
  app.use("/api/*", nip98Payload(resolved.services.repos.nip98Replays));
  app.route("/health", healthRoutes());
  // Counts and states only, nothing secret: open like /health, for scrapers.
  app.get("/metrics", (c) => {
    const render = c.var.deps.metrics;
    if (!render) return c.json({ error: "Metrics are not enabled" }, 404);
    return c.body(render(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
  app.route("/api/auth", authRoutes());
  app.route("/api/user", userRoutes());
  app.route("/api/keys", keyRoutes());
  app.route("/api/policies", policyRoutes());
  app.route("/api/authorizations", authorizationRoutes());
  app.route("/api/audit", auditRoutes());
  app.route("/api/connect", connectRoutes());
  app.route("/api/backup", backupRoutes());
  app.route("/api/instances", instanceRoutes());
  app.route("/api/accounts", accountRoutes());
  app.route("/api/invites", inviteRoutes());
  app.route("/api/nostr", nostrRoutes());
  app.route("/api/oauth-clients", oauthClientRoutes());
  app.route("/api/oauth/authorize", consentPages());
  app.route("/api/oauth", oauthRoutes());
  app.get("/.well-known/oauth-authorization-server", authorizationServerMetadata);
  app.route("/", webRoutes());
  return app;
}
