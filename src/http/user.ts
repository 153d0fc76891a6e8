/**
 * `/api/user`: what a logged-in person does with their own account, for the web app and native
 * apps. Every route needs a live session (401 otherwise) and reaches only that person's keys,
 * apps and audit rows (404 for anything else, as if it did not exist). Apps are called
 * "sessions" in these paths, as the NIP-46 clients that seed them do.
 */
import { Hono } from "hono";
import { npubEncode } from "nostr-tools/nip19";
import * as v from "valibot";
import type { AuditRecord } from "../db/repos/audit.ts";
import { changePassword, listSessions } from "../service/accounts.ts";
import {
  addOwnKey,
  connectOwnApp,
  createOwnBunker,
  exportOwnKey,
  ownActivity,
  type OwnApp,
  ownAppActivity,
  ownApps,
  ownKeys,
  revokeOwnApp,
} from "../service/own.ts";
import {
  durationSchema,
  fields,
  jsonBody,
  labelSchema,
  nameSchema,
  policyNameSchema,
  relaysSchema,
  text,
} from "./schemas.ts";
import { clientInfo, requireSession } from "./session.ts";
import type { AppEnv } from "./types.ts";
import { iso, keyView } from "./views.ts";

const MAX_PASSWORD_CHARS = 1_024;

const BunkerBody = fields({
  app_name: v.pipe(text(100), v.trim(), v.minLength(1, "must not be blank")),
  key: v.nullish(text(100)),
  policy: policyNameSchema,
  relays: relaysSchema,
  expires_in: durationSchema,
});
const ConnectBody = fields({
  uri: text(4_096),
  key: v.nullish(text(100)),
  policy: policyNameSchema,
  label: labelSchema,
});
const RevokeBody = fields({ bunker_pubkey: text(100) });
const KeyBody = fields({
  name: nameSchema,
  nsec: v.nullish(text(1_000)),
  nsec_password: v.nullish(text(MAX_PASSWORD_CHARS)),
});
const ExportBody = fields({
  key: text(100),
  password: text(MAX_PASSWORD_CHARS),
  export_password: v.nullish(text(MAX_PASSWORD_CHARS)),
});
const PasswordBody = fields({
  current_password: text(MAX_PASSWORD_CHARS),
  new_password: text(MAX_PASSWORD_CHARS),
});

/** The user routes, to mount at `/api/user`. */
export function userRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .use("*", requireSession())
    .use("*", async (c, next) => {
      await next();
      // A person's own data: never kept by a browser or a proxy.
      c.header("Cache-Control", "no-store");
    })
    .get("/account", async (c) => {
      const { account } = c.var.session!.live;
      const record = await c.var.services.repos.accounts.get(account.id);
      const keys = await ownKeys(c.var.services, account.id);
      return c.json({
        username: account.username,
        ...(record?.email ? { email: record.email } : {}),
        role: account.role,
        keys: keys.map((key) => ({
          pubkey: key.pubkey,
          npub: npubEncode(key.pubkey),
          name: key.name,
        })),
      });
    })
    .get("/keys", async (c) => {
      const keys = await ownKeys(c.var.services, accountId(c));
      return c.json({ keys: keys.map(keyView) });
    })
    .post("/keys", jsonBody(KeyBody), async (c) => {
      const body = c.req.valid("json");
      const key = await addOwnKey(c.var.services, accountId(c), {
        name: body.name,
        secret: body.nsec,
        secretPassword: body.nsec_password,
      });
      return c.json(keyView(key), 201);
    })
    .post("/keys/export", jsonBody(ExportBody), async (c) => {
      const body = c.req.valid("json");
      const exported = await exportOwnKey(c.var.services, accountId(c), {
        key: body.key,
        password: body.password,
        exportPassword: body.export_password,
      }, clientInfo(c));
      return c.json({ pubkey: exported.key.pubkey, ncryptsec: exported.ncryptsec });
    })
    .post("/bunker/create", jsonBody(BunkerBody), async (c) => {
      const body = c.req.valid("json");
      const created = await createOwnBunker(c.var.services, accountId(c), {
        appName: body.app_name,
        key: body.key,
        policy: body.policy,
        relays: body.relays,
        expiresIn: body.expires_in,
      });
      return c.json({
        bunker_url: created.bunkerUrl,
        bunker_pubkey: created.record.bunkerPubkey,
        policy: created.record.policyName,
        authorization_id: created.record.id,
      }, 201);
    })
    .post("/connect", jsonBody(ConnectBody), async (c) => {
      const body = c.req.valid("json");
      const paired = await connectOwnApp(c.var.services, accountId(c), {
        uri: body.uri,
        key: body.key,
        policy: body.policy,
        label: body.label,
      });
      return c.json({
        authorization_id: paired.record.id,
        bunker_pubkey: paired.record.bunkerPubkey,
        client_pubkey: paired.clientPubkey,
        app_name: paired.record.label,
        sent: paired.sent,
      }, 201);
    })
    .get("/sessions", async (c) => {
      const apps = await ownApps(c.var.services, accountId(c));
      return c.json({ sessions: apps.map(appView) });
    })
    .post("/sessions/revoke", jsonBody(RevokeBody), async (c) => {
      const { bunker_pubkey } = c.req.valid("json");
      const record = await revokeOwnApp(c.var.services, accountId(c), bunker_pubkey);
      return c.json({ revoked: true, authorization_id: record.id });
    })
    .get("/sessions/:id/activity", async (c) => {
      const rows = await ownAppActivity(c.var.services, accountId(c), c.req.param("id"));
      return c.json({ activity: rows.map(activityView) });
    })
    .get("/activity", async (c) => {
      const rows = await ownActivity(c.var.services, accountId(c), 100);
      return c.json({ activity: rows.map(activityView) });
    })
    .post("/password", jsonBody(PasswordBody), async (c) => {
      const body = c.req.valid("json");
      const session = c.var.session!;
      const result = await changePassword(
        c.var.services,
        session.live.account.id,
        {
          current: body.current_password,
          next: body.new_password,
        },
        session.token,
        clientInfo(c),
      );
      return c.json({ ok: true, ended_sessions: result.endedSessions });
    })
    .get("/logins", async (c) => {
      const session = c.var.session!;
      const rows = await listSessions(c.var.services, session.live.account.id);
      return c.json({
        logins: rows.map((row) => ({
          current: row.idHash === session.live.session.idHash,
          created_at: iso(row.createdAt),
          last_seen_at: iso(row.lastSeenAt),
          expires_at: iso(row.expiresAt),
          user_agent: row.userAgent,
        })),
      });
    });
}

function accountId(c: { var: { session?: { live: { account: { id: string } } } } }): string {
  return c.var.session!.live.account.id;
}

/** A connected app as the user API shows it. */
export function appView(app: OwnApp): Record<string, unknown> {
  const { record } = app;
  const metadata = app.clients.find((client) => client.clientMetadata)?.clientMetadata ?? null;
  return {
    authorization_id: record.id,
    bunker_pubkey: record.bunkerPubkey,
    app_name: record.label,
    client_metadata: metadata,
    client_pubkeys: app.clients.map((client) => client.clientPubkey),
    key: record.keyName,
    user_pubkey: record.userPubkey,
    policy: record.policyName,
    created_at: iso(record.createdAt),
    expires_at: record.expiresAt ? iso(record.expiresAt) : null,
    last_activity: app.lastActivityAt ? iso(app.lastActivityAt) : null,
    request_count: app.requests,
  };
}

/** One audit row as the user API shows it. */
export function activityView(row: AuditRecord): Record<string, unknown> {
  return {
    id: row.id,
    at: iso(row.at),
    authorization_id: row.authorizationId,
    client_pubkey: row.clientPubkey,
    method: row.method,
    event_kind: row.eventKind,
    event_id: row.eventId,
    decision: row.decision,
    reason: row.reason,
  };
}
