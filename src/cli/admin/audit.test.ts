import assert from "node:assert/strict";
import { EXIT } from "../io.ts";
import { auditCommand, createAuditCommand } from "./audit.ts";
import { fakeServer, json, type RecordedRequest, testContext } from "./testing.ts";

const AUTH = "6f1c2b3a-0d4e-4f5a-8b6c-7d8e9f0a1b2c";
const NOW = Date.parse("2025-01-31T12:00:00.000Z");

function entry(id: number, decision = "allow") {
  return {
    transport: decision === "deny" ? "http" : "nip46",
    id: String(id),
    at: new Date(NOW + id * 1000).toISOString(),
    authorization_id: AUTH,
    client_pubkey: "c".repeat(64),
    method: "sign_event",
    event_kind: 1,
    event_id: "e".repeat(64),
    decision,
    reason: decision === "deny" ? "forbidden: kind 3 is not allowed" : null,
    latency_ms: 3,
  };
}

function query(request: RecordedRequest | undefined): Record<string, string> {
  return Object.fromEntries(new URL(request!.url).searchParams);
}

Deno.test("audit prints one line per entry with the filters in the query", async () => {
  const server = fakeServer(() => json({ entries: [entry(1), entry(2, "deny")] }));
  const command = createAuditCommand({ now: () => NOW });
  const ctx = testContext(["--authorization", AUTH, "--since", "30m", "--limit", "10"], {
    fetch: server.fetch,
  });
  assert.equal(await command.run(ctx), EXIT.ok, ctx.stderr());
  assert.equal(server.requests[0]?.path.split("?")[0], "/api/audit");
  assert.deepEqual(query(server.requests[0]), {
    authorization: AUTH,
    since: "2025-01-31T11:30:00.000Z",
    limit: "10",
  });
  const lines = ctx.stdout().trimEnd().split("\n");
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^TIME \(UTC\) +DECISION +VIA +METHOD +KIND +AUTH +CLIENT +REASON$/);
  assert.deepEqual(lines[2]!.split(/ {2,}/), [
    "2025-01-31 12:00:02",
    "deny",
    "http",
    "sign_event",
    "1",
    "6f1c2b3a",
    "cccccccc",
    "forbidden: kind 3 is not allowed",
  ]);
});

Deno.test("audit --json prints one JSON entry per line; ISO --since is passed on", async () => {
  const server = fakeServer(() => json({ entries: [entry(1), entry(2)] }));
  const ctx = testContext(["--json", "--since", "2025-01-30T00:00:00Z"], { fetch: server.fetch });
  assert.equal(await auditCommand.run(ctx), EXIT.ok);
  assert.deepEqual(ctx.stdout().trimEnd().split("\n").map((l) => JSON.parse(l)), [
    entry(1),
    entry(2),
  ]);
  assert.equal(query(server.requests[0]).since, "2025-01-30T00:00:00.000Z");
});

Deno.test("audit --follow polls with after_id until aborted, then exits 0", async () => {
  const controller = new AbortController();
  const pages = [[entry(1), entry(2)], [], [entry(3)]];
  const server = fakeServer(() => {
    const page = pages.shift();
    if (page === undefined) controller.abort(new Error("test over"));
    return json({ entries: page ?? [] });
  });
  const command = createAuditCommand({
    signal: controller.signal,
    intervalMs: 1,
    now: () => NOW,
  });
  const ctx = testContext(["--follow"], { fetch: server.fetch });
  assert.equal(await command.run(ctx), EXIT.ok, ctx.stderr());
  assert.deepEqual(server.requests.slice(0, 4).map(query), [
    { since: new Date(NOW).toISOString(), limit: "100" },
    { since: new Date(NOW).toISOString(), after_id: "2", limit: "100" },
    { since: new Date(NOW).toISOString(), after_id: "2", limit: "100" },
    { since: new Date(NOW).toISOString(), after_id: "3", limit: "100" },
  ]);
  assert.equal(ctx.stdout().trimEnd().split("\n").length, 4, "header and three entries");
});

Deno.test("audit --follow asks again at once after a full page", async () => {
  const controller = new AbortController();
  // Were there a pause after the full first page, this guard would end the test instead.
  const guard = setTimeout(() => controller.abort(new Error("paused")), 2_000);
  let calls = 0;
  const server = fakeServer(() => {
    if (++calls === 2) controller.abort(new Error("asked again"));
    return json({ entries: calls === 1 ? [entry(1), entry(2)] : [entry(3)] });
  });
  const command = createAuditCommand({ signal: controller.signal, intervalMs: 60_000 });
  const ctx = testContext(["--follow", "--limit", "2"], { fetch: server.fetch });
  try {
    assert.equal(await command.run(ctx), EXIT.ok, ctx.stderr());
  } finally {
    clearTimeout(guard);
  }
  assert.equal((controller.signal.reason as Error).message, "asked again");
  assert.equal(query(server.requests[1]).after_id, "2");
});

Deno.test("audit checks its flags before calling the server", async () => {
  const server = fakeServer();
  const ctx = testContext(["--authorization", "7", "--since", "yesterday", "--limit", "0"], {
    fetch: server.fetch,
  });
  assert.equal(await auditCommand.run(ctx), EXIT.usage);
  assert.deepEqual(ctx.stderr().trimEnd().split("\n").map((l) => l.split(":")[0]), [
    "--authorization",
    "--since",
    "--limit",
  ]);
  assert.equal(server.requests.length, 0);
});

Deno.test("audit reports a server error with exit 1", async () => {
  const server = fakeServer(() => json({ error: "Internal server error" }, 500));
  const ctx = testContext([], { fetch: server.fetch });
  assert.equal(await auditCommand.run(ctx), EXIT.failed);
  assert.equal(ctx.stderr(), "Error: Internal server error (HTTP 500)\n");
  assert.equal(ctx.stdout(), "");
});

Deno.test("audit --authorization takes the 8-character prefix the AUTH column shows", async () => {
  const server = fakeServer((r) =>
    r.path.startsWith("/api/authorizations")
      ? json({ authorizations: [{ id: AUTH }, { id: "0000aaaa-0d4e-4f5a-8b6c-7d8e9f0a1b2c" }] })
      : json({ entries: [entry(1)] })
  );
  const ctx = testContext(["--authorization", AUTH.slice(0, 8)], { fetch: server.fetch });
  assert.equal(await auditCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.equal(server.requests[0]?.path, "/api/authorizations?include_revoked=true");
  assert.equal(query(server.requests[1]).authorization, AUTH);

  const none = testContext(["--authorization", "ffff"], { fetch: server.fetch });
  assert.equal(await auditCommand.run(none), EXIT.failed);
  assert.equal(none.stderr(), 'Error: No authorization id starts with "ffff"\n');
  assert.equal(server.requests.length, 3, "no audit query for an unknown prefix");
});

Deno.test("audit shows no control or bidirectional character the server sent", async () => {
  const hostile = {
    ...entry(1, "deny"),
    method: "sign_\u001b[2Jevent",
    reason: "forbidden: \u202egnp.exe\u2066 \u0085\u009b31m\u200f",
    decision: "deny\r\n",
  };
  const displayable = /^[\x20-\x7e]*$/;

  const table = testContext([], { fetch: fakeServer(() => json({ entries: [hostile] })).fetch });
  assert.equal(await auditCommand.run(table), EXIT.ok, table.stderr());
  const lines = table.stdout().trimEnd().split("\n");
  assert.equal(lines.length, 2);
  for (const line of lines) assert.match(line, displayable);
  assert.match(
    lines[1]!,
    /deny\?\? +http +sign_\?\[2Jevent .* forbidden: \?gnp\.exe\? \?\?31m\?$/,
  );

  const jsonCtx = testContext(["--json"], {
    fetch: fakeServer(() => json({ entries: [hostile] })).fetch,
  });
  assert.equal(await auditCommand.run(jsonCtx), EXIT.ok, jsonCtx.stderr());
  const printed = jsonCtx.stdout().trimEnd();
  assert.match(printed, displayable);
  assert.deepEqual(JSON.parse(printed), hostile, "escaped, not lost");
});
