/**
 * `/api/authorizations`: create (see `authorization_create.ts`), list, show (with clients) and
 * revoke. A revocation is committed first, then `remove` goes to the listener. No response carries
 * a secret; only the creation response carries the `bunker://` URL, once.
 */
import { Hono } from "hono";
import { createAuthorization } from "./authorization_create.ts";
import { ApiError, quote } from "./errors.ts";
import { parseBooleanQuery, parseUuidParam } from "./fields.ts";
import type { AppEnv } from "./types.ts";
import { authorizationView, clientView } from "./views.ts";

/** The authorization routes, to mount at `/api/authorizations`. */
export function authorizationRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.post("/", createAuthorization);

  routes.get("/", async (c) => {
    const includeRevoked = parseBooleanQuery(c.req.query("include_revoked"), "include_revoked");
    const list = await c.var.repos.authorizations.list({ includeRevoked });
    const now = c.var.deps.now();
    return c.json({ authorizations: list.map((a) => authorizationView(a, now)) });
  });

  routes.get("/:id", async (c) => {
    const id = parseUuidParam(c.req.param("id"), "authorization");
    const authorization = await c.var.repos.authorizations.get(id);
    if (!authorization) throw notFound(id);
    const clients = await c.var.repos.clients.list(id);
    return c.json({
      ...authorizationView(authorization, c.var.deps.now()),
      clients: clients.map(clientView),
    });
  });

  routes.delete("/:id", async (c) => {
    const id = parseUuidParam(c.req.param("id"), "authorization");
    const revoked = await c.var.repos.authorizations.revoke(id);
    if (!revoked) throw notFound(id);
    // Sent even when it was already revoked: harmless, and it heals a listener that missed it.
    c.var.channel.send({ type: "remove", bunkerPubkey: revoked.bunkerPubkey });
    c.var.log({
      level: "info",
      ns: "http.authorizations",
      msg: "Authorization revoked",
      requestId: c.var.requestId,
      authorizationId: id,
      bunkerPubkey: revoked.bunkerPubkey,
      alreadyRevoked: revoked.alreadyRevoked,
    });
    return c.json({ id, revoked: true, already_revoked: revoked.alreadyRevoked });
  });

  return routes;
}

function notFound(id: string): ApiError {
  return new ApiError(404, `No authorization with id ${quote(id)}`);
}
