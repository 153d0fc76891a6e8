/// <reference lib="dom" />
/**
 * OAuth end to end with an independent, strict client library (oauth4webapi) against a real
 * keycast and relay: discovery, PKCE, state, the consent step (in headless Chromium, and as a
 * plain form post with the session cookie), code exchange, refresh, revocation; then the grant's
 * `bunker_url` signs through nostr-tools' BunkerSigner and its access token through `/api/nostr`,
 * both bound by the same policy, and revoking stops both at once.
 */
import assert from "node:assert/strict";
import { verifyEvent } from "nostr-tools/pure";
import * as oauth from "oauth4webapi";
import puppeteer from "puppeteer-core";
import { eventually } from "./helpers/eventually.ts";
import { Keycast } from "./helpers/keycast.ts";
import { screenshots } from "./helpers/screenshots.ts";

const CHROMIUM = "/usr/bin/chromium";
const PASSWORD = "a long and quiet password";
const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
const inCi = Deno.env.get("CI") === "true";

/** A stand-in web app: its redirect URI records each callback it receives. */
function startApp(): { redirectUri: string; callbacks: URL[] } & AsyncDisposable {
  const callbacks: URL[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const url = new URL(request.url);
    if (url.pathname === "/callback") callbacks.push(url);
    return new Response("<p>back at the app</p>", { headers: { "content-type": "text/html" } });
  });
  return {
    redirectUri: `http://127.0.0.1:${server.addr.port}/callback`,
    callbacks,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** Signs over HTTP with `accessToken`. */
async function httpSign(
  base: string,
  accessToken: string,
  template: { kind: number; content: string },
): Promise<{ status: number; body: { result?: string; error?: string } }> {
  const response = await fetch(`${base}/api/nostr`, {
    method: "POST",
    headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
    body: JSON.stringify({
      method: "sign_event",
      params: [{ ...template, created_at: Math.floor(Date.now() / 1000), tags: [] }],
    }),
  });
  return { status: response.status, body: await response.json() };
}

async function registerPerson(base: string, username: string): Promise<string> {
  const response = await fetch(`${base}/api/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  const text = await response.text();
  assert.equal(response.status, 201, text);
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith("keycast_session="))!;
  return cookie.split(";")[0]!;
}

Deno.test({
  name: "OAuth with oauth4webapi: consent, tokens, bunker_url and /api/nostr under one policy",
  ignore: !hasChromium && !inCi,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    assert.ok(hasChromium, `${CHROMIUM} is missing: install Debian's chromium package`);
    await using keycast = await Keycast.start({ args: ["--registration", "open"] });
    await keycast.ready();
    const base = keycast.server.url;
    await using app = startApp();
    // A policy that signs short notes only.
    const policy = await keycast.api("POST", "/api/policies", {
      name: "notes-only",
      rules: { kinds: [1] },
    });
    assert.equal(policy.status, 201, JSON.stringify(policy.body));

    const issuer = new URL(base);
    const options = { [oauth.allowInsecureRequests]: true };
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: "oauth2", ...options }),
    );
    assert.deepEqual(as.code_challenge_methods_supported, ["S256"]);
    const client: oauth.Client = { client_id: "e2e-notes" };
    const clientAuth = oauth.None();

    /** The authorization URL for a fresh PKCE pair and state. */
    const start = async () => {
      const verifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const url = new URL(as.authorization_endpoint!);
      url.search = new URLSearchParams({
        response_type: "code",
        client_id: client.client_id,
        redirect_uri: app.redirectUri,
        scope: "policy:notes-only",
        state,
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: "S256",
      }).toString();
      return { url, verifier, state };
    };
    const exchange = async (callback: URL, verifier: string, state: string) => {
      const params = oauth.validateAuthResponse(as, client, callback, state);
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        client,
        clientAuth,
        params,
        app.redirectUri,
        verifier,
        options,
      );
      return await oauth.processAuthorizationCodeResponse(as, client, response);
    };

    let tokens!: oauth.TokenEndpointResponse;
    await t.step("consent in Chromium: log in, approve, back at the app with a code", async () => {
      await registerPerson(base, "quinn");
      const { url, verifier, state } = await start();
      const browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        args: ["--no-sandbox", "--headless=new"],
      });
      try {
        const page = await browser.newPage();
        await page.goto(url.href);
        assert.equal(new URL(page.url()).pathname, "/login");
        await page.type("#f-username", "quinn");
        await page.type("#f-password", PASSWORD);
        await Promise.all([
          page.waitForNavigation(),
          page.click('form[action="/login"] button[type="submit"]'),
        ]);
        assert.equal(new URL(page.url()).pathname, "/api/oauth/authorize");
        const text = await page.evaluate(() => document.body.innerText);
        assert.match(text, new RegExp(new URL(app.redirectUri).origin.replaceAll(".", "\\.")));
        assert.match(text, /It calls itself \(unverified\) e2e-notes/);
        assert.match(text, /Sign only: Short note \(1\)/);
        await screenshots(page, "consent");
        await Promise.all([
          page.waitForNavigation(),
          page.click('button[name="decision"][value="approve"]'),
        ]);
        assert.equal(new URL(page.url()).pathname, "/callback");
      } finally {
        await browser.close();
      }
      tokens = await exchange(app.callbacks.at(-1)!, verifier, state);
      assert.equal(tokens.token_type.toLowerCase(), "bearer");
      assert.equal(tokens.scope, "policy:notes-only");
      assert.match(String(tokens.bunker_url), /^bunker:\/\//);
    });

    await t.step("the bunker_url and the access token sign kind 1 and refuse kind 7", async () => {
      const signer = await keycast.signer(String(tokens.bunker_url));
      await signer.connect();
      const note = await signer.signEvent({
        kind: 1,
        created_at: Math.floor(Date.now() / 1000),
        tags: [],
        content: "over NIP-46",
      });
      assert.ok(verifyEvent(note));
      await assert.rejects(
        signer.signEvent({
          kind: 7,
          created_at: Math.floor(Date.now() / 1000),
          tags: [],
          content: "+",
        }),
        /forbidden/,
      );

      const signed = await httpSign(base, tokens.access_token, { kind: 1, content: "over HTTP" });
      assert.equal(signed.status, 200, JSON.stringify(signed.body));
      const event = JSON.parse(signed.body.result!);
      assert.ok(verifyEvent(event));
      assert.equal(event.pubkey, note.pubkey, "the same person's key");
      const refused = await httpSign(base, tokens.access_token, { kind: 7, content: "+" });
      assert.equal(refused.status, 403);
      assert.match(refused.body.error!, /^forbidden:/);
    });

    await t.step("refresh rotates the tokens; an old refresh token ends the grant", async () => {
      const refreshed = await oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(
          as,
          client,
          clientAuth,
          tokens.refresh_token!,
          options,
        ),
      );
      assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
      const signed = await httpSign(base, refreshed.access_token, { kind: 1, content: "again" });
      assert.equal(signed.status, 200);
      tokens = { ...refreshed, bunker_url: tokens.bunker_url };
    });

    await t.step("consent as a plain form post with the session cookie, then revoke", async () => {
      const cookie = await registerPerson(base, "rosa");
      const { url, verifier, state } = await start();
      const page = await fetch(url, { headers: { cookie } });
      const html = await page.text();
      assert.equal(page.status, 200);
      const visitor = page.headers.getSetCookie().map((c) => c.split(";")[0]!);
      const fields = new URLSearchParams(
        [...html.matchAll(/<input type="hidden" name="([a-z_]+)" value="([^"]*)"/g)].map(
          (m) => [m[1]!, m[2]!.replaceAll("&amp;", "&")],
        ),
      );
      fields.set("decision", "approve");
      const approved = await fetch(`${base}/api/oauth/authorize`, {
        method: "POST",
        redirect: "manual",
        headers: {
          cookie: [cookie, ...visitor].join("; "),
          origin: base,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: fields.toString(),
      });
      assert.equal(approved.status, 303);
      const own = await exchange(new URL(approved.headers.get("location")!), verifier, state);
      assert.equal((await httpSign(base, own.access_token, { kind: 1, content: "x" })).status, 200);

      const signer = await keycast.signer(String(own.bunker_url));
      await signer.connect();
      await oauth.processRevocationResponse(
        await oauth.revocationRequest(as, client, clientAuth, own.refresh_token!, options),
      );
      const after = await httpSign(base, own.access_token, { kind: 1, content: "after" });
      assert.equal(after.status, 401);
      await eventually("the NIP-46 side refuses too", async () => {
        try {
          await signer.signEvent({
            kind: 1,
            created_at: Math.floor(Date.now() / 1000),
            tags: [],
            content: "after revoke",
          });
          return false;
        } catch (error) {
          return /revoked/.test(String(error));
        }
      });
    });
  },
});
