import assert from "node:assert/strict";
import { EXIT } from "../io.ts";
import { ARGV_URI_WARNING, connectCommand } from "./connect.ts";
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
  assert.equal(ctx.stderr(), ARGV_URI_WARNING, "the URI in argv is warned about, not echoed");
  assert.ok(!ctx.stdout().includes(SECRET));
});

Deno.test("connect - reads the URI from stdin; an unconfirmed reply is a warning", async () => {
  const server = fakeServer(() => json({ ...PAIRED, sent: false }, 201));
  const ctx = testContext(["-", "--key", "alice"], { fetch: server.fetch, stdin: `${URI}\n` });
  assert.equal(await connectCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.deepEqual(server.requests[0]?.body, { uri: URI, key: "alice" });
  assert.match(ctx.stderr(), /^Warning: no relay confirmed keycast's answer to the client/);
  assert.ok(!ctx.stderr().includes("process list"), "no argv warning for -");
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

Deno.test("connect warns in one line that a URI argument is visible in the process list", async () => {
  const server = fakeServer(() => json(PAIRED, 201));
  const ctx = testContext([URI, "--key", "alice", "--json"], { fetch: server.fetch });
  assert.equal(await connectCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.equal(JSON.parse(ctx.stdout()).id, PAIRED.id);
  const lines = ctx.stderr().trimEnd().split("\n");
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^Warning: .*visible in the process list.* give - /);
  assert.ok(!ctx.stderr().includes(SECRET));
});

Deno.test("connect --help documents -, every option, and recommends stdin", async () => {
  const ctx = testContext(["--help"]);
  assert.equal(await connectCommand.run(ctx), EXIT.ok);
  const help = ctx.stdout();
  assert.match(help, /^Usage: keycast connect - --key NAME\|NPUB .*\(URI on stdin\)$/m);
  assert.match(help, /^ {2}- +Read the nostrconnect:\/\/ URI from standard input \(recommended/m);
  assert.match(help, /process\s+list/);
  for (const flag of ["key", "policy", "label", "expires-in", "json", "server", "data-dir"]) {
    assert.match(help, new RegExp(`^ {2}--${flag}\\b.* {2}\\S`, "m"), `--${flag} is documented`);
  }
  assert.match(help, /--expires-in DURATION +Lifetime .*Default: never expires/);
});
