import assert from "node:assert/strict";
import { BUILTIN_POLICIES } from "../policy/document.ts";
import { testEachDatabase } from "../../tests/helpers/db.ts";
import { createAuthorization, revokeAuthorization } from "./authorizations.ts";
import { serviceError, ServiceHarness } from "./testing.ts";
import { generateKey } from "./keys.ts";
import {
  checkPolicyRules,
  createPolicy,
  deletePolicy,
  getPolicy,
  listPolicies,
  policyForUse,
  syncBuiltinPolicies,
  updatePolicy,
} from "./policies.ts";

const BUILTIN_NAMES = Object.keys(BUILTIN_POLICIES);

/** Creates an authorization of key `key` under `policy` on the default relays; returns its id. */
async function grant(h: ServiceHarness, key: string, policy: string | null): Promise<string> {
  const created = await createAuthorization(h.deps, {
    key,
    relays: [],
    policy,
    maxUses: null,
    expiresIn: null,
    label: null,
  });
  return created.record.id;
}

testEachDatabase(
  "listPolicies() lists the built-ins first, then the stored policies by name",
  async (db) => {
    using h = await ServiceHarness.create(db);
    assert.deepEqual(
      (await listPolicies(h.deps)).map((p) => [p.builtin, p.builtin ? p.name : p.record.name]),
      BUILTIN_NAMES.map((name) => [true, name]),
    );
    const notes = await createPolicy(h.deps, { name: "notes", rules: { kinds: [1] } });
    await createPolicy(h.deps, { name: "dms", rules: { kinds: [4, 14] } });
    // A built-in stored on first use is still listed once, as the built-in.
    await policyForUse(h.deps, "social");

    const listed = await listPolicies(h.deps);
    assert.deepEqual(
      listed.map((p) => [p.builtin, p.builtin ? p.name : p.record.name]),
      [...BUILTIN_NAMES.map((name) => [true, name]), [false, "dms"], [false, "notes"]],
    );
    for (const policy of listed) {
      if (policy.builtin) {
        assert.deepEqual(
          policy.rules,
          BUILTIN_POLICIES[policy.name as keyof typeof BUILTIN_POLICIES],
        );
      }
    }
    assert.equal(notes.name, "notes");
    assert.deepEqual(notes.rules, { kinds: [1] });
  },
);

testEachDatabase("getPolicy() returns a built-in, a stored policy, or not_found", async (db) => {
  using h = await ServiceHarness.create(db);
  const notes = await createPolicy(h.deps, { name: "notes", rules: { kinds: [1] } });
  assert.deepEqual(await getPolicy(h.deps, "read-only"), {
    builtin: true,
    name: "read-only",
    rules: BUILTIN_POLICIES["read-only"],
  });
  assert.deepEqual(await getPolicy(h.deps, "notes"), { builtin: false, record: notes });
  const error = await serviceError(getPolicy(h.deps, "missing"), "not_found");
  assert.match(error.message, /"missing"/);
});

Deno.test("checkPolicyRules() returns a valid document unchanged", () => {
  const doc = { methods: ["sign_event"], kinds: [1, [30000, 39999]] };
  assert.equal(checkPolicyRules(doc), doc);
  assert.deepEqual(checkPolicyRules({}), {});
});

Deno.test("checkPolicyRules() lists every problem of a bad document on field rules", async () => {
  const check = (doc: unknown) => Promise.resolve().then(() => checkPolicyRules(doc));

  const bad = await serviceError(check({ kinds: "x", typo: 1 }), "invalid", "rules");
  assert.equal(bad.problems?.length, 2);
  assert.ok(bad.problems?.some((p) => /^rules\.typo: unknown field/.test(p)), bad.message);
  assert.ok(bad.problems?.some((p) => /^rules\.kinds: /.test(p)), bad.message);
  assert.equal(bad.message, `rules: ${bad.problems?.join("; ")}`);

  for (const doc of [[1], "text", 7, null]) {
    const error = await serviceError(check(doc), "invalid", "rules");
    assert.deepEqual(error.problems, ["the policy document must be a JSON object"]);
  }
  const missing = await serviceError(check(undefined), "invalid", "rules");
  assert.equal(missing.message, "rules: is required");
});

testEachDatabase("createPolicy() refuses a name that exists on field name", async (db) => {
  using h = await ServiceHarness.create(db);
  const notes = await createPolicy(h.deps, { name: "notes", rules: { kinds: [1] } });
  const error = await serviceError(
    createPolicy(h.deps, { name: "notes", rules: {} }),
    "conflict",
    "name",
  );
  assert.match(error.message, /"notes".*already exists/);
  assert.deepEqual(await getPolicy(h.deps, "notes"), { builtin: false, record: notes });
});

testEachDatabase("built-in policies cannot be created, changed or deleted", async (db) => {
  using h = await ServiceHarness.create(db);
  for (const name of BUILTIN_NAMES) {
    await serviceError(createPolicy(h.deps, { name, rules: {} }), "conflict", "name");
    await serviceError(updatePolicy(h.deps, { name, rules: {} }), "conflict", "name");
    await serviceError(deletePolicy(h.deps, name), "conflict", "name");
  }
  assert.deepEqual(await h.repos.policies.list(), []);

  // Stored on first use, the row is still the built-in's.
  const social = await policyForUse(h.deps, "social");
  await serviceError(updatePolicy(h.deps, { name: "social", rules: {} }), "conflict", "name");
  await serviceError(deletePolicy(h.deps, "social"), "conflict", "name");
  assert.deepEqual(await h.repos.policies.getByName("social"), social);
  assert.equal(h.pending, 0);
});

testEachDatabase(
  "updatePolicy() re-sends each live authorization using it, after the write, and counts them",
  async (db) => {
    using h = await ServiceHarness.create(db);
    await generateKey(h.deps, "alice");
    await createPolicy(h.deps, { name: "notes", rules: { kinds: [1] } });
    await createPolicy(h.deps, { name: "other", rules: {} });
    const first = await grant(h, "alice", "notes");
    const second = await grant(h, "alice", "notes");
    const revoked = await grant(h, "alice", "notes");
    await revokeAuthorization(h.deps, revoked);
    await grant(h, "alice", "other");
    await grant(h, "alice", null);
    await h.takeCommands();
    h.journal.length = 0;

    const rules = { kinds: [1, 7], methods: ["sign_event"] };
    const updated = await updatePolicy(h.deps, { name: "notes", rules });
    assert.equal(updated.updatedAuthorizations, 2);
    assert.deepEqual(updated.record.rules, rules);
    assert.deepEqual(h.journal, ["db:policies.updateRules", "send:upsert", "send:upsert"]);

    const commands = await h.takeCommands();
    assert.deepEqual(
      commands.map((c) => c.type === "upsert" && c.authorization.id).sort(),
      [first, second].sort(),
    );
    for (const command of commands) {
      assert.equal(command.type, "upsert");
      if (command.type !== "upsert") continue;
      // The listener gets the rules as written, not the ones they replaced.
      assert.equal(command.authorization.policyName, "notes");
      assert.deepEqual(command.authorization.policy, rules);
    }
    assert.deepEqual((await h.repos.policies.getByName("notes"))?.rules, rules);
    assert.deepEqual(
      h.logs.filter((r) => r.msg === "Policy updated").map((r) => r.liveAuthorizations),
      [2],
    );
  },
);

testEachDatabase("updatePolicy() and deletePolicy() report an unknown policy", async (db) => {
  using h = await ServiceHarness.create(db);
  await serviceError(updatePolicy(h.deps, { name: "missing", rules: {} }), "not_found");
  await serviceError(deletePolicy(h.deps, "missing"), "not_found");
  assert.equal(h.pending, 0);
});

testEachDatabase(
  "deletePolicy() refuses a policy a live authorization uses, and changes nothing",
  async (db) => {
    using h = await ServiceHarness.create(db);
    await generateKey(h.deps, "alice");
    await createPolicy(h.deps, { name: "notes", rules: { kinds: [1] } });
    await createPolicy(h.deps, { name: "unused", rules: {} });
    const live = await grant(h, "alice", "notes");
    const revoked = await grant(h, "alice", "notes");
    await revokeAuthorization(h.deps, revoked);
    await h.takeCommands();

    const error = await serviceError(deletePolicy(h.deps, "notes"), "conflict");
    assert.match(error.message, /"notes": authorizations that are not revoked still use it/);
    assert.equal((await getPolicy(h.deps, "notes")).builtin, false);
    // Refused as a whole: the revoked authorization keeps its policy too.
    assert.equal((await h.repos.authorizations.get(live))?.policyName, "notes");
    assert.equal((await h.repos.authorizations.get(revoked))?.policyName, "notes");
    assert.equal(h.pending, 0);

    await deletePolicy(h.deps, "unused");
    await serviceError(getPolicy(h.deps, "unused"), "not_found");
  },
);

testEachDatabase(
  "deletePolicy() deletes a policy only revoked authorizations use, which then show no policy",
  async (db) => {
    using h = await ServiceHarness.create(db);
    await generateKey(h.deps, "alice");
    await createPolicy(h.deps, { name: "notes", rules: { kinds: [1] } });
    await createPolicy(h.deps, { name: "other", rules: {} });
    const first = await grant(h, "alice", "notes");
    const second = await grant(h, "alice", "notes");
    const bystander = await grant(h, "alice", "other");
    await revokeAuthorization(h.deps, first);
    await revokeAuthorization(h.deps, second);
    await revokeAuthorization(h.deps, bystander);
    await h.takeCommands();

    await deletePolicy(h.deps, "notes");
    await serviceError(getPolicy(h.deps, "notes"), "not_found");
    const listed = await h.repos.authorizations.list({ includeRevoked: true });
    assert.deepEqual(
      listed.map((a) => [a.id, a.policyName, a.revokedAt !== null]).sort(),
      [[first, null, true], [second, null, true], [bystander, "other", true]].sort(),
    );
    // Nothing live changed, so the listener is told nothing.
    assert.equal(h.pending, 0);
    // The name is free again.
    await createPolicy(h.deps, { name: "notes", rules: {} });
  },
);

testEachDatabase("policyForUse() stores a built-in once, on first use", async (db) => {
  using h = await ServiceHarness.create(db);
  const first = await policyForUse(h.deps, "social");
  assert.equal(first.name, "social");
  assert.deepEqual(first.rules, BUILTIN_POLICIES.social);
  assert.deepEqual(h.journal, ["db:policies.create"]);

  // Unchanged (whatever order the database keeps the keys in): no write, same row.
  const again = await policyForUse(h.deps, "social");
  assert.equal(again.id, first.id);
  assert.deepEqual(h.journal, ["db:policies.create"]);
  assert.equal(h.pending, 0);
});

testEachDatabase(
  "policyForUse() returns a stored policy and not_found for an unknown one",
  async (db) => {
    using h = await ServiceHarness.create(db);
    const notes = await createPolicy(h.deps, { name: "notes", rules: { kinds: [1] } });
    assert.deepEqual(await policyForUse(h.deps, "notes"), notes);
    const error = await serviceError(policyForUse(h.deps, "missing"), "not_found", "policy");
    assert.match(error.message, /^policy: no policy named "missing"/);
  },
);

testEachDatabase(
  "policyForUse() refreshes a drifted built-in row and re-sends the authorizations using it",
  async (db) => {
    using h = await ServiceHarness.create(db);
    await generateKey(h.deps, "alice");
    const id = await grant(h, "alice", "social");
    const stored = await h.repos.policies.getByName("social");
    assert.ok(stored);
    // An older keycast stored different rules under the built-in's name.
    await h.repos.policies.updateRules("social", { methods: ["sign_event"], kinds: [1] });
    await h.takeCommands();
    h.journal.length = 0;

    const refreshed = await policyForUse(h.deps, "social");
    assert.equal(refreshed.id, stored.id);
    assert.deepEqual(refreshed.rules, BUILTIN_POLICIES.social);
    assert.deepEqual(h.journal, ["db:policies.updateRules", "send:upsert"]);
    const [command, ...rest] = await h.takeCommands();
    assert.deepEqual(rest, []);
    assert.ok(command?.type === "upsert");
    assert.equal(command.authorization.id, id);
    assert.deepEqual(command.authorization.policy, BUILTIN_POLICIES.social);
  },
);

testEachDatabase(
  "syncBuiltinPolicies() refreshes only the stored built-ins that drifted",
  async (db) => {
    using h = await ServiceHarness.create(db);
    assert.deepEqual(await syncBuiltinPolicies(h.deps), []);
    await generateKey(h.deps, "alice");
    const id = await grant(h, "alice", "full");
    await policyForUse(h.deps, "social");
    await h.repos.policies.updateRules("full", { methods: ["ping"] });
    await h.takeCommands();

    assert.deepEqual(await syncBuiltinPolicies(h.deps), ["full"]);
    assert.deepEqual((await h.repos.policies.getByName("full"))?.rules, BUILTIN_POLICIES.full);
    assert.deepEqual((await h.repos.policies.getByName("social"))?.rules, BUILTIN_POLICIES.social);
    // Never stored, so nothing to refresh.
    assert.equal(await h.repos.policies.getByName("read-only"), undefined);
    assert.deepEqual(
      (await h.takeCommands()).map((c) => c.type === "upsert" && c.authorization.id),
      [id],
    );

    assert.deepEqual(await syncBuiltinPolicies(h.deps), []);
    assert.equal(h.pending, 0);
  },
);
