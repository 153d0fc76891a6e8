import assert from "node:assert/strict";
import { testEachDatabase } from "../../../tests/helpers/db.ts";
import { createRepos } from "./repos.ts";

const ID = "a".repeat(64);

testEachDatabase("Nip98ReplaysRepo.remember() is fresh once, then replay", async (db) => {
  const repos = createRepos(db);
  assert.equal(await repos.nip98Replays.remember(ID, 2_000_000_000_000), "fresh");
  assert.equal(await repos.nip98Replays.remember(ID, 2_000_000_000_000), "replay");
  assert.equal(await repos.nip98Replays.remember("b".repeat(64), 2_000_000_000_000), "fresh");
});

testEachDatabase("Nip98ReplaysRepo.remember() lets two racing requests win once", async (db) => {
  const repos = createRepos(db);
  const results = await Promise.all(
    Array.from({ length: 8 }, () => repos.nip98Replays.remember(ID, 2_000_000_000_000)),
  );
  assert.deepEqual(results.filter((r) => r === "fresh").length, 1);
});

testEachDatabase("Nip98ReplaysRepo.pruneExpired() deletes only expired ids", async (db) => {
  let now = 1_000_000;
  const repos = createRepos(db, { now: () => now });
  await repos.nip98Replays.remember(ID, 1_500_000);
  await repos.nip98Replays.remember("b".repeat(64), 3_000_000);
  assert.equal(await repos.nip98Replays.pruneExpired(), 0);
  now = 2_000_000;
  assert.equal(await repos.nip98Replays.pruneExpired(), 1);
  assert.equal(await repos.nip98Replays.remember(ID, 4_000_000), "fresh");
  assert.equal(await repos.nip98Replays.remember("b".repeat(64), 4_000_000), "replay");
});
