import assert from "node:assert/strict";
import { testEachDatabase } from "../../../tests/helpers/db.ts";
import { insertAuthorization, insertKey } from "../../../tests/helpers/fixtures.ts";
import { ForeignKeyViolationError, UniqueViolationError } from "../db.ts";
import { createRepos } from "./repos.ts";

testEachDatabase(
  "AuthorizationsRepo.loadActive() returns live authorizations with their key, policy and clients",
  async (db) => {
    const repos = createRepos(db);
    const key = await insertKey(db, "alice");
    const policy = await repos.policies.create({
      id: crypto.randomUUID(),
      name: "notes",
      rules: { kinds: [1] },
    });
    const live = await insertAuthorization(db, key.id, {
      policyId: policy.id,
      maxUses: 2,
      relays: ["ws://a", "ws://b"],
    });
    const expiresAt = new Date(Date.now() + 3_600_000);
    const expiring = await insertAuthorization(db, key.id, { expiresAt });
    await insertAuthorization(db, key.id, { expiresAt: new Date(Date.now() - 1000) });
    const revoked = await insertAuthorization(db, key.id);
    await repos.authorizations.revoke(revoked.id);
    const clientPubkey = "c".repeat(64);
    assert.deepEqual(await repos.clients.redeem({ authorizationId: live.id, clientPubkey }), {
      status: "redeemed",
    });

    const active = await repos.authorizations.loadActive();
    assert.deepEqual(active.map((a) => a.id).sort(), [live.id, expiring.id].sort());
    const loaded = active.find((a) => a.id === live.id)!;
    assert.deepEqual(loaded, {
      id: live.id,
      keyId: key.id,
      keyName: "alice",
      userPubkey: key.pubkey,
      userSecretSealed: key.secretSealed,
      bunkerPubkey: live.bunkerPubkey,
      bunkerSecretSealed: live.bunkerSecretSealed,
      secretHash: live.secretHash,
      relays: ["ws://a", "ws://b"],
      policyName: "notes",
      policy: { kinds: [1] },
      maxUses: 2,
      expiresAt: null,
      clients: [{ clientPubkey, loggedOut: false }],
    });
    assert.equal(
      active.find((a) => a.id === expiring.id)?.expiresAt,
      Math.floor(expiresAt.getTime() / 1000),
    );
    assert.deepEqual((await repos.authorizations.loadActiveByPolicy("notes")).map((a) => a.id), [
      live.id,
    ]);
    assert.equal(await repos.authorizations.loadActiveById(revoked.id), undefined);
  },
);

testEachDatabase("AuthorizationsRepo.revoke() marks once and reports unknown ids", async (db) => {
  const repos = createRepos(db);
  const key = await insertKey(db, "alice");
  const auth = await insertAuthorization(db, key.id);
  assert.deepEqual(await repos.authorizations.revoke(auth.id), {
    bunkerPubkey: auth.bunkerPubkey,
    alreadyRevoked: false,
  });
  assert.deepEqual(await repos.authorizations.revoke(auth.id), {
    bunkerPubkey: auth.bunkerPubkey,
    alreadyRevoked: true,
  });
  assert.equal(await repos.authorizations.revoke(crypto.randomUUID()), undefined);
  const record = await repos.authorizations.get(auth.id);
  assert.ok(record?.revokedAt instanceof Date);
  assert.deepEqual(await repos.authorizations.list(), []);
  assert.equal((await repos.authorizations.list({ includeRevoked: true })).length, 1);
});

testEachDatabase(
  "authorizations enforce a unique bunker pubkey and an existing key",
  async (db) => {
    const key = await insertKey(db, "alice");
    const auth = await insertAuthorization(db, key.id);
    await assert.rejects(
      () => insertAuthorization(db, key.id, { bunkerPubkey: auth.bunkerPubkey }),
      UniqueViolationError,
    );
    await assert.rejects(
      () => insertAuthorization(db, crypto.randomUUID()),
      ForeignKeyViolationError,
    );
    await assert.rejects(() => insertAuthorization(db, key.id, { maxUses: 0 }));
  },
);

testEachDatabase("AuthorizationsRepo.get() shows the record without secrets", async (db) => {
  const repos = createRepos(db);
  const key = await insertKey(db, "alice");
  const auth = await insertAuthorization(db, key.id, { label: "phone" });
  const record = await repos.authorizations.get(auth.id);
  assert.equal(record?.label, "phone");
  assert.equal(record?.keyName, "alice");
  assert.equal(record?.clientCount, 0);
  assert.equal(Object.keys(record!).some((k) => /secret/i.test(k)), false);
});
