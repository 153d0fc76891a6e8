/**
 * `/api/accounts` and `/api/invites`: the admins' view of people. Behind admin auth (the token,
 * NIP-98, or an admin's session). Password hashes never leave the server; an invite's code is in
 * the response that created it and nowhere else.
 */
import { Hono } from "hono";
import * as v from "valibot";
import type { ListedAccount } from "../db/repos/accounts.ts";
import type { InviteRecord } from "../db/repos/invites.ts";
import {
  createAccount,
  createInvite,
  deleteInvite,
  findAccount,
  listAccounts,
  listInvites,
  resetPassword,
  setAccountDisabled,
} from "../service/account_admin.ts";
import { durationSchema, fields, jsonBody, text, uuidParam } from "./schemas.ts";
import type { AppEnv } from "./types.ts";
import { iso } from "./views.ts";

const MAX_PASSWORD_CHARS = 1_024;
const role = v.optional(v.picklist(["user", "admin"], 'must be "user" or "admin"'), "user");

const CreateBody = fields({
  username: text(64),
  email: v.nullish(text(254)),
  password: text(MAX_PASSWORD_CHARS),
  role,
});
const PasswordBody = fields({ password: text(MAX_PASSWORD_CHARS) });
const InviteBody = fields({ role, expires_in: durationSchema });

/** The account routes, to mount at `/api/accounts`. */
export function accountRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/", async (c) => {
      const accounts = await listAccounts(c.var.services);
      return c.json({ accounts: accounts.map(accountView) });
    })
    .post("/", jsonBody(CreateBody), async (c) => {
      const body = c.req.valid("json");
      const account = await createAccount(c.var.services, body);
      return c.json(accountView({ ...account, keyCount: 1 }), 201);
    })
    .get("/:ref", async (c) => {
      const account = await findAccount(c.var.services, c.req.param("ref"));
      const keys = await c.var.services.repos.keys.countOf(account.id);
      return c.json(accountView({ ...account, keyCount: keys }));
    })
    .post("/:ref/disable", async (c) => {
      const account = await setAccountDisabled(c.var.services, c.req.param("ref"), true);
      return c.json({ id: account.id, username: account.username, disabled: true });
    })
    .post("/:ref/enable", async (c) => {
      const account = await setAccountDisabled(c.var.services, c.req.param("ref"), false);
      return c.json({ id: account.id, username: account.username, disabled: false });
    })
    .post("/:ref/password", jsonBody(PasswordBody), async (c) => {
      const { password } = c.req.valid("json");
      const result = await resetPassword(c.var.services, c.req.param("ref"), password);
      return c.json({ ok: true, ended_sessions: result.endedSessions });
    });
}

/** The invite routes, to mount at `/api/invites`. */
export function inviteRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/", async (c) => {
      const invites = await listInvites(c.var.services);
      return c.json({ invites: invites.map(inviteView) });
    })
    .post("/", jsonBody(InviteBody), async (c) => {
      const body = c.req.valid("json");
      const admin = c.var.admin;
      const { code, invite } = await createInvite(c.var.services, {
        role: body.role,
        expiresIn: body.expires_in,
        createdBy: admin.method === "session" ? admin.accountId : null,
      });
      c.header("Cache-Control", "no-store");
      return c.json({ ...inviteView(invite), code }, 201);
    })
    .delete("/:id", async (c) => {
      await deleteInvite(c.var.services, uuidParam(c.req.param("id"), "invite"));
      return c.json({ deleted: true });
    });
}

function accountView(account: ListedAccount): Record<string, unknown> {
  return {
    id: account.id,
    username: account.username,
    email: account.email,
    role: account.role,
    disabled: account.disabledAt !== null,
    key_count: account.keyCount,
    created_at: iso(account.createdAt),
  };
}

function inviteView(invite: InviteRecord): Record<string, unknown> {
  return {
    id: invite.id,
    role: invite.role,
    created_at: iso(invite.createdAt),
    expires_at: iso(invite.expiresAt),
    used_at: invite.usedAt ? iso(invite.usedAt) : null,
    used_by: invite.usedByUsername,
  };
}
