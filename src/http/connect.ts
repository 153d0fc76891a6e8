/**
 * `POST /api/connect {uri, key, policy?, label?, expires_in?}`: client-initiated pairing with a
 * `nostrconnect://` URI (see `src/service/pairing.ts`). The URI holds the app's secret: it is
 * never echoed, logged or quoted in an error.
 */
import { Hono } from "hono";
import { pairNostrConnect } from "../service/pairing.ts";
import {
  durationSchema,
  fields,
  jsonBody,
  labelSchema,
  policyNameSchema,
  text,
} from "./schemas.ts";
import type { AppEnv } from "./types.ts";
import { iso } from "./views.ts";

const ConnectBody = fields({
  uri: text(4_096),
  key: text(200),
  policy: policyNameSchema,
  label: labelSchema,
  expires_in: durationSchema,
});

/** The pairing route, to mount at `/api/connect`. */
export function connectRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>().post("/", jsonBody(ConnectBody), async (c) => {
    const body = c.req.valid("json");
    const paired = await pairNostrConnect(c.var.services, {
      uri: body.uri,
      key: body.key,
      policy: body.policy,
      label: body.label,
      expiresIn: body.expires_in,
    });
    const { record } = paired;
    return c.json({
      id: record.id,
      bunker_pubkey: record.bunkerPubkey,
      client_pubkey: paired.clientPubkey,
      key_name: record.keyName,
      user_pubkey: record.userPubkey,
      relays: record.relays,
      policy: record.policyName,
      label: record.label,
      expires_at: record.expiresAt ? iso(record.expiresAt) : null,
      requested_perms: paired.requestedPerms,
      subscribed: paired.subscribed,
      sent: paired.sent,
    }, 201);
  });
}
