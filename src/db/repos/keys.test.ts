import { assertEquals, assertRejects } from "../../../tests/helpers/assert.ts";
import { insertKey, randomHex64 } from "../../../tests/helpers/fixtures.ts";
import { testEachDatabase } from "../../../tests/helpers/db.ts";
import { UniqueViolationError } from "../db.ts";
import { KeysRepo } from "./keys.ts";

testEachDatabase("KeysRepo stores, lists and finds keys", async (db) => {
  const keys = new KeysRepo(db);
  const alice = await insertKey(db, "alice");
  const bob = await insertKey(db, "bob");
  assertEquals((await keys.list()).map((k) => k.name), ["alice", "bob"]);
  assertEquals((await keys.getByName("bob"))?.pubkey, bob.pubkey);
  assertEquals((await keys.getByPubkey(alice.pubkey))?.id, alice.id);
  assertEquals(await keys.getByName("carol"), undefined);
});

testEachDatabase("KeysRepo.create() rejects a duplicate name or pubkey", async (db) => {
  const keys = new KeysRepo(db);
  const alice = await insertKey(db, "alice");
  const error = await assertRejects(
    () =>
      keys.create({
        id: crypto.randomUUID(),
        name: "alice",
        pubkey: randomHex64(),
        secretSealed: "x",
      }),
    UniqueViolationError,
  );
  assertEquals(error.constraint, "keys_name_key");
  await assertRejects(
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
  await assertRejects(() =>
    keys.create({ id: crypto.randomUUID(), name: "x", pubkey: "A".repeat(64), secretSealed: "x" })
  );
  assertEquals(await keys.list(), []);
});
