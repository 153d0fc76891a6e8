/**
 * A browser without a browser, for the web pages' tests: it keeps cookies, reads each form's
 * CSRF token from the page, and posts forms as a same-origin browser does.
 */
import assert from "node:assert/strict";
import { TEST_ORIGIN, type TestApp } from "../../tests/helpers/app.ts";

/** One page fetched: status, headers and HTML. */
export interface Fetched {
  status: number;
  headers: Headers;
  html: string;
  /** `Location` of a redirect. */
  location: string | null;
}

/** A cookie-keeping client of a {@link TestApp}'s pages. */
export class PageClient {
  readonly cookies = new Map<string, string>();

  constructor(private readonly app: TestApp) {}

  /** GET `path`. */
  get(path: string): Promise<Fetched> {
    return this.send(path, { method: "GET" });
  }

  /**
   * POSTs `fields` to `path` with the CSRF token of the form posting there on `from` (a page
   * path, default `path`'s own page), from keycast's own origin unless `origin` says otherwise.
   */
  async post(
    path: string,
    fields: Record<string, string>,
    opts: {
      from?: string;
      csrf?: string | null;
      origin?: string | null;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Fetched> {
    let csrf = opts.csrf;
    if (csrf === undefined) csrf = csrfOf((await this.get(opts.from ?? path)).html, path);
    const body = new URLSearchParams({ ...(csrf === null ? {} : { csrf }), ...fields });
    const headers: Record<string, string> = {
      "content-type": "application/x-www-form-urlencoded",
    };
    const origin = opts.origin === undefined ? TEST_ORIGIN : opts.origin;
    if (origin !== null) headers.origin = origin;
    Object.assign(headers, opts.headers);
    return await this.send(path, { method: "POST", body: body.toString(), headers });
  }

  private async send(path: string, init: RequestInit): Promise<Fetched> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) {
      headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    }
    const res = await this.app.app.request(path, { ...init, headers });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair = "", ...attributes] = cookie.split(";");
      const [name = "", value = ""] = pair.split("=");
      const expired = attributes.some((a) => /^\s*max-age=0$/i.test(a)) || value === "";
      if (expired) this.cookies.delete(name.trim());
      else this.cookies.set(name.trim(), value);
    }
    return {
      status: res.status,
      headers: res.headers,
      html: await res.text(),
      location: res.headers.get("location"),
    };
  }
}

/** The CSRF token of the form that posts to `action` on a page. */
export function csrfOf(html: string, action: string): string {
  const forms = html.split("<form").slice(1);
  const form = forms.find((part) => part.includes(`action="${action}"`)) ?? forms[0];
  const token = form?.match(/name="csrf" value="([^"]+)"/)?.[1];
  assert.ok(token, `a form posting to ${action} with a CSRF token`);
  return token;
}

/** The text of an HTML page with its tags removed and spaces collapsed. */
export function textOf(html: string): string {
  return html.replace(/<[^>]*>/g, " ").replace(/&amp;/g, "&").replace(/\s+/g, " ").trim();
}
