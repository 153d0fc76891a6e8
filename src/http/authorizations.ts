/**
 * `/api/authorizations`: create, list, show (with clients) and revoke. Only the creation response
 * carries the `bunker://` URL, once; no response carries a secret.
 */
import { Hono } from "hono";
import {
  createAuthorization,
  getAuthorization,
  listAuthorizations,
  revokeAuthorization,
} from "../service/authorizations.ts";
import {
  booleanQuerySchema,
  durationSchema,
  fields,
  jsonBody,
  labelSchema,
  maxUsesSchema,
  policyNameSchema,
  queryParams,
  relaysSchema,
  text,
  uuidParam,
} from "./schemas.ts";
import type { AppEnv } from "./types.ts";
import { authorizationView, clientView, iso } from "./views.ts";

const CreateBody = fields({
  key: text(200),
  relays: relaysSchema,
  policy: policyNameSchema,
  max_uses: maxUsesSchema,
  expires_in: durationSchema,
  label: labelSchema,
});
const ListQuery = fields({ include_revoked: booleanQuerySchema });

/** The authorization routes, to mount at `/api/authorizations`. */
export function authorizationRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .post("/", jsonBody(CreateBody), async (c) => {
      const body = c.req.valid("json");
      const created = await createAuthorization(c.var.services, {
        key: body.key,
        relays: body.relays,
        policy: body.policy,
        maxUses: body.max_uses,
        expiresIn: body.expires_in,
        label: body.label,
      });
      const { record } = created;
      return c.json({
        id: record.id,
        bunker_url: created.bunkerUrl,
        bunker_pubkey: record.bunkerPubkey,
        key_name: record.keyName,
        user_pubkey: record.userPubkey,
        relays: created.relays,
        policy: record.policyName,
        max_uses: record.maxUses,
        expires_at: record.expiresAt === null ? null : iso(record.expiresAt),
        label: record.label,
        created_at: iso(record.createdAt),
        subscribed: created.subscribed,
      }, 201);
    })
    .get("/", queryParams(ListQuery), async (c) => {
      const { include_revoked: includeRevoked } = c.req.valid("query");
      const list = await listAuthorizations(c.var.services, { includeRevoked });
      const now = c.var.services.now();
      return c.json({ authorizations: list.map((a) => authorizationView(a, now)) });
    })
    .get("/:id", async (c) => {
      const id = uuidParam(c.req.param("id"), "authorization");
      const { record, clients } = await getAuthorization(c.var.services, id);
      return c.json({
        ...authorizationView(record, c.var.services.now()),
        clients: clients.map(clientView),
      });
    })
    .delete("/:id", async (c) => {
      const id = uuidParam(c.req.param("id"), "authorization");
      const { alreadyRevoked } = await revokeAuthorization(c.var.services, id);
      return c.json({ id, revoked: true, already_revoked: alreadyRevoked });
    });
}
