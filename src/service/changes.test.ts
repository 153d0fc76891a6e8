import assert from "node:assert/strict";
import { testEachDatabase } from "../../tests/helpers/db.ts";
import { createAuthorization, type GrantInput, revokeAuthorization } from "./authorizations.ts";
import { ServiceHarness } from "./testing.ts";
import { generateKey } from "./keys.ts";
import { createPolicy } from "./policies.ts";

/** A grant of key "alice" on the default relays; `overrides` win. */
function grantOf(overrides: Partial<GrantInput> = {}): GrantInput {
  return {
    key: "alice",
    relays: [],
    policy: null,
    maxUses: null,
    expiresIn: null,
    label: null,
    ...overrides,
  };
}

testEachDatabase(
  "AuthorizationChanges.upserted() sends the live authorization as the listener loads it",
  async (db) => {
    using h = await ServiceHarness.create(db);
    await generateKey(h.deps, "alice");
    const created = await createAuthorization(h.deps, grantOf({ label: "laptop" }));
    await h.takeCommands();

    const sent = await h.deps.changes.upserted(created.record.id);
    assert.ok(sent);
    assert.deepEqual(sent, await h.repos.authorizations.loadActiveById(created.record.id));
    assert.deepEqual(await h.takeCommands(), [{ type: "upsert", authorization: sent }]);
  },
);

testEachDatabase(
  "AuthorizationChanges.upserted() of a revoked or unknown id sends nothing",
  async (db) => {
    using h = await ServiceHarness.create(db);
    await generateKey(h.deps, "alice");
    const created = await createAuthorization(h.deps, grantOf());
    await revokeAuthorization(h.deps, created.record.id);
    await h.takeCommands();

    assert.equal(await h.deps.changes.upserted(created.record.id), undefined);
    assert.equal(await h.deps.changes.upserted(crypto.randomUUID()), undefined);
    assert.equal(h.pending, 0);
  },
);

testEachDatabase(
  "AuthorizationChanges.upserted() of an expired id sends nothing, so creating it waits for no listener",
  async (db) => {
    // A clock in the past: the authorization expires before the database's now.
    using h = await ServiceHarness.create(db, { now: Date.parse("2001-01-01T00:00:00Z") });
    await generateKey(h.deps, "alice");
    const created = await createAuthorization(h.deps, grantOf({ expiresIn: 60 }));
    assert.equal(created.record.expiresAt?.toISOString(), "2001-01-01T00:01:00.000Z");
    assert.equal(created.subscribed, false);
    assert.deepEqual(h.subscribeCalls, []);
    assert.equal(h.pending, 0);

    assert.equal(await h.deps.changes.upserted(created.record.id), undefined);
    assert.equal(h.pending, 0);
  },
);

testEachDatabase(
  "AuthorizationChanges.removed() sends a remove for the bunker pubkey",
  async (db) => {
    using h = await ServiceHarness.create(db);
    const bunkerPubkey = "b".repeat(64);
    h.deps.changes.removed(bunkerPubkey);
    assert.deepEqual(await h.takeCommands(), [{ type: "remove", bunkerPubkey }]);
  },
);

testEachDatabase(
  "AuthorizationChanges.policyChanged() re-sends only the live authorizations using the policy",
  async (db) => {
    using h = await ServiceHarness.create(db);
    await generateKey(h.deps, "alice");
    await createPolicy(h.deps, { name: "notes", rules: { kinds: [1] } });
    const live = await createAuthorization(h.deps, grantOf({ policy: "notes" }));
    const revoked = await createAuthorization(h.deps, grantOf({ policy: "notes" }));
    await revokeAuthorization(h.deps, revoked.record.id);
    await createAuthorization(h.deps, grantOf({ policy: "full" }));
    await h.takeCommands();

    assert.equal(await h.deps.changes.policyChanged("notes"), 1);
    assert.deepEqual(
      (await h.takeCommands()).map((c) => c.type === "upsert" && c.authorization.id),
      [live.record.id],
    );
    assert.equal(await h.deps.changes.policyChanged("unused"), 0);
    assert.equal(h.pending, 0);
  },
);
