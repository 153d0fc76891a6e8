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
    [["revoke", "42"], /ID: cannot use "42": give an authorization id \(a UUID\) or at least/],
    [["revoke", "6f1z"], /ID: cannot use "6f1z"/],
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

/** An authorization view with `id`, listed by a fake `GET /api/authorizations`. */
function view(id: string, status = "active") {
  return {
    ...VIEW,
    id,
    label: null,
    status,
    revoked_at: status === "revoked" ? VIEW.created_at : null,
  };
}

/** A fake server that lists `views` (revoked ones included) and revokes by id. */
function listing(views: unknown[]) {
  return fakeServer((r) =>
    r.method === "GET"
      ? json({ authorizations: views })
      : json({ id: r.path.split("/").at(-1), revoked: true })
  );
}

Deno.test("authorizations revoke accepts a unique id prefix, like audit's 8 characters", async () => {
  const other = "6f1c9999-0d4e-4f5a-8b6c-7d8e9f0a1b2c";
  const server = listing([view(ID), view(other, "revoked")]);
  const ctx = testContext(["revoke", "6F1C2B3A"], { fetch: server.fetch });
  assert.equal(await authorizationsCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.deepEqual(server.requests.map((r) => `${r.method} ${r.path}`), [
    "GET /api/authorizations?include_revoked=true",
    `DELETE /api/authorizations/${ID}`,
  ]);
  assert.equal(ctx.stdout(), `Revoked authorization ${ID}\n`);
});

Deno.test("authorizations revoke of a prefix nothing starts with fails, exit 1", async () => {
  const server = listing([view(ID)]);
  const ctx = testContext(["revoke", "abcd"], { fetch: server.fetch });
  assert.equal(await authorizationsCommand.run(ctx), EXIT.failed);
  assert.equal(ctx.stderr(), 'Error: No authorization id starts with "abcd"\n');
  assert.deepEqual(server.requests.map((r) => r.method), ["GET"]);
});

Deno.test("authorizations revoke of an ambiguous prefix lists at most 10 matches, exit 2", async () => {
  const ids = Array.from(
    { length: 12 },
    (_, i) => `6f1c${String(i).padStart(4, "0")}-${ID.slice(9)}`,
  );
  const server = listing(ids.map((id, i) => view(id, i === 0 ? "revoked" : "active")));
  const ctx = testContext(["revoke", "6f1c"], { fetch: server.fetch });
  assert.equal(await authorizationsCommand.run(ctx), EXIT.usage);
  const lines = ctx.stderr().trimEnd().split("\n");
  assert.equal(lines[0], 'ID: 12 authorization ids start with "6f1c": give more characters');
  assert.equal(lines[1], `  ${ids[0]}  (key "alice", revoked)`);
  assert.deepEqual(lines.slice(1, 11).map((l) => l.trim().split(" ")[0]), ids.slice(0, 10));
  assert.equal(lines[11], "  … and 2 more");
  assert.equal(lines.length, 12);
  assert.deepEqual(server.requests.map((r) => r.method), ["GET"], "nothing revoked");
});
