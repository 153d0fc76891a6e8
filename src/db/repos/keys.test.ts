import assert from "node:assert/strict";
import { insertKey, randomHex64 } from "../../../tests/helpers/fixtures.ts";
import { testEachDatabase } from "../../../tests/helpers/db.ts";
import { UniqueViolationError } from "../db.ts";
import { KeysRepo } from "./keys.ts";

testEachDatabase("KeysRepo stores, lists and finds keys", async (db) => {
  const keys = new KeysRepo(db);
  const alice = await insertKey(db, "alice");
  const bob = await insertKey(db, "bob");
  assert.deepEqual((await keys.list()).map((k) => k.name), ["alice", "bob"]);
  assert.equal((await keys.getByName("bob"))?.pubkey, bob.pubkey);
  assert.equal((await keys.getByPubkey(alice.pubkey))?.id, alice.id);
  assert.equal(await keys.getByName("carol"), undefined);
});

testEachDatabase("KeysRepo.create() rejects a duplicate name or pubkey", async (db) => {
  const keys = new KeysRepo(db);
  const alice = await insertKey(db, "alice");
  await assert.rejects(
    () =>
      keys.create({
        id: crypto.randomUUID(),
        name: "alice",
        pubkey: randomHex64(),
        secretSealed: "x",
      }),
    (error) => {
      assert.ok(error instanceof UniqueViolationError);
      assert.match(error.constraint ?? "", /name_key$/);
      return true;
    },
  );
  await assert.rejects(
    () =>
      keys.create({
        id: crypto.randomUUID(),
        name: "other",
        pubkey: alice.pubkey,
        secretSealed: "x",
      }),
    UniqueViolationError,
  );
});

testEachDatabase("keys table rejects a pubkey that is not lowercase hex", async (db) => {
  const keys = new KeysRepo(db);
  await assert.rejects(() =>
    keys.create({ id: crypto.randomUUID(), name: "x", pubkey: "A".repeat(64), secretSealed: "x" })
  );
  assert.deepEqual(await keys.list(), []);
});
