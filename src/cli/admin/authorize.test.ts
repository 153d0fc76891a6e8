import assert from "node:assert/strict";
import { EXIT } from "../io.ts";
import { authorizeCommand } from "./authorize.ts";
import { fakeServer, json, testContext } from "./testing.ts";

const BUNKER_URL = "bunker://" + "b".repeat(64) + "?relay=wss%3A%2F%2Frelay.example&secret=" +
  "5".repeat(64);
const CREATED = {
  id: "6f1c2b3a-0d4e-4f5a-8b6c-7d8e9f0a1b2c",
  bunker_url: BUNKER_URL,
  bunker_pubkey: "b".repeat(64),
  key_name: "alice",
  user_pubkey: "a".repeat(64),
  relays: ["wss://relay.example"],
  policy: "social",
  max_uses: 3,
  expires_at: "2025-03-02T10:00:00.000Z",
  label: "phone",
  created_at: "2025-01-31T10:00:00.000Z",
  subscribed: true,
};

Deno.test("authorize posts every option and prints only the bunker URL on stdout", async () => {
  const server = fakeServer(() => json(CREATED, 201));
  const ctx = testContext([
    "--key",
    "alice",
    "--relay",
    "wss://relay.example",
    "--relay",
    "wss://b.example,ws://127.0.0.1:7777",
    "--policy",
    "social",
    "--max-uses",
    "3",
    "--expires-in",
    "30d",
    "--label",
    "phone",
  ], { fetch: server.fetch });
  assert.equal(await authorizeCommand.run(ctx), EXIT.ok, ctx.stderr());
  const [request] = server.requests;
  assert.equal(`${request?.method} ${request?.path}`, "POST /api/authorizations");
  assert.deepEqual(request?.body, {
    key: "alice",
    relays: ["wss://relay.example", "wss://b.example", "ws://127.0.0.1:7777"],
    policy: "social",
    max_uses: 3,
    expires_in: 30 * 86_400,
    label: "phone",
  });
  assert.equal(ctx.stdout(), `${BUNKER_URL}\n`);
  assert.match(
    ctx.stderr(),
    /^Authorization 6f1c2b3a-.* for key "alice": policy social, max uses 3/,
  );
  assert.match(ctx.stderr(), /shown only this once/);
  assert.ok(!ctx.stderr().includes("bunker://"), "the URL is printed once, on stdout");
});

Deno.test("authorize sends only the key when nothing else is given, and unlimited as null", async () => {
  const server = fakeServer(() => json({ ...CREATED, max_uses: null, subscribed: false }, 201));
  const ctx = testContext(["--key", "alice smith"], { fetch: server.fetch });
  assert.equal(await authorizeCommand.run(ctx), EXIT.usage);
  assert.match(
    ctx.stderr(),
    /--key: cannot use "alice smith": give a key name, an npub or a 64-hex/,
  );
  const plain = testContext(["--key", "alice", "--max-uses", "unlimited"], { fetch: server.fetch });
  assert.equal(await authorizeCommand.run(plain), EXIT.ok);
  assert.deepEqual(server.requests.map((r) => r.body), [{ key: "alice", max_uses: null }]);
  assert.match(plain.stderr(), /max uses unlimited/);
  assert.match(plain.stderr(), /Warning: keycast has not confirmed its relay subscription/);
});

Deno.test("authorize --qr draws the URL as a QR code after it", async () => {
  const server = fakeServer(() => json(CREATED, 201));
  const ctx = testContext(["--key", "alice", "--qr"], { fetch: server.fetch });
  assert.equal(await authorizeCommand.run(ctx), EXIT.ok);
  const [url, ...qr] = ctx.stdout().split("\n");
  assert.equal(url, BUNKER_URL);
  assert.ok(qr.length > 10);
  assert.match(qr[0]!, /^█+$/, "the quiet zone is painted");
  assert.ok(qr.slice(0, -1).every((line) => /^[ ▀▄█]+$/.test(line)));
});

Deno.test("authorize --qr-light draws the same code inverted for light terminals", async () => {
  const server = fakeServer(() => json(CREATED, 201));
  const swap: Record<string, string> = { " ": "█", "█": " ", "▀": "▄", "▄": "▀" };
  const draw = async (flag: string) => {
    const ctx = testContext(["--key", "alice", flag], { fetch: server.fetch });
    assert.equal(await authorizeCommand.run(ctx), EXIT.ok);
    return ctx.stdout().split("\n");
  };
  const [darkUrl, ...dark] = await draw("--qr");
  const [lightUrl, ...light] = await draw("--qr-light");
  assert.equal(darkUrl, BUNKER_URL);
  assert.equal(lightUrl, BUNKER_URL);
  assert.match(light[0]!, /^ +$/, "the quiet zone is the terminal background");
  // Every glyph half flips, except the terminal background below the symbol's odd last row.
  const body = (lines: string[]) => lines.slice(0, -2);
  assert.deepEqual(body(light), body(dark).map((line) => [...line].map((g) => swap[g]).join("")));
  const both = testContext(["--key", "alice", "--qr-light", "--json"], { fetch: server.fetch });
  assert.equal(await authorizeCommand.run(both), EXIT.usage);
  assert.equal(both.stderr(), "--qr-light and --json cannot be used together\n");
});

Deno.test("authorize --json prints the server's answer", async () => {
  const server = fakeServer(() => json(CREATED, 201));
  const ctx = testContext(["--key", "alice", "--json"], { fetch: server.fetch });
  assert.equal(await authorizeCommand.run(ctx), EXIT.ok);
  assert.deepEqual(JSON.parse(ctx.stdout()), CREATED);
});

Deno.test("authorize lists every bad value at once with exit 2 and calls nothing", async () => {
  const server = fakeServer(() => json(CREATED, 201));
  const ctx = testContext([
    "--relay",
    "https://relay.example",
    "--max-uses",
    "0",
    "--expires-in",
    "30x",
    "--policy",
    "no spaces",
    "--label",
    "x".repeat(201),
  ], { fetch: server.fetch });
  assert.equal(await authorizeCommand.run(ctx), EXIT.usage);
  assert.deepEqual(ctx.stderr().trimEnd().split("\n"), [
    '"authorize" needs --key NAME|NPUB',
    '--policy: cannot use "no spaces": a name is 1 to 64 characters from A-Z a-z 0-9 . _ -, ' +
    "not only dots",
    '--expires-in: cannot use "30x": give a duration from 1 second to 10 years ' +
    "(a number of seconds, or like 3600s, 45m, 12h, 30d, 2w)",
    "--label: it is 201 characters, the limit is 200",
    '--relay: cannot use relay URL "https://relay.example": scheme must be ws or wss',
    '--max-uses: cannot use "0": give a whole number from 1 to 1000000, or unlimited',
  ]);
  const both = testContext(["--key", "alice", "--qr", "--json"], { fetch: server.fetch });
  assert.equal(await authorizeCommand.run(both), EXIT.usage);
  assert.equal(server.requests.length, 0);
});

Deno.test("authorize reports a missing key as the server words it, exit 1", async () => {
  const server = fakeServer(() =>
    json({ error: 'key: no stored key has the name or pubkey "bob"', field: "key" }, 404)
  );
  const ctx = testContext(["--key", "bob"], { fetch: server.fetch });
  assert.equal(await authorizeCommand.run(ctx), EXIT.failed);
  assert.equal(
    ctx.stderr(),
    'Error: key: no stored key has the name or pubkey "bob" (HTTP 404)\n',
  );
  assert.equal(ctx.stdout(), "");
});
