import assert from "node:assert/strict";
import { TEST_ORIGIN, TestApp } from "../../tests/helpers/app.ts";
import { testEachDatabase } from "../../tests/helpers/db.ts";

const PASSWORD = "correct horse battery";

/** The `keycast_session=…` pair of a response's Set-Cookie, for the next request's Cookie. */
function sessionCookie(headers: Headers): string {
  const cookie = headers.getSetCookie().find((value) => value.startsWith("keycast_session="));
  assert.ok(cookie, "a session cookie was set");
  return cookie.split(";")[0]!;
}

/** Registers `username` and returns the Cookie header value of its session. */
async function registered(app: TestApp, username: string): Promise<string> {
  const res = await app.json("POST", "/api/auth/register", { username, password: PASSWORD }, {});
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return sessionCookie(res.headers);
}

/** Headers of a same-origin JSON request made with the session `cookie`. */
function as(cookie: string): Record<string, string> {
  return { cookie, origin: TEST_ORIGIN };
}

testEachDatabase(
  "register, login and logout set and end an HttpOnly, SameSite=Lax session",
  async (db) => {
    await using app = await TestApp.create(db);
    const res = await app.json("POST", "/api/auth/register", {
      username: "alice",
      password: PASSWORD,
    }, {});
    assert.equal(res.status, 201);
    assert.match(res.body.pubkey, /^[0-9a-f]{64}$/);
    assert.match(res.body.npub, /^npub1/);
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith("keycast_session="))!;
    assert.match(setCookie, /; HttpOnly/);
    assert.match(setCookie, /; SameSite=Lax/);
    assert.match(setCookie, /; Path=\//);
    assert.doesNotMatch(setCookie, /Secure/, "the origin is http");
    const cookie = sessionCookie(res.headers);

    const account = await app.json("GET", "/api/user/account", undefined, { cookie });
    assert.equal(account.status, 200);
    assert.equal(account.body.username, "alice");
    assert.deepEqual(account.body.keys.map((k: { name: string }) => k.name), ["main"]);
    assert.equal(account.body.keys[0].pubkey, res.body.pubkey);

    const wrong = await app.json("POST", "/api/auth/login", {
      username: "alice",
      password: "not the password",
    }, {});
    const unknown = await app.json("POST", "/api/auth/login", {
      username: "nobody",
      password: "not the password",
    }, {});
    assert.equal(wrong.status, 401);
    assert.deepEqual(unknown.body, wrong.body);
    const good = await app.json(
      "POST",
      "/api/auth/login",
      { email: "ALICE", password: PASSWORD },
      {},
    );
    assert.equal(good.status, 200);
    assert.equal(good.body.pubkey, res.body.pubkey);

    const out = await app.json("POST", "/api/auth/logout", undefined, as(cookie));
    assert.equal(out.status, 200);
    assert.match(out.headers.getSetCookie().join("\n"), /keycast_session=;/);
    assert.equal((await app.json("GET", "/api/user/account", undefined, { cookie })).status, 401);
  },
);

testEachDatabase("a person reaches only their own apps: others get 404", async (db) => {
  await using app = await TestApp.create(db);
  const alice = await registered(app, "alice");
  const bob = await registered(app, "bob");
  const created = await app.json(
    "POST",
    "/api/user/bunker/create",
    { app_name: "Notes" },
    as(alice),
  );
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.match(created.body.bunker_url, /^bunker:\/\/[0-9a-f]{64}\?relay=.+&secret=[0-9a-f]{64}$/);
  assert.equal(created.headers.get("cache-control"), "no-store");
  const { bunker_pubkey, authorization_id } = created.body;
  await app.takeCommands();

  const mine = await app.json("GET", "/api/user/sessions", undefined, as(alice));
  assert.deepEqual(mine.body.sessions.map((s: { app_name: string }) => s.app_name), ["Notes"]);
  assert.equal(mine.body.sessions[0].request_count, 0);
  const theirs = await app.json("GET", "/api/user/sessions", undefined, as(bob));
  assert.deepEqual(theirs.body.sessions, []);
  const peek = await app.json(
    "GET",
    `/api/user/sessions/${authorization_id}/activity`,
    undefined,
    as(bob),
  );
  assert.equal(peek.status, 404);
  const steal = await app.json("POST", "/api/user/sessions/revoke", { bunker_pubkey }, as(bob));
  assert.equal(steal.status, 404);
  const withTheirKey = await app.json("POST", "/api/user/bunker/create", {
    app_name: "x",
    key: mine.body.sessions[0].user_pubkey,
  }, as(bob));
  assert.equal(withTheirKey.status, 404);
  assert.deepEqual(await app.takeCommands(), [], "nothing reached the listener");

  const revoked = await app.json("POST", "/api/user/sessions/revoke", { bunker_pubkey }, as(alice));
  assert.equal(revoked.status, 200);
  assert.deepEqual(await app.takeCommands(), [{ type: "remove", bunkerPubkey: bunker_pubkey }]);
  const activity = await app.json(
    "GET",
    `/api/user/sessions/${authorization_id}/activity`,
    undefined,
    as(alice),
  );
  assert.deepEqual(activity.body, { activity: [] });
});

testEachDatabase(
  "a cookie-authenticated change from another origin is refused with 403",
  async (db) => {
    await using app = await TestApp.create(db);
    const alice = await registered(app, "alice");
    const evil = await app.json("POST", "/api/user/bunker/create", { app_name: "x" }, {
      cookie: alice,
      origin: "http://evil.example",
    });
    assert.equal(evil.status, 403);
    assert.match(evil.body.error, /Cross-site request refused/);
    const form = await app.app.request("/api/auth/logout", {
      method: "POST",
      headers: { cookie: alice, "content-type": "application/x-www-form-urlencoded" },
      body: "x=1",
    });
    assert.equal(form.status, 403, "a form post without Origin is not trusted");
    const crossSite = await app.app.request("/api/auth/logout", {
      method: "POST",
      headers: { cookie: alice, "sec-fetch-site": "cross-site" },
    });
    assert.equal(crossSite.status, 403);
    assert.equal(
      (await app.json("GET", "/api/user/account", undefined, { cookie: alice })).status,
      200,
    );
  },
);

testEachDatabase(
  "admin routes: a user's session is 403, an admin's session manages accounts and invites",
  async (db) => {
    await using app = await TestApp.create(db, { accountSettings: { registration: "invite" } });
    const closed = await app.json("POST", "/api/auth/register", {
      username: "x1",
      password: PASSWORD,
    }, {});
    assert.equal(closed.status, 400);
    assert.equal(closed.body.field, "invite");

    const made = await app.json("POST", "/api/accounts", {
      username: "root-admin",
      password: PASSWORD,
      role: "admin",
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const login = await app.json("POST", "/api/auth/login", {
      username: "root-admin",
      password: PASSWORD,
    }, {});
    const admin = sessionCookie(login.headers);

    const invite = await app.json("POST", "/api/invites", { expires_in: "1d" }, as(admin));
    assert.equal(invite.status, 201);
    assert.match(invite.body.code, /^[A-Za-z0-9_-]{22}$/);
    const user = await app.json("POST", "/api/auth/register", {
      username: "dave",
      password: PASSWORD,
      invite: invite.body.code,
    }, {});
    assert.equal(user.status, 201);
    const dave = sessionCookie(user.headers);
    const listed = await app.json("GET", "/api/invites", undefined, as(admin));
    assert.equal(listed.body.invites[0].used_by, "dave");
    assert.equal(listed.body.invites[0].code, undefined, "the code is shown once");

    assert.equal((await app.json("GET", "/api/keys", undefined, as(dave))).status, 403);
    assert.equal((await app.json("GET", "/api/keys", undefined, as(admin))).status, 200);
    const accounts = await app.json("GET", "/api/accounts", undefined, as(admin));
    assert.deepEqual(accounts.body.accounts.map((a: { username: string }) => a.username), [
      "root-admin",
      "dave",
    ]);
    assert.equal(JSON.stringify(accounts.body).includes("scrypt"), false, "no password hash");
    const disabled = await app.json("POST", "/api/accounts/dave/disable", undefined, as(admin));
    assert.equal(disabled.status, 200);
    assert.equal((await app.json("GET", "/api/user/account", undefined, as(dave))).status, 401);
  },
);

testEachDatabase(
  "logins with a good password past the address's hashing budget get 429 with Retry-After",
  async (db) => {
    const now = Date.now(); // stopped (cookie expiries must stay near the real clock)
    await using app = await TestApp.create(db, { now: () => now });
    await registered(app, "alice");
    const body = { username: "alice", password: PASSWORD };
    for (let i = 0; i < 19; i++) {
      assert.equal((await app.json("POST", "/api/auth/login", body, {})).status, 200, `${i}`);
    }
    const limited = await app.json("POST", "/api/auth/login", body, {});
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get("retry-after"), "3");
    assert.match(limited.body.error, /Too many password checks from your address/);
  },
);

testEachDatabase(
  "registering a taken username or a taken email is the same 409 on username",
  async (db) => {
    await using app = await TestApp.create(db);
    const first = await app.json("POST", "/api/auth/register", {
      username: "alice",
      email: "alice@example.com",
      password: PASSWORD,
    }, {});
    assert.equal(first.status, 201);
    const byName = await app.json("POST", "/api/auth/register", {
      username: "alice",
      password: PASSWORD,
    }, {});
    const byEmail = await app.json("POST", "/api/auth/register", {
      username: "someone",
      email: "alice@example.com",
      password: PASSWORD,
    }, {});
    assert.equal(byName.status, 409);
    assert.deepEqual(byEmail.body, byName.body);
    assert.deepEqual(byName.body, {
      error: "This username or email cannot be used: choose another",
      field: "username",
    });
  },
);
