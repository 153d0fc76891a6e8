import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { base64urlnopad } from "@scure/base";
import { TestApp } from "../../tests/helpers/app.ts";
import { testEachDatabase } from "../../tests/helpers/db.ts";
import { resolveAccessToken } from "../service/oauth.ts";
import { PageClient, textOf } from "../web/testing.ts";

const PASSWORD = "correct horse battery";
const REDIRECT = "https://app.example/callback?from=keycast";
const VERIFIER = "v".repeat(20) + "-._~" + "w".repeat(30);
const CHALLENGE = base64urlnopad.encode(sha256(new TextEncoder().encode(VERIFIER)));

function authorizeQuery(overrides: Record<string, string | undefined> = {}): string {
  const params: Record<string, string | undefined> = {
    response_type: "code",
    client_id: "notes-app",
    redirect_uri: REDIRECT,
    scope: "policy:social",
    state: "s-123",
    code_challenge: CHALLENGE,
    code_challenge_method: "S256",
    ...overrides,
  };
  const defined = Object.entries(params).filter((entry): entry is [string, string] =>
    entry[1] !== undefined
  );
  return new URLSearchParams(defined).toString();
}

async function loggedIn(app: TestApp, username = "olga"): Promise<PageClient> {
  const browser = new PageClient(app);
  const res = await browser.post("/register", { username, password: PASSWORD });
  assert.equal(res.status, 303);
  return browser;
}

/** Approves the default request on the consent page; returns the code from the redirect. */
async function approve(browser: PageClient, query = authorizeQuery()): Promise<string> {
  const page = await browser.get(`/api/oauth/authorize?${query}`);
  assert.equal(page.status, 200, textOf(page.html));
  const fields = Object.fromEntries(
    [...page.html.matchAll(/<input type="hidden" name="([a-z_]+)" value="([^"]*)"/g)]
      .filter((m) => m[1] !== "csrf")
      .map((m) => [m[1]!, m[2]!.replaceAll("&amp;", "&")]),
  );
  const res = await browser.post("/api/oauth/authorize", { ...fields, decision: "approve" }, {
    from: `/api/oauth/authorize?${query}`,
  });
  assert.equal(res.status, 303, textOf(res.html));
  const location = new URL(res.location!);
  assert.equal(location.origin + location.pathname, "https://app.example/callback");
  assert.equal(location.searchParams.get("from"), "keycast", "the app's own query is kept");
  assert.equal(location.searchParams.get("state"), "s-123");
  return location.searchParams.get("code")!;
}

async function token(
  app: TestApp,
  params: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await app.app.request("/api/oauth/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params).toString(),
  });
  assert.equal(res.headers.get("cache-control"), "no-store");
  return { status: res.status, body: await res.json() };
}

function exchange(app: TestApp, code: string, overrides: Record<string, string> = {}) {
  return token(app, {
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT,
    client_id: "notes-app",
    code_verifier: VERIFIER,
    ...overrides,
  });
}

testEachDatabase("oauth: consent, code exchange, refresh rotation and revocation", async (db) => {
  await using app = await TestApp.create(db);
  const browser = await loggedIn(app);
  const page = await browser.get(`/api/oauth/authorize?${authorizeQuery()}`);
  const text = textOf(page.html);
  assert.match(text, /https:\/\/app\.example/);
  assert.match(text, /It calls itself \(unverified\) notes-app/);
  assert.match(text, /Sign only: Short note \(1\)/);
  assert.match(
    page.headers.get("content-security-policy")!,
    /form-action 'self' https:\/\/app\.example/,
  );

  await app.takeCommands();
  const code = await approve(browser);
  const granted = await exchange(app, code);
  assert.equal(granted.status, 200, JSON.stringify(granted.body));
  assert.equal(granted.body.token_type, "Bearer");
  assert.equal(granted.body.expires_in, 3600);
  assert.equal(granted.body.scope, "policy:social");
  assert.match(String(granted.body.bunker_url), /^bunker:\/\/[0-9a-f]{64}\?/);
  assert.deepEqual((await app.takeCommands()).map((c) => c.type), ["upsert"]);
  const access = String(granted.body.access_token);
  const grant = await resolveAccessToken(app.services, access);
  assert.equal(grant?.origin, "https://app.example");

  const refreshed = await token(app, {
    grant_type: "refresh_token",
    refresh_token: String(granted.body.refresh_token),
    client_id: "notes-app",
  });
  assert.equal(refreshed.status, 200);
  assert.notEqual(refreshed.body.refresh_token, granted.body.refresh_token);
  assert.equal(refreshed.body.bunker_url, undefined, "the bunker URL is shown once");

  // Reusing the old refresh token ends the whole grant: tokens and the NIP-46 authorization.
  const reused = await token(app, {
    grant_type: "refresh_token",
    refresh_token: String(granted.body.refresh_token),
  });
  assert.equal(reused.status, 400);
  assert.equal(reused.body.error, "invalid_grant");
  assert.deepEqual((await app.takeCommands()).map((c) => c.type), ["remove"]);
  assert.equal(
    await resolveAccessToken(app.services, String(refreshed.body.access_token)),
    undefined,
  );

  // A new grant, revoked through RFC 7009.
  const second = await exchange(app, await approve(browser));
  const revoked = await app.app.request("/api/oauth/revoke", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: String(second.body.refresh_token) }).toString(),
  });
  assert.equal(revoked.status, 200);
  assert.equal(await resolveAccessToken(app.services, String(second.body.access_token)), undefined);
});

testEachDatabase(
  "oauth: revoking the app on the account page ends its tokens at once",
  async (db) => {
    await using app = await TestApp.create(db);
    const browser = await loggedIn(app);
    const granted = await exchange(app, await approve(browser));
    const access = String(granted.body.access_token);
    assert.ok(await resolveAccessToken(app.services, access));
    const account = await browser.get("/account");
    assert.match(textOf(account.html), /https:\/\/app\.example/, "the app is named by its origin");
    const id = account.html.match(/\/account\/apps\/([0-9a-f-]{36})\/revoke/)![1]!;
    assert.equal(
      (await browser.post(`/account/apps/${id}/revoke`, {}, { from: "/account" })).status,
      303,
    );
    assert.equal(await resolveAccessToken(app.services, access), undefined);
    const refresh = await token(app, {
      grant_type: "refresh_token",
      refresh_token: String(granted.body.refresh_token),
    });
    assert.equal(refresh.body.error, "invalid_grant");
  },
);

testEachDatabase(
  "oauth: codes are single use, bound, short-lived and need the verifier",
  async (db) => {
    const clock = { ms: Date.now() };
    await using app = await TestApp.create(db, { now: () => clock.ms });
    const browser = await loggedIn(app);

    const wrongVerifier = await exchange(app, await approve(browser), {
      code_verifier: "x".repeat(43),
    });
    assert.equal(wrongVerifier.body.error, "invalid_grant");

    const otherClient = await exchange(app, await approve(browser), { client_id: "someone-else" });
    assert.equal(otherClient.body.error, "invalid_grant");

    const otherRedirect = await exchange(app, await approve(browser), {
      redirect_uri: "https://app.example/callback",
    });
    assert.equal(otherRedirect.body.error, "invalid_grant");

    const late = await approve(browser);
    clock.ms += 61_000;
    assert.equal((await exchange(app, late)).body.error, "invalid_grant");

    // Replay: the second use revokes what the first made.
    const code = await approve(browser);
    const first = await exchange(app, code);
    assert.equal(first.status, 200);
    await app.takeCommands();
    const replay = await exchange(app, code);
    assert.equal(replay.body.error, "invalid_grant");
    assert.deepEqual((await app.takeCommands()).map((c) => c.type), ["remove"]);
    assert.equal(
      await resolveAccessToken(app.services, String(first.body.access_token)),
      undefined,
    );

    assert.equal((await exchange(app, "not-a-code")).body.error, "invalid_grant");
    assert.equal(
      (await token(app, { grant_type: "password" })).body.error,
      "unsupported_grant_type",
    );
  },
);

testEachDatabase(
  "oauth: bad requests are shown on a page until the redirect URI is trusted",
  async (db) => {
    await using app = await TestApp.create(db);
    const browser = await loggedIn(app);
    for (
      const redirect of [
        "http://app.example/cb",
        "com.example.app:/cb",
        "javascript:alert(1)",
        "https://app.example/cb#frag",
        "",
      ]
    ) {
      const res = await browser.get(
        `/api/oauth/authorize?${authorizeQuery({ redirect_uri: redirect })}`,
      );
      assert.equal(res.status, 400, redirect);
      assert.equal(res.location, null, `${redirect}: never redirected`);
    }
    const loopback = await browser.get(
      `/api/oauth/authorize?${authorizeQuery({ redirect_uri: "http://127.0.0.1:4321/cb" })}`,
    );
    assert.equal(loopback.status, 200, "plain http on a loopback host is allowed");

    // An app nobody registered gets its errors on a page: its redirect URI could be anyone's.
    for (const overrides of [{ code_challenge_method: "plain" }, { state: undefined }]) {
      const res = await browser.get(`/api/oauth/authorize?${authorizeQuery(overrides)}`);
      assert.equal(res.status, 400, JSON.stringify(overrides));
      assert.equal(res.location, null);
    }
    // A registered app's pinned URI gets them as redirects, with iss.
    await app.repos.oauth.putClient({
      clientId: "notes-app",
      name: "Notes",
      redirectUris: [REDIRECT],
      policyName: null,
    });
    const errorOf = async (overrides: Record<string, string | undefined>) => {
      const res = await browser.get(`/api/oauth/authorize?${authorizeQuery(overrides)}`);
      assert.equal(res.status, 303);
      const params = new URL(res.location!).searchParams;
      assert.equal(params.get("iss"), "http://localhost");
      return params;
    };
    assert.equal(
      (await errorOf({ code_challenge_method: "plain" })).get("error"),
      "invalid_request",
    );
    assert.equal(
      (await errorOf({ code_challenge_method: undefined })).get("error"),
      "invalid_request",
    );
    assert.equal((await errorOf({ code_challenge: undefined })).get("error"), "invalid_request");
    const noState = await errorOf({ state: undefined });
    assert.equal(noState.get("error"), "invalid_request");
    assert.equal(noState.get("state"), null);
    const unknownPolicy = await errorOf({ scope: "policy:everything" });
    assert.equal(unknownPolicy.get("error"), "invalid_scope");
    assert.equal(unknownPolicy.get("state"), "s-123");
    assert.equal(
      (await errorOf({ response_type: "token" })).get("error"),
      "unsupported_response_type",
    );
    // Deny goes back with access_denied and the state.
    const page = await browser.get(`/api/oauth/authorize?${authorizeQuery()}`);
    const fields = Object.fromEntries(
      [...page.html.matchAll(/<input type="hidden" name="([a-z_]+)" value="([^"]*)"/g)]
        .filter((m) => m[1] !== "csrf").map((m) => [m[1]!, m[2]!.replaceAll("&amp;", "&")]),
    );
    const denied = await browser.post("/api/oauth/authorize", { ...fields, decision: "deny" }, {
      from: `/api/oauth/authorize?${authorizeQuery()}`,
    });
    const back = new URL(denied.location!).searchParams;
    assert.equal(back.get("error"), "access_denied");
    assert.equal(back.get("state"), "s-123");
  },
);

testEachDatabase(
  "oauth: XSS in every parameter is inert; a cross-origin consent is refused",
  async (db) => {
    await using app = await TestApp.create(db);
    const browser = await loggedIn(app);
    const payload = `"><script>alert(1)</script><img src=x onerror=alert(1)>`;
    const query = authorizeQuery({
      client_id: payload,
      state: payload,
      redirect_uri: `https://app.example/cb?x=${encodeURIComponent(payload)}`,
    });
    const page = await browser.get(`/api/oauth/authorize?${query}`);
    assert.equal(page.status, 200);
    assert.ok(!page.html.includes("<script>alert"), "no script element from the query");
    assert.ok(!/<img[^>]*onerror/i.test(page.html), "no element from the query");
    for (const field of ["client_id", "scope", "code_challenge"]) {
      const bad = await browser.get(`/api/oauth/authorize?${authorizeQuery({ [field]: payload })}`);
      assert.ok(!bad.html.includes("<script>alert"), field);
    }

    const crossSite = await browser.post("/api/oauth/authorize", { decision: "approve" }, {
      from: `/api/oauth/authorize?${query}`,
      origin: "https://evil.example",
    });
    assert.equal(crossSite.status, 403);
  },
);

testEachDatabase(
  "oauth: without a session the consent page sends the browser to log in and back",
  async (db) => {
    await using app = await TestApp.create(db);
    await loggedIn(app, "pia");
    const browser = new PageClient(app);
    const query = authorizeQuery();
    const first = await browser.get(`/api/oauth/authorize?${query}`);
    assert.equal(first.status, 303);
    const login = new URL(first.location!, "http://localhost");
    assert.equal(login.pathname, "/login");
    const next = login.searchParams.get("next")!;
    assert.equal(next, `/api/oauth/authorize?${query}`);
    const loginPage = `/login?${login.searchParams}`;
    const res = await browser.post("/login", { username: "pia", password: PASSWORD, next }, {
      from: loginPage,
    });
    assert.equal(res.location, next);
    // An offsite or unrelated next is ignored.
    const evil = await new PageClient(app).post("/login", {
      username: "pia",
      password: PASSWORD,
      next: "https://evil.example/",
    }, { from: "/login" });
    assert.equal(evil.location, "/account");
  },
);

testEachDatabase(
  "oauth: registered clients pin their redirect URIs; metadata lists the endpoints",
  async (db) => {
    await using app = await TestApp.create(db, { oauth: { mode: "registered" } });
    const browser = await loggedIn(app);
    const unregistered = await browser.get(`/api/oauth/authorize?${authorizeQuery()}`);
    assert.equal(unregistered.status, 400);
    await app.repos.oauth.putClient({
      clientId: "notes-app",
      name: "Notes",
      redirectUris: ["com.example.notes:/cb", REDIRECT],
      policyName: null,
    });
    const custom = await browser.get(
      `/api/oauth/authorize?${authorizeQuery({ redirect_uri: "com.example.notes:/cb" })}`,
    );
    assert.equal(custom.status, 200, "a registered custom scheme");
    assert.match(textOf(custom.html), /Registered by this server&#39;s operator as Notes/);
    const other = await browser.get(
      `/api/oauth/authorize?${authorizeQuery({ redirect_uri: "https://app.example/other" })}`,
    );
    assert.equal(other.status, 400);

    const meta = await app.app.request("/.well-known/oauth-authorization-server");
    const body = await meta.json();
    assert.equal(body.issuer, "http://localhost");
    assert.equal(body.token_endpoint, "http://localhost/api/oauth/token");
    assert.deepEqual(body.code_challenge_methods_supported, ["S256"]);
    assert.ok(body.scopes_supported.includes("policy:social"));
  },
);

testEachDatabase(
  "oauth: admins register clients over /api/oauth-clients; people cannot",
  async (db) => {
    await using app = await TestApp.create(db);
    const made = await app.json("POST", "/api/oauth-clients", {
      client_id: "notes-app",
      name: "Notes",
      redirect_uris: ["com.example.notes:/cb"],
      policy: "read-only",
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.deepEqual(made.body.redirect_uris, ["com.example.notes:/cb"]);
    const bad = await app.json("POST", "/api/oauth-clients", {
      client_id: "x",
      name: "X",
      redirect_uris: ["javascript:alert(1)"],
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, "redirect_uris[0]");
    for (const sneaky of [" javascript:alert(1)", "java\tscript:alert(1)", "JavaScript:x"]) {
      const res = await app.json("POST", "/api/oauth-clients", {
        client_id: "z",
        name: "Z",
        redirect_uris: [sneaky],
      });
      assert.equal(res.status, 400, sneaky);
    }
    const unknownPolicy = await app.json("POST", "/api/oauth-clients", {
      client_id: "y",
      name: "Y",
      redirect_uris: ["https://y.example/cb"],
      policy: "everything",
    });
    assert.equal(unknownPolicy.status, 404);
    assert.equal((await app.json("GET", "/api/oauth-clients")).body.clients.length, 1);
    const person = await loggedIn(app);
    const cookie = [...person.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    const refused = await app.json("GET", "/api/oauth-clients", undefined, { cookie });
    assert.equal(refused.status, 403);
    assert.equal((await app.json("DELETE", "/api/oauth-clients/notes-app")).status, 200);
  },
);

testEachDatabase(
  "oauth: review fixes hold (replays at once, app cap, token rotation, URIs)",
  async (db) => {
    await using app = await TestApp.create(db);
    const browser = await loggedIn(app);

    // Two exchanges of one code at once: whichever wins, its grant ends.
    const code = await approve(browser);
    const both = await Promise.all([exchange(app, code), exchange(app, code)]);
    assert.equal(both.filter((r) => r.status === 200).length <= 1, true);
    for (const result of both.filter((r) => r.status === 200)) {
      assert.equal(
        await resolveAccessToken(app.services, String(result.body.access_token)),
        undefined,
      );
    }

    // Refreshing leaves one valid access token and a bounded table.
    const granted = await exchange(app, await approve(browser));
    let refresh = String(granted.body.refresh_token);
    const accessTokens = [String(granted.body.access_token)];
    for (let i = 0; i < 5; i++) {
      const next = await token(app, { grant_type: "refresh_token", refresh_token: refresh });
      assert.equal(next.status, 200);
      refresh = String(next.body.refresh_token);
      accessTokens.push(String(next.body.access_token));
    }
    const live = await Promise.all(accessTokens.map((t) => resolveAccessToken(app.services, t)));
    assert.deepEqual(live.map(Boolean), [false, false, false, false, false, true]);

    // URIs that carry another URL, a code of their own, or spaces are refused.
    for (
      const uri of [
        "https://app.example/logout?next=https://evil.example/",
        "https://app.example/cb?code=planted",
        "https://app.example/c b",
      ]
    ) {
      const res = await browser.get(
        `/api/oauth/authorize?${authorizeQuery({ redirect_uri: uri })}`,
      );
      assert.equal(res.status, 400, uri);
    }

    // A disabled account's grant stops refreshing.
    const account = await app.repos.accounts.getByLogin("olga");
    await app.repos.accounts.setDisabled(account!.id, true);
    const refused = await token(app, { grant_type: "refresh_token", refresh_token: refresh });
    assert.equal(refused.body.error, "invalid_grant");
  },
);

testEachDatabase("oauth: a person's apps through OAuth count toward the cap", async (db) => {
  await using app = await TestApp.create(db);
  const browser = await loggedIn(app);
  const { MAX_APPS_PER_ACCOUNT, createOwnBunker } = await import("../service/own.ts");
  const account = await app.repos.accounts.getByLogin("olga");
  for (let i = 0; i < MAX_APPS_PER_ACCOUNT; i++) {
    await createOwnBunker(app.services, account!.id, { appName: `app ${i}` });
  }
  const page = await browser.get(`/api/oauth/authorize?${authorizeQuery()}`);
  const fields = Object.fromEntries(
    [...page.html.matchAll(/<input type="hidden" name="([a-z_]+)" value="([^"]*)"/g)]
      .filter((m) => m[1] !== "csrf").map((m) => [m[1]!, m[2]!.replaceAll("&amp;", "&")]),
  );
  const res = await browser.post("/api/oauth/authorize", { ...fields, decision: "approve" }, {
    from: `/api/oauth/authorize?${authorizeQuery()}`,
  });
  assert.equal(res.status, 400);
  assert.match(textOf(res.html), /at most 50 connected apps/);
});
