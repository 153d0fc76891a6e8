import assert from "node:assert/strict";
import { EXIT } from "../io.ts";
import { authorizationsCommand } from "./authorizations.ts";
import { fakeServer, json, testContext } from "./testing.ts";

const ID = "6f1c2b3a-0d4e-4f5a-8b6c-7d8e9f0a1b2c";
const VIEW = {
  id: ID,
  key_name: "alice",
  user_pubkey: "a".repeat(64),
  bunker_pubkey: "b".repeat(64),
  relays: ["wss://relay.example"],
  policy: null,
  max_uses: null,
  expires_at: "2025-03-02T10:00:00.000Z",
  revoked_at: null,
  label: "phone\u001b[31m",
  created_at: "2025-01-31T10:00:00.000Z",
  client_count: 2,
  status: "active",
};

Deno.test("authorizations list prints a table; --all asks for revoked ones too", async () => {
  const server = fakeServer(() => json({ authorizations: [VIEW] }));
  const ctx = testContext(["list"], { fetch: server.fetch });
  assert.equal(await authorizationsCommand.run(ctx), EXIT.ok);
  const lines = ctx.stdout().split("\n");
  assert.match(lines[0]!, /^ID +KEY +LABEL +POLICY +CLIENTS +EXPIRES \(UTC\) +STATUS$/);
  assert.equal(
    lines[1]!.split(/ {2,}/).join("|"),
    `${ID}|alice|phone?[31m|-|2/∞|2025-03-02 10:00|active`,
    "control characters from labels are neutralised",
  );
  const all = testContext(["list", "--all"], { fetch: server.fetch });
  assert.equal(await authorizationsCommand.run(all), EXIT.ok);
  assert.deepEqual(server.requests.map((r) => r.path), [
    "/api/authorizations",
    "/api/authorizations?include_revoked=true",
  ]);
});

Deno.test("authorizations list --json prints the list; an empty list hints on stderr", async () => {
  const server = fakeServer(() => json({ authorizations: [VIEW] }));
  const ctx = testContext(["list", "--json"], { fetch: server.fetch });
  assert.equal(await authorizationsCommand.run(ctx), EXIT.ok);
  assert.deepEqual(JSON.parse(ctx.stdout()), [VIEW]);
  const empty = testContext(["list"], {
    fetch: fakeServer(() => json({ authorizations: [] })).fetch,
  });
  assert.equal(await authorizationsCommand.run(empty), EXIT.ok);
  assert.equal(empty.stdout(), "");
  assert.match(empty.stderr(), /No authorizations/);
});

Deno.test("authorizations revoke deletes by id and says so", async () => {
  const server = fakeServer((r) => json({ id: r.path.split("/").at(-1), revoked: true }));
  const ctx = testContext(["revoke", ID.toUpperCase()], { fetch: server.fetch });
  assert.equal(await authorizationsCommand.run(ctx), EXIT.ok);
  assert.deepEqual(server.requests.map((r) => `${r.method} ${r.path}`), [
    `DELETE /api/authorizations/${ID}`,
  ]);
  assert.equal(ctx.stdout(), `Revoked authorization ${ID}\n`);
});

Deno.test("authorizations revoke of an unknown id fails with the server's message", async () => {
  const server = fakeServer(() => json({ error: `No authorization with id "${ID}"` }, 404));
  const ctx = testContext(["revoke", ID], { fetch: server.fetch });
  assert.equal(await authorizationsCommand.run(ctx), EXIT.failed);
  assert.equal(ctx.stderr(), `Error: No authorization with id "${ID}" (HTTP 404)\n`);
});

Deno.test("authorizations checks its arguments before calling the server", async () => {
  const server = fakeServer();
  const cases: Array<[string[], RegExp]> = [
    [[], /Missing action/],
    [["show"], /Unknown action "authorizations show"/],
    [["revoke"], /"authorizations revoke" needs an authorization ID/],
    [["revoke", "42"], /ID: cannot use "42": an authorization id is a UUID/],
    [["revoke", ID, ID], /Unexpected argument/],
    [["revoke", ID, "--all"], /Flag "--all" does not apply to "authorizations revoke"/],
  ];
  for (const [args, problem] of cases) {
    const ctx = testContext(args, { fetch: server.fetch });
    assert.equal(await authorizationsCommand.run(ctx), EXIT.usage, args.join(" "));
    assert.match(ctx.stderr(), problem);
  }
  assert.equal(server.requests.length, 0);
});
