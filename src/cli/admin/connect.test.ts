import assert from "node:assert/strict";
import { EXIT } from "../io.ts";
import { connectCommand } from "./connect.ts";
import { fakeServer, json, testContext } from "./testing.ts";

const CLIENT = "c".repeat(64);
const SECRET = "s3cr3t-value";
const URI = `nostrconnect://${CLIENT}?relay=wss%3A%2F%2Frelay.example&secret=${SECRET}&name=App`;

const PAIRED = {
  id: "6f1c2b3a-0d4e-4f5a-8b6c-7d8e9f0a1b2c",
  bunker_pubkey: "b".repeat(64),
  client_pubkey: CLIENT,
  key_name: "alice",
  user_pubkey: "a".repeat(64),
  relays: ["wss://relay.example"],
  policy: "social",
  label: "App",
  expires_at: null,
  requested_perms: [],
  subscribed: true,
  sent: true,
};

Deno.test("connect posts the URI and options and names the paired client", async () => {
  const server = fakeServer(() => json(PAIRED, 201));
  const ctx = testContext([
    URI,
    "--key",
    "alice",
    "--policy",
    "social",
    "--label",
    "laptop",
    "--expires-in",
    "12h",
  ], { fetch: server.fetch });
  assert.equal(await connectCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.deepEqual(server.requests.map((r) => [r.method, r.path, r.body]), [
    ["POST", "/api/connect", {
      uri: URI,
      key: "alice",
      policy: "social",
      label: "laptop",
      expires_in: 12 * 3600,
    }],
  ]);
  assert.equal(
    ctx.stdout(),
    `Connected client ${CLIENT} to key "alice" (authorization ${PAIRED.id})\n`,
  );
  assert.equal(ctx.stderr(), "");
  assert.ok(!ctx.stdout().includes(SECRET));
});

Deno.test("connect - reads the URI from stdin; an unconfirmed reply is a warning", async () => {
  const server = fakeServer(() => json({ ...PAIRED, sent: false }, 201));
  const ctx = testContext(["-", "--key", "alice"], { fetch: server.fetch, stdin: `${URI}\n` });
  assert.equal(await connectCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.deepEqual(server.requests[0]?.body, { uri: URI, key: "alice" });
  assert.match(ctx.stderr(), /^Warning: no relay confirmed keycast's answer to the client/);
});

Deno.test("connect checks the URI without echoing its secret, exit 2", async () => {
  const server = fakeServer();
  const cases: Array<[string[], RegExp]> = [
    [["--key", "alice"], /needs a nostrconnect:\/\/ URI/],
    [[URI], /"connect" needs --key NAME\|NPUB/],
    [[URI, "--key", "a b", "--expires-in", "soon"], /--key: cannot use "a b"[^]*--expires-in/],
    [[`bunker://${CLIENT}?secret=${SECRET}`, "--key", "a"], /That is a bunker:\/\/ URL/],
    [
      [`nostrconnect://xyz?relay=wss://r.example&secret=${SECRET}`, "--key", "a"],
      /client pubkey must be 64 hex/,
    ],
    [[`nostrconnect://${CLIENT}?secret=${SECRET}`, "--key", "a"], /names no relay/],
    [[`nostrconnect://${CLIENT}?relay=https://r.example&secret=${SECRET}`, "--key", "a"], /scheme/],
    [[`nostrconnect://${CLIENT}?relay=wss://r.example`, "--key", "a"], /needs a secret/],
  ];
  for (const [args, problem] of cases) {
    const ctx = testContext(args, { fetch: server.fetch });
    assert.equal(await connectCommand.run(ctx), EXIT.usage, args.join(" "));
    assert.match(ctx.stderr(), problem);
    assert.ok(!ctx.stderr().includes(SECRET), ctx.stderr());
  }
  assert.equal(server.requests.length, 0);
});
