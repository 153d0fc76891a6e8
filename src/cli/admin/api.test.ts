/**
 * The subcommands against the real admin API (Hono app, vault, channel, embedded database),
 * in process: what the CLI sends is what the server accepts, and what it answers the CLI reads.
 */
import assert from "node:assert/strict";
import { npubEncode, nsecEncode } from "nostr-tools/nip19";
import { generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { TestApp } from "../../../tests/helpers/app.ts";
import { sqliteTestDb } from "../../../tests/helpers/db.ts";
import { EXIT } from "../io.ts";
import { ADMIN_COMMANDS } from "./commands.ts";
import { testContext } from "./testing.ts";

Deno.test("the subcommands manage keys, policies, authorizations and OAuth clients through the real API", async (t) => {
  await using db = await sqliteTestDb();
  await using app = await TestApp.create(db, { noListener: true });
  const fetchApp =
    ((input: RequestInfo | URL, init?: RequestInit) =>
      app.app.request(input, init)) as typeof fetch;
  const run = async (args: string[], stdin?: string) => {
    const command = ADMIN_COMMANDS.find((c) => c.name === args[0])!;
    const ctx = testContext(args.slice(1), {
      fetch: fetchApp,
      env: { KEYCAST_ADMIN_TOKEN: app.token },
      stdin,
    });
    const code = await command.run(ctx);
    return { code, out: ctx.stdout(), err: ctx.stderr() };
  };

  await t.step("keys generate, import and list", async () => {
    const generated = await run(["keys", "generate", "--name", "alice"]);
    assert.equal(generated.code, EXIT.ok, generated.err);
    assert.match(generated.out, /^npub1[02-9ac-hj-np-z]{58}\n$/);
    const secretKey = generateSecretKey();
    const imported = await run(["keys", "import", "--name", "bob"], nsecEncode(secretKey));
    assert.equal(imported.code, EXIT.ok, imported.err);
    assert.equal(imported.out, `${npubEncode(getPublicKey(secretKey))}\n`);
    const listed = await run(["keys", "list"]);
    assert.deepEqual(listed.out.split("\n").slice(1, -1).map((l) => l.split(/ +/)[0]).sort(), [
      "alice",
      "bob",
    ]);
    const duplicate = await run(["keys", "generate", "--name", "alice"]);
    assert.equal(duplicate.code, EXIT.failed);
    assert.match(duplicate.err, /^Error: .*alice.* \(HTTP 409\)\n$/);
  });

  let id = "";
  await t.step("policies add, authorize, list, update, revoke by id prefix", async () => {
    const added = await run(["policies", "add", "notes", "--allow-kinds", "1,7,30000-30010"]);
    assert.equal(added.code, EXIT.ok, added.err);
    const policies = await run(["policies", "list", "--json"]);
    const notes = JSON.parse(policies.out).find((p: { name: string }) => p.name === "notes");
    assert.deepEqual(notes.rules, { kinds: [1, 7, [30000, 30010]] });

    const authorized = await run([
      "authorize",
      "--key",
      "alice",
      "--policy",
      "notes",
      "--max-uses",
      "2",
      "--expires-in",
      "30d",
      "--label",
      "phone",
    ]);
    assert.equal(authorized.code, EXIT.ok, authorized.err);
    assert.match(
      authorized.out,
      /^bunker:\/\/[0-9a-f]{64}\?relay=ws%3A%2F%2F127\.0\.0\.1%3A7777&secret=[0-9a-f]{64}\n$/,
    );
    id = /Authorization ([0-9a-f-]{36})/.exec(authorized.err)![1]!;

    const listed = await run(["authorizations", "list"]);
    const row = listed.out.split("\n")[1]!.split(/ {2,}/);
    assert.deepEqual([row[0], row[1], row[2], row[3], row[4], row[6]], [
      id,
      "alice",
      "phone",
      "notes",
      "0/2",
      "active",
    ]);
    const inUse = await run(["policies", "remove", "notes"]);
    assert.equal(inUse.code, EXIT.failed);
    assert.match(inUse.err, /\(HTTP 409\)\n$/);
    const updated = await run(["policies", "update", "notes", "--allow-kinds", "1"]);
    assert.equal(updated.out, "Updated policy notes: 1 live authorization updated\n", updated.err);

    const revoked = await run(["authorizations", "revoke", id.slice(0, 8)]);
    assert.equal(revoked.out, `Revoked authorization ${id}\n`);
    assert.equal((await run(["authorizations", "list"])).out, "");
    const all = await run(["authorizations", "list", "--all", "--json"]);
    assert.equal(JSON.parse(all.out)[0].status, "revoked");
  });

  await t.step("oauth clients add, list and remove, a URL as the client id", async () => {
    const clientId = "https://notes.example/client?v=1";
    const added = await run([
      "oauth",
      "clients",
      "add",
      clientId,
      "--name",
      "Notes",
      "--redirect-uri",
      "com.example.notes:/cb",
      "--policy",
      "social",
    ]);
    assert.equal(added.code, EXIT.ok, added.err);
    assert.equal(added.out, `Registered OAuth client ${clientId}: 1 redirect URI, policy social\n`);
    const listed = await run(["oauth", "clients", "list", "--json"]);
    assert.deepEqual(
      JSON.parse(listed.out).map((c: Record<string, unknown>) => [
        c.client_id,
        c.name,
        c.redirect_uris,
        c.policy,
      ]),
      [[clientId, "Notes", ["com.example.notes:/cb"], "social"]],
    );
    const unknownPolicy = await run([
      "oauth",
      "clients",
      "add",
      "other",
      "--name",
      "Other",
      "--redirect-uri",
      "https://other.example/cb",
      "--policy",
      "everything",
    ]);
    assert.equal(unknownPolicy.code, EXIT.failed);
    assert.match(unknownPolicy.err, /^Error: policy: no policy named "everything" \(HTTP 404\)\n$/);
    const removed = await run(["oauth", "clients", "remove", clientId]);
    assert.equal(removed.code, EXIT.ok, removed.err);
    assert.equal((await run(["oauth", "clients", "list"])).out, "");
    const again = await run(["oauth", "clients", "remove", clientId]);
    assert.equal(again.code, EXIT.failed);
    assert.match(again.err, /^Error: No registered OAuth client ".*" \(HTTP 404\)\n$/);
  });

  await t.step("audit and connect speak the same query and body", async () => {
    const audit = await run(["audit", "--authorization", id, "--since", "1h", "--limit", "5"]);
    assert.equal(audit.code, EXIT.ok, audit.err);
    const uri = `nostrconnect://${"c".repeat(64)}?relay=ws%3A%2F%2F127.0.0.1%3A7777&secret=x1`;
    const connect = await run(["connect", "-", "--key", "alice"], uri);
    // TestApp runs no relay listener: the route refuses after accepting the request's shape.
    assert.equal(connect.code, EXIT.failed);
    assert.match(
      connect.err,
      /^Error: Cannot pair: the relay listener is not running \(HTTP 503\)/,
    );
  });

  await t.step("instances lists the server alone, marked as the one that answered", async () => {
    const listed = await run(["instances"]);
    assert.equal(listed.code, EXIT.ok, listed.err);
    const row = listed.out.split("\n")[1]!.split(/ {2,}/);
    assert.deepEqual([row[0], row[2], row[3], row[5], row[6], row[7]], [
      "*",
      "localhost:80",
      "0.0.0-test",
      "-",
      "-",
      "no",
    ]);
    assert.match(listed.err, /runs without --cluster: it is the only instance/);
    const json = JSON.parse((await run(["instances", "--json"])).out);
    assert.equal(json.cluster, false);
    assert.equal(json.instances[0].id, row[1]);
  });
});
