import assert from "node:assert/strict";
import { testEachDatabase } from "../../../tests/helpers/db.ts";
import { insertAuthorization, insertKey } from "../../../tests/helpers/fixtures.ts";
import { ForeignKeyViolationError, UniqueViolationError } from "../db.ts";
import { PoliciesRepo } from "./policies.ts";

testEachDatabase("PoliciesRepo creates, updates, lists and deletes by name", async (db) => {
  const policies = new PoliciesRepo(db);
  await policies.create({ id: crypto.randomUUID(), name: "notes", rules: { allow_kinds: [1] } });
  await policies.create({ id: crypto.randomUUID(), name: "dms", rules: { allow_kinds: [4, 14] } });
  assert.deepEqual((await policies.list()).map((p) => p.name), ["dms", "notes"]);
  assert.deepEqual((await policies.updateRules("notes", { allow_kinds: [1, 7] }))?.rules, {
    allow_kinds: [1, 7],
  });
  assert.deepEqual((await policies.getByName("notes"))?.rules, { allow_kinds: [1, 7] });
  assert.equal(await policies.updateRules("missing", {}), undefined);
  assert.equal(await policies.delete("dms"), true);
  assert.equal(await policies.delete("dms"), false);
  await assert.rejects(
    () => policies.create({ id: crypto.randomUUID(), name: "notes", rules: {} }),
    UniqueViolationError,
  );
});

testEachDatabase("PoliciesRepo.delete() refuses a policy still in use", async (db) => {
  const policies = new PoliciesRepo(db);
  const policy = await policies.create({ id: crypto.randomUUID(), name: "notes", rules: {} });
  const key = await insertKey(db, "alice");
  await insertAuthorization(db, key.id, { policyId: policy.id });
  await assert.rejects(() => policies.delete("notes"), ForeignKeyViolationError);
  assert.equal((await policies.getByName("notes"))?.id, policy.id);
});
