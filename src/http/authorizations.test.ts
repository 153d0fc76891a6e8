import assert from "node:assert/strict";
import { TestApp } from "../../tests/helpers/app.ts";
import { testEachDatabase } from "../../tests/helpers/db.ts";

const LISTED_FIELDS = [
  "bunker_pubkey",
  "client_count",
  "created_at",
  "expires_at",
  "id",
  "key_name",
  "label",
  "max_uses",
  "policy",
  "relays",
  "revoked_at",
  "status",
  "user_pubkey",
];

testEachDatabase("authorization list, show and revoke", async (db, t) => {
  const clock = { ms: Date.now() };
  await using app = await TestApp.create(db, { now: () => clock.ms });
  await app.json("POST", "/api/keys", { name: "alice" });
  const kept = await app.json("POST", "/api/authorizations", { key: "alice", label: "kept" });
  const gone = await app.json("POST", "/api/authorizations", { key: "alice", expires_in: 60 });
  await app.takeCommands();

  await t.step("GET lists authorizations without secrets", async () => {
    const res = await app.json("GET", "/api/authorizations");
    assert.equal(res.status, 200);
    assert.equal(res.body.authorizations.length, 2);
    for (const a of res.body.authorizations) {
      assert.deepEqual(Object.keys(a).sort(), LISTED_FIELDS);
      assert.equal(a.status, "active");
    }
    assert.doesNotMatch(JSON.stringify(res.body), /secret/);
  });

  await t.step("an authorization past its expiry shows as expired", async () => {
    clock.ms += 61_000;
    const res = await app.json("GET", "/api/authorizations");
    const byId = new Map(res.body.authorizations.map((a: { id: string }) => [a.id, a]));
    assert.equal((byId.get(gone.body.id) as { status: string }).status, "expired");
    assert.equal((byId.get(kept.body.id) as { status: string }).status, "active");
    clock.ms -= 61_000;
  });

  await t.step("GET /:id adds its clients", async () => {
    const clientPubkey = "cd".repeat(32);
    await app.repos.clients.redeem({ authorizationId: kept.body.id, clientPubkey });
    const res = await app.json("GET", `/api/authorizations/${kept.body.id}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.label, "kept");
    assert.equal(res.body.client_count, 1);
    assert.equal(res.body.clients.length, 1);
    assert.deepEqual(res.body.clients[0].client_pubkey, clientPubkey);
    assert.equal(res.body.clients[0].logged_out_at, null);
  });

  await t.step("DELETE commits the revocation, then sends remove", async () => {
    app.journal.length = 0;
    const res = await app.json("DELETE", `/api/authorizations/${gone.body.id}`);
    assert.deepEqual([res.status, res.body], [200, {
      id: gone.body.id,
      revoked: true,
      already_revoked: false,
    }]);
    assert.deepEqual(app.journal, ["db:update authorizations", "send:remove"]);
    assert.deepEqual(await app.takeCommands(), [
      { type: "remove", bunkerPubkey: gone.body.bunker_pubkey },
    ]);
    assert.equal(await app.repos.authorizations.loadActiveById(gone.body.id), undefined);
  });

  await t.step("revoking again is 200 with already_revoked and still sends remove", async () => {
    const res = await app.json("DELETE", `/api/authorizations/${gone.body.id.toUpperCase()}`);
    assert.deepEqual([res.status, res.body.already_revoked], [200, true]);
    assert.deepEqual((await app.takeCommands()).map((c) => c.type), ["remove"]);
  });

  await t.step("revoked ones are listed only with include_revoked=true", async () => {
    const active = await app.json("GET", "/api/authorizations");
    assert.deepEqual(active.body.authorizations.map((a: { id: string }) => a.id), [kept.body.id]);
    const all = await app.json("GET", "/api/authorizations?include_revoked=true");
    assert.equal(all.body.authorizations.length, 2);
    const revoked = all.body.authorizations.find((a: { id: string }) => a.id === gone.body.id);
    assert.equal(revoked.status, "revoked");
    assert.ok(revoked.revoked_at);
    const bad = await app.json("GET", "/api/authorizations?include_revoked=maybe");
    assert.deepEqual([bad.status, bad.body.field], [400, "include_revoked"]);
  });

  await t.step("unknown ids are 404, malformed ones 400, never 500", async () => {
    const unknown = crypto.randomUUID();
    assert.equal((await app.json("GET", `/api/authorizations/${unknown}`)).status, 404);
    assert.equal((await app.json("DELETE", `/api/authorizations/${unknown}`)).status, 404);
    for (
      const garbage of ["123", "..%2F..%2Fetc%2Fpasswd", "%00", "'%20or%201=1", "x".repeat(300)]
    ) {
      const res = await app.json("GET", `/api/authorizations/${garbage}`);
      assert.equal(res.status, 400, garbage);
      const del = await app.json("DELETE", `/api/authorizations/${garbage}`);
      assert.equal(del.status, 400, garbage);
    }
    assert.deepEqual(await app.takeCommands(), []);
  });
});
