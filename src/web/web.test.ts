import assert from "node:assert/strict";
import { TestApp } from "../../tests/helpers/app.ts";
import { testEachDatabase } from "../../tests/helpers/db.ts";
import { type Fetched, PageClient, textOf } from "./testing.ts";

const PASSWORD = "correct horse battery";

async function registered(app: TestApp, username: string): Promise<PageClient> {
  const browser = new PageClient(app);
  const res = await browser.post("/register", { username, password: PASSWORD });
  assert.equal(res.status, 303, textOf(res.html));
  assert.equal(res.location, "/account");
  return browser;
}

function assertPageHeaders(res: Fetched): void {
  const csp = res.headers.get("content-security-policy") ?? "";
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  assert.equal(res.headers.get("x-frame-options"), "DENY");
  assert.equal(res.headers.get("referrer-policy"), "no-referrer");
  assert.equal(res.headers.get("cache-control"), "no-store");
}

testEachDatabase("web: register, see the npub, log out and log in again", async (db) => {
  await using app = await TestApp.create(db);
  const browser = await registered(app, "alice");
  assert.ok(browser.cookies.has("keycast_session"));

  const account = await browser.get("/account");
  assert.equal(account.status, 200);
  assertPageHeaders(account);
  const [key] = await app.repos.keys.list((await app.repos.accounts.getByLogin("alice"))!.id);
  const { npubEncode } = await import("nostr-tools/nip19");
  assert.ok(account.html.includes(npubEncode(key!.pubkey)), "the full npub is on the page");
  assert.match(account.html, /<svg[^>]*viewBox/, "a QR code as inline SVG");
  assert.match(textOf(account.html), /No apps connected yet/);

  const out = await browser.post("/logout", {}, { from: "/account" });
  assert.equal(out.status, 303);
  assert.ok(!browser.cookies.has("keycast_session"));
  assert.equal((await browser.get("/account")).location, "/login");

  const wrong = await browser.post("/login", { username: "alice", password: "wrong password!" });
  assert.equal(wrong.status, 401);
  assert.match(wrong.html, /id="f-password-error"[^>]*>Wrong username or password/);
  assert.match(wrong.html, /value="alice"/, "the username is kept");
  assert.ok(!wrong.html.includes("wrong password!"), "the password is never sent back");

  const good = await browser.post("/login", { username: "alice", password: PASSWORD });
  assert.equal(good.status, 303);
  assert.equal((await browser.get("/account")).status, 200);
});

testEachDatabase(
  "web: forms without the CSRF token or from another site are refused",
  async (db) => {
    await using app = await TestApp.create(db);
    const stranger = new PageClient(app);
    await stranger.get("/register");
    const noToken = await stranger.post("/register", { username: "bob", password: PASSWORD }, {
      csrf: null,
    });
    assert.equal(noToken.status, 403);
    assert.equal(await app.repos.accounts.getByLogin("bob"), undefined);

    const browser = await registered(app, "carol");
    const token = (await browser.get("/account")).html.match(/name="csrf" value="([^"]+)"/)![1]!;
    // Another site cannot read the token; with it forged or missing, and from its own origin, no.
    const crossSite = await browser.post("/account/apps/bunker", { app_name: "x" }, {
      csrf: token,
      origin: "https://evil.example",
    });
    assert.equal(crossSite.status, 403);
    const forged = await browser.post("/account/apps/bunker", { app_name: "x" }, {
      csrf: "f".repeat(43),
    });
    assert.equal(forged.status, 403);
    // `Origin: null` (what no-referrer pages send) passes only with Sec-Fetch-Site: same-origin.
    for (const site of ["cross-site", "same-site", undefined]) {
      const nullOrigin = await browser.post("/account/apps/bunker", { app_name: "x" }, {
        origin: "null",
        headers: site ? { "sec-fetch-site": site } : {},
        from: "/account",
      });
      assert.equal(nullOrigin.status, 403, `Sec-Fetch-Site ${site}`);
    }
    assert.deepEqual(await app.takeCommands(), []);
    const ownPage = await browser.post("/account/apps/bunker", { app_name: "mine" }, {
      origin: "null",
      headers: { "sec-fetch-site": "same-origin" },
      from: "/account",
    });
    assert.equal(ownPage.status, 201);
  },
);

testEachDatabase("web: connect an app with a link shown once, see it, revoke it", async (db) => {
  await using app = await TestApp.create(db);
  const browser = await registered(app, "dave");
  await app.takeCommands();
  const created = await browser.post("/account/apps/bunker", {
    app_name: "<script>alert(1)</script>",
    policy: "social",
  }, { from: "/account" });
  assert.equal(created.status, 201, textOf(created.html));
  assert.equal(created.headers.get("cache-control"), "no-store");
  assert.match(created.html, /bunker:\/\/[0-9a-f]{64}\?/);
  assert.match(textOf(created.html), /It is shown only now/);
  assert.ok(!created.html.includes("<script>alert"), "the app name is escaped");
  assert.ok(created.html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
  const [upsert] = await app.takeCommands();
  assert.equal(upsert?.type, "upsert");

  const account = await browser.get("/account");
  assert.doesNotMatch(account.html, /bunker:\/\/[0-9a-f]{64}/, "the link is not shown again");
  const id = account.html.match(/href="\/account\/apps\/([0-9a-f-]{36})\/revoke"/)![1]!;
  const confirm = await browser.get(`/account/apps/${id}/revoke`);
  assert.match(textOf(confirm.html), /will no longer be able to sign/);
  const revoked = await browser.post(`/account/apps/${id}/revoke`, {});
  assert.equal(revoked.status, 303);
  const [remove] = await app.takeCommands();
  assert.equal(remove?.type, "remove");
  assert.match(textOf((await browser.get("/account?done=revoked")).html), /App revoked/);
});

testEachDatabase("web: a person cannot see or revoke another person's app", async (db) => {
  await using app = await TestApp.create(db);
  const erin = await registered(app, "erin");
  await erin.post("/account/apps/bunker", { app_name: "erins app" }, { from: "/account" });
  const id = (await erin.get("/account")).html.match(
    /\/account\/apps\/([0-9a-f-]{36})\/revoke/,
  )![1]!;
  const frank = await registered(app, "frank");
  assert.equal((await frank.get(`/account/apps/${id}`)).status, 404);
  assert.equal((await frank.get(`/account/apps/${id}/revoke`)).status, 404);
  const attempt = await frank.post(`/account/apps/${id}/revoke`, {}, { from: "/account" });
  assert.equal(attempt.status, 404);
  assert.ok(!(await frank.get("/account")).html.includes("erins app"));
  const record = await app.repos.authorizations.get(id);
  assert.equal(record?.revokedAt, null);
});

testEachDatabase(
  "web: /admin is for admins; /admin/setup makes the first one with the token",
  async (db) => {
    await using app = await TestApp.create(db);
    const anonymous = new PageClient(app);
    assert.equal((await anonymous.get("/admin")).location, "/login");
    const user = await registered(app, "gina");
    assert.equal((await user.get("/admin")).status, 403);

    const operator = new PageClient(app);
    const wrong = await operator.post("/admin/setup", {
      token: "not-the-token",
      username: "root2",
      password: PASSWORD,
    });
    assert.equal(wrong.status, 401);
    assert.match(wrong.html, /not the server&#39;s admin token|not the server's admin token/);
    const made = await operator.post("/admin/setup", {
      token: app.token,
      username: "boss",
      password: PASSWORD,
    });
    assert.equal(made.status, 303, textOf(made.html));
    const admin = await operator.get("/admin");
    assert.equal(admin.status, 200);
    assertPageHeaders(admin);
    assert.match(textOf(admin.html), /gina/);
    const again = await new PageClient(app).get("/admin/setup");
    assert.match(textOf(again.html), /has an admin already/);

    const invite = await operator.post("/admin/invites", { role: "user", expires_in: "1d" }, {
      from: "/admin",
    });
    assert.equal(invite.status, 201);
    const code = invite.html.match(/id="invite-code"[^>]*value="([^"]+)"/)?.[1] ??
      invite.html.match(/value="([^"]+)"[^>]*id="invite-code"/)?.[1];
    assert.ok(code, "the invite code is shown");
    const ginaId = (await app.repos.accounts.getByLogin("gina"))!.id;
    const bossId = (await app.repos.accounts.getByLogin("boss"))!.id;
    const self = await operator.post(`/admin/accounts/${bossId}/disable`, {}, { from: "/admin" });
    assert.equal(self.status, 400);
    assert.equal((await app.repos.accounts.get(bossId))?.disabledAt, null);
    const disabled = await operator.post(`/admin/accounts/${ginaId}/disable`, {}, {
      from: "/admin",
    });
    assert.equal(disabled.status, 303);
    assert.equal((await user.get("/account")).location, "/login", "gina's session ended");
  },
);

testEachDatabase(
  "web: the stylesheet and script are served, and pages render without them",
  async (db) => {
    await using app = await TestApp.create(db);
    const browser = new PageClient(app);
    const home = await browser.get("/");
    assert.equal(home.status, 200);
    const css = home.html.match(/href="(\/static\/keycast\.[0-9a-f]+\.css)"/)![1]!;
    const js = home.html.match(/src="(\/static\/keycast\.[0-9a-f]+\.js)"/)![1]!;
    const style = await app.app.request(css);
    assert.equal(style.status, 200);
    assert.match(style.headers.get("content-type")!, /text\/css/);
    assert.match(await style.text(), /prefers-color-scheme:dark/);
    assert.equal((await app.app.request(js)).status, 200);
    assert.equal((await app.app.request("/static/keycast.0.css")).status, 404);
    assert.ok(
      !/<script>|<script [^>]*>[^<]|\son[a-z]+=/i.test(home.html),
      "no inline script or handler",
    );
  },
);

testEachDatabase(
  "web: a pasted nostrconnect link is reviewed, then approved or denied",
  async (db) => {
    await using app = await TestApp.create(db);
    const browser = await registered(app, "hana");
    const clientPubkey = "ab".repeat(32);
    const link = (relay: string) =>
      `nostrconnect://${clientPubkey}?relay=${encodeURIComponent(relay)}` +
      `&secret=s3cret&perms=sign_event:1&name=${encodeURIComponent("<b>Chat</b>")}`;
    const uri = link("wss://relay.example.com");

    const bad = await browser.post("/account/apps/nostrconnect", {
      step: "review",
      uri: "nostrconnect://nothex",
    }, { from: "/account" });
    assert.equal(bad.status, 400);
    assert.match(bad.html, /id="f-uri-error"[^>]*>Cannot use the URI/);

    const review = await browser.post("/account/apps/nostrconnect", { step: "review", uri }, {
      from: "/account",
    });
    assert.equal(review.status, 200);
    const text = textOf(review.html);
    assert.match(text, /Approve this app\?/);
    assert.match(text, /\(unverified\)/);
    assert.match(text, /sign_event:1/);
    assert.ok(review.html.includes("&lt;b&gt;Chat&lt;/b&gt;"), "the stated name is escaped");
    assert.match(review.html, /href="\/account"[^>]*>Deny</, "deny is as easy to find");
    assert.equal(await app.repos.authorizations.list().then((all) => all.length), 0);

    // A relay on this machine or a private network is refused: an account must not point the
    // server at them.
    const inside = await browser.post("/account/apps/nostrconnect", {
      step: "approve",
      uri: link("ws://127.0.0.1:5432"),
    }, { from: "/account" });
    assert.equal(inside.status, 400);
    assert.match(textOf(inside.html), /is on a private network or this machine/);
    assert.equal((await app.repos.authorizations.list()).length, 0);

    const approved = await browser.post("/account/apps/nostrconnect", {
      step: "approve",
      uri,
      label: "Chat",
      policy: "social",
    }, { from: "/account" });
    assert.equal(approved.status, 303, textOf(approved.html));
    const [record] = await app.repos.authorizations.list();
    assert.equal(record?.label, "Chat");
    assert.equal(record?.policyName, "social");
    const hana = await app.repos.accounts.getByLogin("hana");
    assert.equal(record?.accountId, hana!.id);
    assert.match(textOf((await browser.get("/account")).html), /Chat/);
  },
);

testEachDatabase(
  "web: security page changes the password, ends other sessions, exports once",
  async (db) => {
    await using app = await TestApp.create(db);
    const laptop = await registered(app, "ivan");
    const phone = new PageClient(app);
    assert.equal(
      (await phone.post("/login", { username: "ivan", password: PASSWORD })).status,
      303,
    );
    const page = await laptop.get("/account/security");
    assert.equal((page.html.match(/<tr>/g) ?? []).length, 3, "a header row and two sessions");

    const wrong = await laptop.post("/account/security/password", {
      current_password: "not my password",
      new_password: "an entirely new passphrase",
    }, { from: "/account/security" });
    assert.equal(wrong.status, 401);
    assert.match(wrong.html, /id="f-current_password-error"/);
    const changed = await laptop.post("/account/security/password", {
      current_password: PASSWORD,
      new_password: "an entirely new passphrase",
    }, { from: "/account/security" });
    assert.equal(changed.status, 303);
    assert.equal((await phone.get("/account")).location, "/login", "the other session ended");
    assert.equal((await laptop.get("/account")).status, 200, "this one stays");

    const exported = await laptop.post("/account/security/export", {
      key:
        (await app.repos.keys.list((await app.repos.accounts.getByLogin("ivan"))!.id))[0]!.pubkey,
      export_current_password: "an entirely new passphrase",
      export_password: "",
    }, { from: "/account/security" });
    assert.equal(exported.status, 200, textOf(exported.html));
    assert.equal(exported.headers.get("cache-control"), "no-store");
    assert.match(exported.html, /ncryptsec1[0-9a-z]+/);
    assert.doesNotMatch((await laptop.get("/account/security")).html, /ncryptsec1[0-9a-z]{20}/);
  },
);

/** A browser logged in as the first admin, made through `/admin/setup`. */
async function firstAdmin(app: TestApp, username: string): Promise<PageClient> {
  const browser = new PageClient(app);
  const made = await browser.post("/admin/setup", {
    token: app.token,
    username,
    password: PASSWORD,
  });
  assert.equal(made.status, 303, textOf(made.html));
  return browser;
}

testEachDatabase(
  "web: admins register OAuth apps on /admin, with errors next to their fields",
  async (db) => {
    await using app = await TestApp.create(db);
    const admin = await firstAdmin(app, "root");
    const empty = await admin.get("/admin");
    assert.match(empty.html, /href="#oauth"/);
    assert.match(textOf(empty.html), /No OAuth apps registered yet — register one below/);
    const register = (fields: Record<string, string>) =>
      admin.post("/admin/oauth-clients", fields, { from: "/admin" });
    const good = {
      client_id: "https://notes.example/client",
      name: "<b>Notes</b>",
      redirect_uris: "com.example.notes:/cb\r\n\r\n  https://notes.example/cb  \r\n",
      policy: "social",
    };

    const badId = await register({ ...good, client_id: "a b" });
    assert.equal(badId.status, 400);
    assert.match(badId.html, /id="f-client_id-error"[^>]*>Use 1 to 200 printable ASCII/);
    assert.match(badId.html, /value="a b"/, "the input is kept");
    assert.ok(badId.html.includes("&lt;b&gt;Notes&lt;/b&gt;"), "the name is kept, escaped");
    assert.ok(!badId.html.includes("<b>Notes</b>"));
    assert.match(badId.html, /com\.example\.notes:\/cb/, "the redirect URIs are kept");

    const badUri = await register({
      ...good,
      redirect_uris: "https://notes.example/cb\n\njavascript:alert(1)\n",
    });
    assert.equal(badUri.status, 400);
    assert.match(badUri.html, /id="f-redirect_uris-error"[^>]*>Line 3: .*cannot receive codes/);
    const noUri = await register({ ...good, redirect_uris: " \n " });
    assert.equal(noUri.status, 400);
    assert.match(noUri.html, /id="f-redirect_uris-error"[^>]*>Give 1 to 20 redirect URIs/);
    const badPolicy = await register({ ...good, policy: "everything" });
    assert.equal(badPolicy.status, 404);
    assert.match(badPolicy.html, /<p class="error">No policy named (&quot;|")everything/);
    assert.deepEqual(await app.repos.oauth.listClients(), [], "nothing was registered");

    const made = await register(good);
    assert.equal(made.status, 303, textOf(made.html));
    assert.equal(made.location, "/admin?done=oauth-registered#oauth");
    const stored = await app.repos.oauth.getClient(good.client_id);
    assert.deepEqual(
      [stored?.name, stored?.redirectUris, stored?.policyName],
      ["<b>Notes</b>", ["com.example.notes:/cb", "https://notes.example/cb"], "social"],
    );
    const listed = await admin.get("/admin?done=oauth-registered");
    const text = textOf(listed.html);
    assert.match(text, /OAuth app registered/);
    assert.match(text, /https:\/\/notes\.example\/client &lt;b&gt;Notes&lt;\/b&gt;/);
    assert.match(text, /com\.example\.notes:\/cb https:\/\/notes\.example\/cb social/);
    assert.ok(!listed.html.includes("<b>Notes</b>"), "the name is escaped");

    const replaced = await register({ ...good, name: "Notes", policy: "" });
    assert.equal(replaced.location, "/admin?done=oauth-replaced#oauth");
    const updated = await app.repos.oauth.getClient(good.client_id);
    assert.deepEqual([updated?.name, updated?.policyName], ["Notes", null]);
    assert.match(textOf((await admin.get("/admin")).html), /social \(default\)/);

    const noToken = await admin.post("/admin/oauth-clients", { ...good, client_id: "x" }, {
      csrf: null,
    });
    assert.equal(noToken.status, 403);
    assert.equal(await app.repos.oauth.getClient("x"), undefined);
  },
);

testEachDatabase(
  "web: removing an OAuth app goes through a confirmation page; others get 403",
  async (db) => {
    await using app = await TestApp.create(db, { oauth: { mode: "registered" } });
    const admin = await firstAdmin(app, "root");
    const clientId = "https://chat.example/client?v=1";
    await app.repos.oauth.putClient({
      clientId,
      name: "Chat",
      redirectUris: ["https://chat.example/cb"],
      policyName: null,
    });
    const path = `/admin/oauth-clients/${encodeURIComponent(clientId)}/remove`;
    const listed = await admin.get("/admin");
    assert.ok(listed.html.includes(`href="${path}"`), "a Remove link, not a form");
    assert.match(textOf(listed.html), /Only the apps registered here may ask/);

    const user = await registered(app, "gina");
    assert.equal((await user.get("/admin")).status, 403);
    assert.equal((await user.get(path)).status, 403);
    const refused = await user.post(path, {}, { from: "/account" });
    assert.equal(refused.status, 403);
    const notAdmin = await user.post("/admin/oauth-clients", {
      client_id: "mine",
      name: "Mine",
      redirect_uris: "https://mine.example/cb",
    }, { from: "/account" });
    assert.equal(notAdmin.status, 403);
    assert.match(textOf(notAdmin.html), /Admins only/);
    assert.equal((await new PageClient(app).get(path)).location, "/login");
    assert.deepEqual((await app.repos.oauth.listClients()).map((c) => c.clientId), [clientId]);

    const confirm = await admin.get(path);
    assert.equal(confirm.status, 200);
    const text = textOf(confirm.html);
    assert.match(text, /Remove the OAuth app Chat\?/);
    assert.match(text, /It can no longer ask anyone to sign in/);
    assert.match(text, /keep their grants until the grants are revoked/);
    assert.match(confirm.html, /href="\/admin#oauth"[^>]*>Keep it registered</);
    assert.ok(await app.repos.oauth.getClient(clientId), "nothing removed by looking");

    const removed = await admin.post(path, {});
    assert.equal(removed.status, 303);
    assert.equal(removed.location, "/admin?done=oauth-removed#oauth");
    assert.equal(await app.repos.oauth.getClient(clientId), undefined);
    assert.match(textOf((await admin.get("/admin?done=oauth-removed")).html), /OAuth app removed/);
    assert.equal((await admin.get(path)).status, 404);
    assert.equal((await admin.post(path, {}, { from: "/admin" })).status, 404);
  },
);
