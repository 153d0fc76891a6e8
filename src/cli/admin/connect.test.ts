import assert from "node:assert/strict";
import { EXIT } from "../io.ts";
import { connectCommand } from "./connect.ts";
import { fakeServer, json, testContext } from "./testing.ts";

const CLIENT = "c".repeat(64);
const SECRET = "s3cr3t-value";
const URI = `nostrconnect://${CLIENT}?relay=wss%3A%2F%2Frelay.example&secret=${SECRET}&name=App`;

Deno.test("connect posts the URI, key and policy and names the paired client", async () => {
  const server = fakeServer(() => json({ id: "auth-1", key_name: "alice" }, 201));
  const ctx = testContext([URI, "--key", "alice", "--policy", "social"], { fetch: server.fetch });
  assert.equal(await connectCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.deepEqual(server.requests.map((r) => [r.method, r.path, r.body]), [
    ["POST", "/api/connect", { uri: URI, key: "alice", policy: "social" }],
  ]);
  assert.equal(ctx.stdout(), `Connected client ${CLIENT} to key "alice" (authorization auth-1)\n`);
  assert.ok(!ctx.stdout().includes(SECRET));
});

Deno.test("connect - reads the URI from stdin", async () => {
  const server = fakeServer(() => json({ client_pubkey: CLIENT }, 201));
  const ctx = testContext(["-", "--key", "alice"], { fetch: server.fetch, stdin: `${URI}\n` });
  assert.equal(await connectCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.deepEqual(server.requests[0]?.body, { uri: URI, key: "alice" });
});

Deno.test("connect checks the URI without echoing its secret, exit 2", async () => {
  const server = fakeServer();
  const cases: Array<[string[], RegExp]> = [
    [["--key", "alice"], /needs a nostrconnect:\/\/ URI/],
    [[URI], /"connect" needs --key NAME/],
    [[`bunker://${CLIENT}?secret=${SECRET}`, "--key", "a"], /That is a bunker:\/\/ URL/],
    [[`nostrconnect://xyz?relay=wss://r.example&secret=${SECRET}`, "--key", "a"], /not 64 hex/],
    [[`nostrconnect://${CLIENT}?secret=${SECRET}`, "--key", "a"], /names no relay/],
    [[`nostrconnect://${CLIENT}?relay=https://r.example&secret=${SECRET}`, "--key", "a"], /scheme/],
    [[`nostrconnect://${CLIENT}?relay=wss://r.example`, "--key", "a"], /has no secret/],
  ];
  for (const [args, problem] of cases) {
    const ctx = testContext(args, { fetch: server.fetch });
    assert.equal(await connectCommand.run(ctx), EXIT.usage, args.join(" "));
    assert.match(ctx.stderr(), problem);
    assert.ok(!ctx.stderr().includes(SECRET), ctx.stderr());
  }
  assert.equal(server.requests.length, 0);
});
