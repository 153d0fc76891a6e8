import assert from "node:assert/strict";
import { testEachDatabase } from "../../../tests/helpers/db.ts";
import { insertAuthorization, insertKey } from "../../../tests/helpers/fixtures.ts";
import { createRepos } from "./repos.ts";

const first = "1".repeat(64);
const second = "2".repeat(64);

testEachDatabase(
  "ClientsRepo.redeem() binds clients up to max_uses and is idempotent",
  async (db) => {
    const repos = createRepos(db);
    const key = await insertKey(db, "alice");
    const auth = await insertAuthorization(db, key.id, { maxUses: 1 });
    const redeem = (clientPubkey: string) =>
      repos.clients.redeem({
        authorizationId: auth.id,
        clientPubkey,
        requestedPerms: "sign_event:1",
        clientMetadata: { name: "app" },
      });
    assert.deepEqual(await redeem(first), { status: "redeemed" });
    assert.deepEqual(await redeem(first), { status: "known" });
    assert.deepEqual(await redeem(second), { status: "exhausted", maxUses: 1 });
    const [client] = await repos.clients.list(auth.id);
    assert.equal(client?.clientPubkey, first);
    assert.equal(client?.requestedPerms, "sign_event:1");
    assert.deepEqual(client?.clientMetadata, { name: "app" });
  },
);

testEachDatabase(
  "ClientsRepo.redeem() refuses revoked or unknown authorizations and logged-out clients",
  async (db) => {
    const repos = createRepos(db);
    const key = await insertKey(db, "alice");
    const auth = await insertAuthorization(db, key.id, { maxUses: null });
    assert.deepEqual(
      await repos.clients.redeem({ authorizationId: auth.id, clientPubkey: first }),
      {
        status: "redeemed",
      },
    );
    assert.equal(await repos.clients.logout(auth.id, first), true);
    assert.equal(await repos.clients.logout(auth.id, first), false);
    assert.deepEqual(
      await repos.clients.redeem({ authorizationId: auth.id, clientPubkey: first }),
      {
        status: "logged-out",
      },
    );
    assert.deepEqual(
      await repos.clients.redeem({ authorizationId: auth.id, clientPubkey: second }),
      {
        status: "redeemed",
      },
    );
    await repos.authorizations.revoke(auth.id);
    assert.deepEqual(
      await repos.clients.redeem({ authorizationId: auth.id, clientPubkey: "3".repeat(64) }),
      { status: "missing" },
    );
    assert.deepEqual(
      await repos.clients.redeem({ authorizationId: crypto.randomUUID(), clientPubkey: first }),
      { status: "missing" },
    );
  },
);

testEachDatabase(
  "ClientsRepo.redeem() lets only one of two racing clients take the last slot",
  async (db) => {
    const repos = createRepos(db);
    const key = await insertKey(db, "alice");
    const auth = await insertAuthorization(db, key.id, { maxUses: 1 });
    const results = await Promise.all(
      [first, second].map((clientPubkey) =>
        repos.clients.redeem({ authorizationId: auth.id, clientPubkey })
      ),
    );
    assert.deepEqual(
      results.map((r) => r.status).sort(),
      ["exhausted", "redeemed"],
    );
  },
);

testEachDatabase("ClientsRepo.touch() updates last_seen_at in one batch", async (db) => {
  const repos = createRepos(db);
  const key = await insertKey(db, "alice");
  const auth = await insertAuthorization(db, key.id, { maxUses: 2 });
  await repos.clients.redeem({ authorizationId: auth.id, clientPubkey: first });
  const before = (await repos.clients.list(auth.id))[0]!.lastSeenAt;
  await new Promise((resolve) => setTimeout(resolve, 5));
  await repos.clients.touch([{ authorizationId: auth.id, clientPubkey: first }]);
  const after = (await repos.clients.list(auth.id))[0]!.lastSeenAt;
  assert.equal(after.getTime() > before.getTime(), true);
});
