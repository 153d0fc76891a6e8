/**
 * `/api/keys`: generate (`POST /`), import (`POST /import`) and list (`GET /`) user keys. Secret
 * keys are sealed by the vault with the pubkey as additional data, zeroed after use, and never
 * appear in a response, a log line or an error message.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { UniqueViolationError } from "../db/db.ts";
import { parseSecretKey, SecretKeyError } from "../vault/secret_key.ts";
import { readJsonObject } from "./body.ts";
import { ApiError, badField, quote } from "./errors.ts";
import { optionalString, parseName, rejectUnknownFields, requireString } from "./fields.ts";
import type { AppEnv } from "./types.ts";
import { keyView } from "./views.ts";

/** Longest accepted `secret` (an ncryptsec is 162 characters). */
const MAX_SECRET_CHARS = 1_000;
/** Longest accepted NIP-49 `password`. */
const MAX_PASSWORD_CHARS = 1_024;

/** The key routes, to mount at `/api/keys`. */
export function keyRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.get("/", async (c) => {
    const keys = await c.var.repos.keys.list();
    return c.json({ keys: keys.map(keyView) });
  });

  routes.post("/", async (c) => {
    const body = readJsonObject(c);
    rejectUnknownFields(body, ["name"]);
    const name = parseName(body, "name");
    return await storeKey(c, name, generateSecretKey());
  });

  routes.post("/import", async (c) => {
    const body = readJsonObject(c);
    rejectUnknownFields(body, ["name", "secret", "password"]);
    const name = parseName(body, "name");
    const secret = requireString(body, "secret", MAX_SECRET_CHARS);
    const password = optionalString(body, "password", MAX_PASSWORD_CHARS);
    let secretKey: Uint8Array;
    try {
      secretKey = await parseSecretKey(secret, password);
    } catch (err: unknown) {
      if (!(err instanceof SecretKeyError)) throw err;
      // SecretKeyError messages never contain the input or the password.
      throw badField(/password is required/.test(err.message) ? "password" : "secret", err.message);
    }
    return await storeKey(c, name, secretKey);
  });

  return routes;
}

/** Seals and stores `secretKey` under `name` (zeroing it), answering 201 with the key's view. */
async function storeKey(c: Context<AppEnv>, name: string, secretKey: Uint8Array) {
  let pubkey: string;
  let sealed: string;
  try {
    pubkey = getPublicKey(secretKey);
    sealed = await c.var.vault.seal(secretKey, pubkey);
  } finally {
    secretKey.fill(0);
  }
  try {
    const key = await c.var.repos.keys.create({
      id: crypto.randomUUID(),
      name,
      pubkey,
      secretSealed: sealed,
    });
    c.var.log({
      level: "info",
      ns: "http.keys",
      msg: "Key stored",
      requestId: c.var.requestId,
      keyName: name,
      userPubkey: pubkey,
    });
    return c.json(keyView(key), 201);
  } catch (err: unknown) {
    if (!(err instanceof UniqueViolationError)) throw err;
    if (err.constraint === "keys_pubkey_key") {
      const existing = await c.var.repos.keys.getByPubkey(pubkey);
      throw new ApiError(
        409,
        `Cannot store key ${quote(name)}: its pubkey ${pubkey} is already stored` +
          (existing ? ` as ${quote(existing.name)}` : ""),
        { field: "secret" },
      );
    }
    throw new ApiError(409, `Cannot store key ${quote(name)}: a key with that name exists`, {
      field: "name",
    });
  }
}
