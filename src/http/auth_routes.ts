/**
 * `/api/auth`: registration, login and logout for the web app and native apps. Success sets the
 * `keycast_session` cookie and answers with the person's first public key; any bad credential is
 * the same 401. Passwords and keys sent here are never logged or echoed.
 */
import { Hono } from "hono";
import { npubEncode } from "nostr-tools/nip19";
import * as v from "valibot";
import type { KeyRecord } from "../db/repos/keys.ts";
import { login, logout, register } from "../service/accounts.ts";
import { fields, jsonBody, text } from "./schemas.ts";
import { clearSessionCookie, clientInfo, setSessionCookie } from "./session.ts";
import type { AppEnv } from "./types.ts";

const MAX_LOGIN_CHARS = 254;
const MAX_PASSWORD_CHARS = 1_024;
const MAX_SECRET_CHARS = 1_000;

const RegisterBody = fields({
  username: v.nullish(text(MAX_LOGIN_CHARS)),
  email: v.nullish(text(MAX_LOGIN_CHARS)),
  password: text(MAX_PASSWORD_CHARS),
  invite: v.nullish(text(200)),
  nsec: v.nullish(text(MAX_SECRET_CHARS)),
  nsec_password: v.nullish(text(MAX_PASSWORD_CHARS)),
});

const LoginBody = fields({
  username: v.nullish(text(MAX_LOGIN_CHARS)),
  email: v.nullish(text(MAX_LOGIN_CHARS)),
  password: text(MAX_PASSWORD_CHARS),
});

/** The auth routes, to mount at `/api/auth`. */
export function authRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .post("/register", jsonBody(RegisterBody), async (c) => {
      const body = c.req.valid("json");
      const { key, session } = await register(c.var.services, {
        username: body.username ?? usernameFromEmail(body.email),
        email: body.email,
        password: body.password,
        invite: body.invite,
        secret: body.nsec,
        secretPassword: body.nsec_password,
      }, clientInfo(c));
      setSessionCookie(c, session.token, session.expiresAt);
      return c.json(pubkeyView(key), 201);
    })
    .post("/login", jsonBody(LoginBody), async (c) => {
      const body = c.req.valid("json");
      const { account, session } = await login(c.var.services, {
        login: body.username ?? body.email ?? "",
        password: body.password,
      }, clientInfo(c));
      setSessionCookie(c, session.token, session.expiresAt);
      const [key] = await c.var.services.repos.keys.list(account.id);
      return c.json(key ? pubkeyView(key) : { pubkey: null, npub: null });
    })
    .post("/logout", async (c) => {
      const session = c.var.session;
      if (session) await logout(c.var.services, session.token);
      clearSessionCookie(c);
      return c.json({ ok: true });
    });
}

function pubkeyView(key: KeyRecord): { pubkey: string; npub: string } {
  return { pubkey: key.pubkey, npub: npubEncode(key.pubkey) };
}

/**
 * A username for a registration that gave only an email: its local part, cut to what usernames
 * allow (the service reports it if that is still not a valid or free name).
 */
function usernameFromEmail(email: string | null | undefined): string {
  const local = (email ?? "").split("@")[0]!.toLowerCase().replace(/[^a-z0-9._-]/g, "");
  return local.replace(/^[._-]+/, "").slice(0, 32);
}
