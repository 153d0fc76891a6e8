/// <reference lib="dom" />
/**
 * The web app in a real headless Chromium (Debian's `chromium` through puppeteer-core) against a
 * real keycast and relay, with a nostr-tools BunkerSigner as the connected app. Screenshots of
 * every page, at 360 and 1280 px, light and dark, go to `test-output/screenshots/`.
 *
 * Without /usr/bin/chromium the test is skipped locally (install the `chromium` package) and
 * fails in CI, where `.ci/run` installs it.
 */
import assert from "node:assert/strict";
import { verifyEvent } from "nostr-tools/pure";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { eventually } from "./helpers/eventually.ts";
import { Keycast } from "./helpers/keycast.ts";
import { screenshots } from "./helpers/screenshots.ts";

const CHROMIUM = "/usr/bin/chromium";
const PASSWORD = "a long and quiet password";
const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
const inCi = Deno.env.get("CI") === "true";

async function launch(): Promise<Browser & AsyncDisposable> {
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--headless=new"],
    timeout: 30_000,
  });
  return Object.assign(browser, { [Symbol.asyncDispose]: () => browser.close() });
}

/** Fills the fields of the form posting to `action`, submits it and waits for the next page. */
async function submit(
  page: Page,
  action: string,
  fields: Record<string, string> = {},
): Promise<number> {
  const form = `form[action="${action}"]`;
  for (const [name, value] of Object.entries(fields)) {
    const field = await page.$(`${form} [name="${name}"]`);
    assert.ok(field, `the form ${action} has a field ${name}`);
    const tag = await field.evaluate((el) => el.tagName);
    if (tag === "SELECT") await page.select(`${form} [name="${name}"]`, value);
    else {
      await field.evaluate((el) => ((el as HTMLInputElement).value = ""));
      await field.type(value);
    }
  }
  const [response] = await Promise.all([
    page.waitForNavigation({ timeout: 20_000 }),
    page.click(`${form} button[type="submit"]`),
  ]);
  return response?.status() ?? 0;
}

function text(page: Page): Promise<string> {
  return page.evaluate(() => document.body.innerText);
}

Deno.test({
  name: "web app in Chromium: invite → register → connect a BunkerSigner → activity → revoke",
  ignore: !hasChromium && !inCi,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    assert.ok(hasChromium, `${CHROMIUM} is missing: install Debian's chromium package`);
    await using keycast = await Keycast.start({ args: ["--registration", "invite"] });
    await keycast.ready();
    const base = keycast.server.url;
    await using browser = await launch();
    const page = await browser.newPage();
    const errors: string[] = [];
    // Pages answered with an error status are logged too ("Failed to load resource"): expected
    // here. CSP refusals and script errors are not.
    page.on("console", (message) => {
      const text = message.text();
      if (message.type() === "error" && !text.startsWith("Failed to load resource")) {
        errors.push(text);
      }
    });
    page.on("pageerror", (error) => errors.push(String(error)));

    await t.step(
      "the home page, and a bad registration shows its errors by the fields",
      async () => {
        await page.goto(`${base}/`);
        await screenshots(page, "home");
        await page.goto(`${base}/register`);
        // Long enough for the browser's own check, but among the passwords attackers try first.
        const status = await submit(page, "/register", {
          username: "alice",
          password: "password12345",
          invite: "not-an-invite",
        });
        assert.equal(status, 400);
        const error = await page.$eval("#f-password-error", (el) => el.textContent!);
        assert.match(error, /attackers try/);
        assert.equal(
          await page.$eval("#f-username", (el) => (el as HTMLInputElement).value),
          "alice",
        );
        assert.equal(await page.$eval("#f-password", (el) => (el as HTMLInputElement).value), "");
        await screenshots(page, "register-errors");
      },
    );

    let npub = "";
    await t.step("register with an invite: the account page shows the npub", async () => {
      const invite = await keycast.api("POST", "/api/invites", { role: "user" });
      assert.equal(invite.status, 201);
      await page.goto(`${base}/register`);
      const status = await submit(page, "/register", {
        username: "alice",
        password: PASSWORD,
        invite: invite.body.code,
      });
      assert.equal(status, 200);
      assert.equal(new URL(page.url()).pathname, "/account");
      npub = await page.$eval("#npub-0", (el) => el.textContent!);
      assert.match(npub, /^npub1[0-9a-z]{58}$/);
      assert.match(await text(page), /No apps connected yet/);
      await screenshots(page, "account-new");
    });

    let bunkerUrl = "";
    await t.step("connect an app: the bunker URL is shown once", async () => {
      const status = await submit(page, "/account/apps/bunker", {
        app_name: "Test client",
        policy: "social",
      });
      assert.equal(status, 201, await text(page));
      bunkerUrl = await page.$eval("#bunker-url", (el) => (el as HTMLTextAreaElement).value);
      assert.match(bunkerUrl, /^bunker:\/\/[0-9a-f]{64}\?/);
      assert.ok(!page.url().includes("secret"), "the secret is not in the URL");
      assert.ok(await page.$(".qr svg"), "a QR code is shown");
      await screenshots(page, "bunker-created");
    });

    await t.step("a nostr-tools BunkerSigner uses it and signs; the page shows it", async () => {
      const signer = await keycast.signer(bunkerUrl);
      await signer.connect();
      const event = await signer.signEvent({
        kind: 1,
        created_at: Math.floor(Date.now() / 1000),
        tags: [],
        content: "hello from the browser test",
      });
      assert.ok(verifyEvent(event));
      const { decode } = await import("nostr-tools/nip19");
      assert.equal(event.pubkey, decode(npub).data);
      // Audit rows are written in batches: the activity shows up within a moment.
      await eventually("the page shows the signature", async () => {
        await page.goto(`${base}/account`);
        return /Sign short note \(1\)/i.test(await text(page));
      });
      assert.match(await text(page), /Test client/);
      await screenshots(page, "account");
    });

    await t.step("revoke after a confirmation: the signer is refused", async () => {
      await Promise.all([page.waitForNavigation(), page.click("a.button.danger")]);
      assert.match(await text(page), /will no longer be able to sign/);
      await screenshots(page, "revoke-confirm");
      const action = await page.$eval("main form", (el) => el.getAttribute("action")!);
      assert.equal(await submit(page, action), 200);
      assert.match(await text(page), /App revoked/);
      const signer = await keycast.signer(bunkerUrl);
      await assert.rejects(
        signer.signEvent({ kind: 1, created_at: 1, tags: [], content: "after revoke" }),
        /revoked|unauthorized/,
      );
    });

    await t.step("security page", async () => {
      await page.goto(`${base}/account/security`);
      assert.match(await text(page), /this browser/);
      await screenshots(page, "security");
    });

    await t.step("the admin page is for admins only", async () => {
      const denied = await page.goto(`${base}/admin`);
      assert.equal(denied?.status(), 403);
      const admin = await browser.createBrowserContext();
      const adminPage = await admin.newPage();
      await adminPage.goto(`${base}/admin/setup`);
      const token = (await Deno.readTextFile(`${keycast.dataDir}/admin.token`)).trim();
      assert.equal(
        await submit(adminPage, "/admin/setup", { token, username: "boss", password: PASSWORD }),
        200,
      );
      assert.equal(new URL(adminPage.url()).pathname, "/admin");
      const body = await text(adminPage);
      assert.match(body, /alice/);
      assert.match(body, /Test client/);
      await screenshots(adminPage, "admin");
      await admin.close();
    });

    await t.step("a cross-origin form post is refused", async () => {
      // A page on another origin (another port: the same site, so the Lax cookie goes along).
      await using evil = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen() {} },
        () =>
          new Response(
            `<form method="post" action="${base}/account/apps/bunker">` +
              `<input name="app_name" value="evil"><button type="submit">go</button></form>`,
            { headers: { "content-type": "text/html" } },
          ),
      );
      await page.goto(`http://127.0.0.1:${evil.addr.port}/`);
      const [response] = await Promise.all([
        page.waitForNavigation(),
        page.click("button[type=submit]"),
      ]);
      assert.equal(response?.status(), 403);
      const apps = await keycast.api("GET", "/api/authorizations?include_revoked=true");
      assert.ok(!JSON.stringify(apps.body).includes('"evil"'));
    });

    await t.step("login throttling: repeated wrong passwords get 429", async () => {
      const other = await browser.createBrowserContext();
      const login = await other.newPage();
      let status = 0;
      for (let i = 0; i < 10 && status !== 429; i++) {
        await login.goto(`${base}/login`);
        status = await submit(login, "/login", { username: "alice", password: `wrong ${i}` });
        if (status !== 429) assert.equal(status, 401);
      }
      assert.equal(status, 429);
      assert.match(await text(login), /Too many failed logins/);
      await screenshots(login, "login-throttled");
      await other.close();
    });

    await t.step("pages work with JavaScript off", async () => {
      const other = await browser.createBrowserContext();
      const plain = await other.newPage();
      await plain.setJavaScriptEnabled(false);
      await plain.goto(`${base}/login`);
      await screenshots(plain, "login");
      // alice is throttled for a while now; an admin-made account logs in.
      const made = await keycast.api("POST", "/api/accounts", {
        username: "bob",
        password: PASSWORD,
      });
      assert.equal(made.status, 201);
      assert.equal(await submit(plain, "/login", { username: "bob", password: PASSWORD }), 200);
      assert.equal(new URL(plain.url()).pathname, "/account");
      assert.equal(await submit(plain, "/account/apps/bunker", { app_name: "No JS" }), 201);
      assert.match(await plain.$eval("#bunker-url", (el) => el.textContent!), /^bunker:\/\//);
      await other.close();
    });

    assert.deepEqual(errors, [], "no console errors (CSP violations would show here)");
  },
});
