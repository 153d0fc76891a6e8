/**
 * The web app: server-rendered pages (Hono JSX, no build step, usable without JavaScript) for
 * people — `/`, `/login`, `/register`, `/account`, `/account/security` — and for admins —
 * `/admin`, `/admin/setup` — plus the one stylesheet and one script under `/static`. Every form
 * posts with a CSRF token (`context.ts`); errors render as pages, never as JSON.
 */
import { Hono } from "hono";
import type { AppEnv } from "../http/types.ts";
import { ASSETS } from "./assets.ts";
import { webError } from "./context.ts";
import { accountPages } from "./pages/account.tsx";
import { adminPages } from "./pages/admin.tsx";
import { publicPages } from "./pages/public.tsx";
import { securityPages } from "./pages/security.tsx";

export { securityHeaders } from "./context.ts";

/** Paths of the web app that accept form posts (their bodies are read before routing). */
export const WEB_FORM_PATHS: RegExp = /^\/(login|register|logout|account(\/.*)?|admin(\/.*)?)$/;

/** The web routes, mounted at `/`. */
export function webRoutes(): Hono<AppEnv> {
  const web = new Hono<AppEnv>();
  web.onError(webError);
  web.get("/static/:file", (c) => {
    const asset = ASSETS.get(c.req.path);
    if (!asset) return c.text("Not found", 404);
    return c.body(asset.body, 200, {
      "content-type": asset.type,
      "cache-control": "public, max-age=31536000, immutable",
    });
  });
  web.route("/", publicPages());
  web.route("/account/security", securityPages());
  web.route("/account", accountPages());
  web.route("/admin", adminPages());
  return web;
}
