/**
 * `/api/keys`: generate (`POST /`), import (`POST /import`) and list (`GET /`) user keys. No
 * response carries secret material (see `src/service/keys.ts`).
 */
import { Hono } from "hono";
import * as v from "valibot";
import { generateKey, importKey, listKeys } from "../service/keys.ts";
import { fields, jsonBody, nameSchema, text } from "./schemas.ts";
import type { AppEnv } from "./types.ts";
import { keyView } from "./views.ts";

/** Longest accepted `secret` (an ncryptsec is 162 characters). */
const MAX_SECRET_CHARS = 1_000;
/** Longest accepted NIP-49 `password`. */
const MAX_PASSWORD_CHARS = 1_024;

const GenerateBody = fields({ name: nameSchema });
const ImportBody = fields({
  name: nameSchema,
  secret: text(MAX_SECRET_CHARS),
  password: v.nullish(text(MAX_PASSWORD_CHARS)),
});

/** The key routes, to mount at `/api/keys`. */
export function keyRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/", async (c) => {
      const keys = await listKeys(c.var.services);
      return c.json({ keys: keys.map(keyView) });
    })
    .post("/", jsonBody(GenerateBody), async (c) => {
      const { name } = c.req.valid("json");
      return c.json(keyView(await generateKey(c.var.services, name)), 201);
    })
    .post("/import", jsonBody(ImportBody), async (c) => {
      const { name, secret, password } = c.req.valid("json");
      const key = await importKey(c.var.services, {
        name,
        secret,
        password: password ?? undefined,
      });
      return c.json(keyView(key), 201);
    });
}
