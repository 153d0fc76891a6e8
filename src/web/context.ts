/**
 * What every web page handler shares: the security headers, reading a posted form (capped, and
 * refused without its CSRF token), who is logged in, and rendering a page or an error page.
 */
import type { JSX } from "hono/jsx/jsx-runtime";
import type { Context, MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError, serviceStatus } from "../http/errors.ts";
import { csrfBinding, fromOwnOrigin } from "../http/session.ts";
import type { AppEnv } from "../http/types.ts";
import { ServiceError } from "../service/errors.ts";
import type { Viewer } from "./layout.tsx";
import { MessagePage } from "./pages/message.tsx";

/** Longest value of one form field, in characters (passwords allow 1,024; URIs 4,096). */
const MAX_FIELD_CHARS = 8_192;
/** Most fields one form may post. */
const MAX_FIELDS = 32;

/**
 * Headers for every response: a strict CSP (scripts and styles only from keycast itself, no
 * inline code, no framing, forms post only here), no referrer, no sniffing.
 */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", "data:"],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
    xFrameOptions: "DENY",
    referrerPolicy: "no-referrer",
    // A page that needs a wider policy (the consent page's form-action) sets its own header.
    overwrite: false,
  });
}

/** The pages' CSP, with more origins a form may post (and so redirect) to. */
export function contentSecurityPolicy(formAction: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    ["form-action 'self'", ...formAction].join(" "),
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
}

/** A posted form's fields. */
export class Form {
  constructor(private readonly params: URLSearchParams) {}

  /** The field's value as sent ("" when absent): use for passwords and secrets. */
  raw(name: string): string {
    return this.params.get(name) ?? "";
  }

  /** The field's value with surrounding spaces removed. */
  text(name: string): string {
    return this.raw(name).trim();
  }
}

/**
 * The posted form, once it is known to come from keycast's own origin and its CSRF token is
 * checked against this browser's session (or, before login, its visitor cookie). A form from
 * elsewhere gets a 403 page.
 */
export function readForm(c: Context<AppEnv>): Form {
  const type = c.req.header("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    throw new ApiError(415, "Send the form as application/x-www-form-urlencoded");
  }
  // Forms posted before login carry no session cookie, so `sameOrigin` let them pass: check here.
  if (!fromOwnOrigin(c)) {
    throw new ApiError(403, "Cross-site form refused: use the form on keycast's own page");
  }
  const params = new URLSearchParams(new TextDecoder().decode(c.var.rawBody));
  let count = 0;
  for (const [, value] of params) {
    if (++count > MAX_FIELDS || value.length > MAX_FIELD_CHARS) {
      throw new ApiError(413, "The form is too large");
    }
  }
  if (!c.var.deps.csrf.check(csrfBinding(c), params.get("csrf") ?? undefined)) {
    throw new ApiError(
      403,
      "This form has expired or was sent from another site. Go back, reload the page and try again.",
    );
  }
  return new Form(params);
}

/** A fresh CSRF token for this browser's forms. */
export function csrfToken(c: Context<AppEnv>): string {
  return c.var.deps.csrf.token(csrfBinding(c));
}

/** The logged-in person, if any. */
export function viewerOf(c: Context<AppEnv>): Viewer | undefined {
  const account = c.var.session?.live.account;
  return account ? { username: account.username, role: account.role } : undefined;
}

/** The logged-in person's account id; pages behind {@link requireLogin} only. */
export function accountIdOf(c: Context<AppEnv>): string {
  return c.var.session!.live.account.id;
}

/** Sends a browser without a session to the login page. */
export function requireLogin(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!c.var.session) return c.redirect("/login", 303);
    await next();
  };
}

/** Pages for admins only: others get a 403 page, browsers without a session the login page. */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!c.var.session) return c.redirect("/login", 303);
    if (c.var.session.live.account.role !== "admin") {
      return page(
        c,
        MessagePage({
          title: "Admins only",
          message: "This page is for the server's admins.",
          viewer: viewerOf(c),
          csrf: csrfToken(c),
        }),
        403,
      );
    }
    await next();
  };
}

/** Renders a page; pages are never cached, since they show a person's own data. */
export function page(
  c: Context<AppEnv>,
  body: JSX.Element,
  status: ContentfulStatusCode = 200,
): Response {
  c.header("Cache-Control", "no-store");
  return c.html(`<!doctype html>${body}`, status);
}

/** Errors of the web pages as HTML pages; anything unexpected is logged and stays vague. */
export function webError(error: Error, c: Context<AppEnv>): Response {
  let status: ContentfulStatusCode = 500;
  let message = "Something went wrong on the server. Try again in a moment.";
  if (error instanceof ServiceError) {
    status = serviceStatus(error);
    message = error.message;
    if (error.retryAfterSeconds !== undefined) {
      c.header("Retry-After", String(error.retryAfterSeconds));
    }
  } else if (error instanceof ApiError) {
    status = error.status as ContentfulStatusCode;
    message = error.message;
  } else {
    c.var.log?.({
      level: "error",
      ns: "web",
      msg: "Page failed with an unexpected error",
      requestId: c.var.requestId,
      method: c.req.method,
      path: c.req.path,
      error,
    });
  }
  const viewer = viewerOf(c);
  return page(
    c,
    MessagePage({
      title: status === 500 ? "Something went wrong" : "That did not work",
      message,
      viewer,
      csrf: viewer ? csrfToken(c) : undefined,
      requestId: status === 500 ? c.var.requestId : undefined,
    }),
    status,
  );
}

/** Runs `action`; a service error comes back as a value so the form can show it by its field. */
export async function attempt<T>(
  action: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: ServiceError }> {
  try {
    return { ok: true, value: await action() };
  } catch (error: unknown) {
    if (error instanceof ServiceError) return { ok: false, error };
    throw error;
  }
}

/** A service error as form errors: by field when it names one of `fields`, else for the form. */
export function formErrors(
  error: ServiceError,
  fields: readonly string[],
  aliases: Record<string, string> = {},
): Record<string, string> {
  const named = error.field === undefined ? undefined : aliases[error.field] ?? error.field;
  if (named === undefined || !fields.includes(named)) return { form: plainMessage(error) };
  return { [named]: plainMessage(error) };
}

/** A service error's message without the `field: ` it starts with, as a sentence. */
export function plainMessage(error: ServiceError): string {
  const text = error.field !== undefined && error.message.startsWith(`${error.field}: `)
    ? error.message.slice(error.field.length + 2)
    : error.message;
  return text.charAt(0).toUpperCase() + text.slice(1);
}
