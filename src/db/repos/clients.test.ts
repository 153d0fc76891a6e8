import { assertEquals } from "../../../tests/helpers/assert.ts";
import { testEachDatabase } from "../../../tests/helpers/db.ts";
import { insertAuthorization, insertKey } from "../../../tests/helpers/fixtures.ts";
import { createRepos } from "./mod.ts";

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
    assertEquals(await redeem(first), { status: "redeemed" });
    assertEquals(await redeem(first), { status: "known" });
    assertEquals(await redeem(second), { status: "exhausted", maxUses: 1 });
    const [client] = await repos.clients.list(auth.id);
    assertEquals(client?.clientPubkey, first);
    assertEquals(client?.requestedPerms, "sign_event:1");
    assertEquals(client?.clientMetadata, { name: "app" });
  },
);

testEachDatabase(
  "ClientsRepo.redeem() refuses revoked or unknown authorizations and logged-out clients",
  async (db) => {
    const repos = createRepos(db);
    const key = await insertKey(db, "alice");
    const auth = await insertAuthorization(db, key.id, { maxUses: null });
    assertEquals(await repos.clients.redeem({ authorizationId: auth.id, clientPubkey: first }), {
      status: "redeemed",
    });
    assertEquals(await repos.clients.logout(auth.id, first), true);
    assertEquals(await repos.clients.logout(auth.id, first), false);
    assertEquals(await repos.clients.redeem({ authorizationId: auth.id, clientPubkey: first }), {
      status: "logged-out",
    });
    assertEquals(await repos.clients.redeem({ authorizationId: auth.id, clientPubkey: second }), {
      status: "redeemed",
    });
    await repos.authorizations.revoke(auth.id);
    assertEquals(
      await repos.clients.redeem({ authorizationId: auth.id, clientPubkey: "3".repeat(64) }),
      { status: "missing" },
    );
    assertEquals(
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
    assertEquals(
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
  assertEquals(after.getTime() > before.getTime(), true);
});
