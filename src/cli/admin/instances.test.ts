import assert from "node:assert/strict";
import { EXIT } from "../io.ts";
import { instancesCommand } from "./instances.ts";
import { fakeServer, json, testContext } from "./testing.ts";

const OLDER = {
  id: "a".repeat(32),
  address: "keycast-0:8080",
  version: "1.1.0",
  started_at: "2026-01-01T10:00:00.000Z",
  heartbeat_at: "2026-01-01T12:00:00.250Z",
  lease_until: "2026-01-01T12:00:10.250Z",
  leaving: true,
  self: false,
};
const SELF = {
  id: "b".repeat(32),
  address: "keycast-1:8080",
  version: "1.2.0",
  started_at: "2026-01-01T11:00:00.000Z",
  heartbeat_at: "2026-01-01T12:00:01.000Z",
  lease_until: "2026-01-01T12:00:11.000Z",
  leaving: false,
  self: true,
};
const CLUSTER = { cluster: true, self: SELF.id, instances: [OLDER, SELF] };

Deno.test("instances prints a table and marks the instance that answered", async () => {
  const server = fakeServer(() => json(CLUSTER));
  const ctx = testContext([], { fetch: server.fetch });
  assert.equal(await instancesCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.deepEqual(server.requests.map((r) => [r.method, r.path]), [["GET", "/api/instances"]]);
  const [header, ...rows] = ctx.stdout().trimEnd().split("\n");
  assert.deepEqual(header!.trim().split(/ {2,}/), [
    "ID",
    "ADDRESS",
    "VERSION",
    "STARTED",
    "LAST HEARTBEAT",
    "LEASE UNTIL",
    "LEAVING",
  ]);
  assert.deepEqual(rows.map((row) => row.trim().split(/ {2,}/)), [
    [
      OLDER.id,
      "keycast-0:8080",
      "1.1.0",
      "2026-01-01 10:00:00",
      "2026-01-01 12:00:00",
      "2026-01-01 12:00:10",
      "yes",
    ],
    [
      "*",
      SELF.id,
      "keycast-1:8080",
      "1.2.0",
      "2026-01-01 11:00:00",
      "2026-01-01 12:00:01",
      "2026-01-01 12:00:11",
      "no",
    ],
  ]);
  assert.ok(rows[0]!.startsWith(`   ${OLDER.id}`), "the unmarked row keeps the column");
  assert.equal(ctx.stderr(), "");
});

Deno.test("instances without --cluster shows no lease and says it is the only instance", async () => {
  const alone = { ...SELF, heartbeat_at: null, lease_until: null };
  const server = fakeServer(() => json({ cluster: false, self: SELF.id, instances: [alone] }));
  const ctx = testContext([], { fetch: server.fetch });
  assert.equal(await instancesCommand.run(ctx), EXIT.ok, ctx.stderr());
  const row = ctx.stdout().split("\n")[1]!.split(/ {2,}/);
  assert.deepEqual(row.slice(-3), ["-", "-", "no"]);
  assert.equal(
    ctx.stderr(),
    "keycast at http://127.0.0.1:8080 runs without --cluster: it is the only instance\n",
  );
});

Deno.test("instances says so when the instance that answered is not among the live ones", async () => {
  const server = fakeServer(() => json({ ...CLUSTER, instances: [OLDER] }));
  const ctx = testContext([], { fetch: server.fetch });
  assert.equal(await instancesCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.ok(!ctx.stdout().includes("*"));
  assert.match(ctx.stderr(), new RegExp(`answered \\(${SELF.id}\\) is not among the live ones`));
});

Deno.test("instances --json prints the answer as it came", async () => {
  const server = fakeServer(() => json(CLUSTER));
  const ctx = testContext(["--json"], { fetch: server.fetch });
  assert.equal(await instancesCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.deepEqual(JSON.parse(ctx.stdout()), CLUSTER);
});

Deno.test("instances shows control characters from the server as ?", async () => {
  const odd = { ...SELF, address: "evil\u001b[2J:80", version: "1\u202e0" };
  const server = fakeServer(() => json({ ...CLUSTER, instances: [odd] }));
  const ctx = testContext([], { fetch: server.fetch });
  assert.equal(await instancesCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.match(ctx.stdout(), /evil\?\[2J:80 +1\?0 /);
});

Deno.test("instances refuses arguments, and reports a refused token or an odd answer", async () => {
  const server = fakeServer(() => json(CLUSTER));
  const extra = testContext(["list"], { fetch: server.fetch });
  assert.equal(await instancesCommand.run(extra), EXIT.usage);
  assert.equal(extra.stderr(), 'Unexpected argument "list"\n');
  assert.equal(server.requests.length, 0);

  const refused = testContext([], {
    fetch: fakeServer(() => json({ error: "Admin authentication required" }, 401)).fetch,
  });
  assert.equal(await instancesCommand.run(refused), EXIT.failed);
  assert.match(refused.stderr(), /^Error: Admin authentication required \(HTTP 401\)\nCheck the/);

  const odd = testContext([], { fetch: fakeServer(() => json({ instances: [] })).fetch });
  assert.equal(await instancesCommand.run(odd), EXIT.failed);
  assert.match(odd.stderr(), /^Error: Unexpected answer from keycast: no "cluster" and "self"/);
});
