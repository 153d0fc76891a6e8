/**
 * `/api/oauth-clients`: the OAuth clients an operator registered (admin auth). Registering pins a
 * client's redirect URIs; see `src/service/oauth_clients.ts`.
 */
import { Hono } from "hono";
import * as v from "valibot";
import type { OAuthClientRecord } from "../db/repos/oauth.ts";
import {
  listOAuthClients,
  registerOAuthClient,
  removeOAuthClient,
} from "../service/oauth_clients.ts";
import { fields, jsonBody, policyNameSchema, text } from "./schemas.ts";
import type { AppEnv } from "./types.ts";
import { iso } from "./views.ts";

const ClientBody = fields({
  client_id: text(200),
  name: text(100),
  redirect_uris: v.array(text(2_000), "must be an array of URIs"),
  policy: policyNameSchema,
});

/** The registered-client routes, to mount at `/api/oauth-clients`. */
export function oauthClientRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/", async (c) => {
      const clients = await listOAuthClients(c.var.services);
      return c.json({ clients: clients.map(clientView) });
    })
    .post("/", jsonBody(ClientBody), async (c) => {
      const body = c.req.valid("json");
      const client = await registerOAuthClient(c.var.services, {
        clientId: body.client_id,
        name: body.name,
        redirectUris: body.redirect_uris,
        policy: body.policy,
      });
      return c.json(clientView(client), 201);
    })
    .delete("/:clientId", async (c) => {
      await removeOAuthClient(c.var.services, c.req.param("clientId"));
      return c.json({ deleted: true });
    });
}

function clientView(client: OAuthClientRecord): Record<string, unknown> {
  return {
    client_id: client.clientId,
    name: client.name,
    redirect_uris: client.redirectUris,
    policy: client.policyName,
    created_at: iso(client.createdAt),
  };
}
