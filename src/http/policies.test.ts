import assert from "node:assert/strict";
import { TestApp } from "../../tests/helpers/app.ts";
import { testEachDatabase } from "../../tests/helpers/db.ts";
import {
  BUILTIN_POLICY_RULES,
  canonicalJson,
  type PolicyRules,
  syncBuiltinPolicies,
} from "../service/policies.ts";

/** A built-in to test with: the first real one, or a temporary one while the seam has none. */
function withBuiltin(): { name: string; rules: PolicyRules; [Symbol.dispose](): void } {
  const [name, rules] = Object.entries(BUILTIN_POLICY_RULES)[0] ?? [];
  if (name !== undefined && rules !== undefined) return { name, rules, [Symbol.dispose]() {} };
  const table = BUILTIN_POLICY_RULES as Record<string, PolicyRules>;
  const temporary = { name: "test-builtin", rules: { methods: ["sign_event"], kinds: [1] } };
  table[temporary.name] = temporary.rules;
  return { ...temporary, [Symbol.dispose]: () => delete table[temporary.name] };
}

testEachDatabase("policy routes create, read, update and delete policies", async (db, t) => {
  await using app = await TestApp.create(db);
  await app.json("POST", "/api/keys", { name: "alice" });

  await t.step("POST 201 and GET by name", async () => {
    const res = await app.json("POST", "/api/policies", { name: "notes", rules: { kinds: [1] } });
    assert.equal(res.status, 201);
    assert.equal(res.body.name, "notes");
    assert.deepEqual(res.body.rules, { kinds: [1] });
    assert.equal(res.body.builtin, false);
    assert.ok(res.body.created_at && res.body.updated_at);
    const got = await app.json("GET", "/api/policies/notes");
    assert.deepEqual([got.status, got.body.rules], [200, { kinds: [1] }]);
  });

  await t.step("GET /api/policies lists stored policies", async () => {
    const res = await app.json("GET", "/api/policies");
    assert.equal(res.status, 200);
    const notes = res.body.policies.find((p: { name: string }) => p.name === "notes");
    assert.equal(notes.builtin, false);
  });

  await t.step("409 for a duplicate, 400 with problems for bad rules or names", async () => {
    const dup = await app.json("POST", "/api/policies", { name: "notes", rules: {} });
    assert.equal(dup.status, 409);
    for (const rules of [undefined, [1], "all", null]) {
      const res = await app.json("POST", "/api/policies", { name: "bad", rules });
      assert.deepEqual([res.status, res.body.field], [400, "rules"], JSON.stringify(rules));
    }
    const withProblems = await app.json("POST", "/api/policies", { name: "bad", rules: [] });
    assert.ok(Array.isArray(withProblems.body.problems) && withProblems.body.problems.length > 0);
    const badName = await app.json("POST", "/api/policies", { name: "no spaces", rules: {} });
    assert.deepEqual([badName.status, badName.body.field], [400, "name"]);
  });

  await t.step("404 for unknown names, 400 for malformed ones in the path", async () => {
    assert.equal((await app.json("GET", "/api/policies/missing")).status, 404);
    assert.equal((await app.json("PUT", "/api/policies/missing", { rules: {} })).status, 404);
    assert.equal((await app.json("DELETE", "/api/policies/missing")).status, 404);
    assert.equal((await app.json("GET", "/api/policies/a%20b")).status, 400);
    assert.equal((await app.json("GET", `/api/policies/${"x".repeat(65)}`)).status, 400);
  });

  await t.step("PUT commits, then re-sends every live authorization using it", async () => {
    const first = await app.json("POST", "/api/authorizations", { key: "alice", policy: "notes" });
    const second = await app.json("POST", "/api/authorizations", { key: "alice", policy: "notes" });
    await app.json("POST", "/api/authorizations", { key: "alice" });
    await app.json("DELETE", `/api/authorizations/${second.body.id}`);
    await app.takeCommands();
    app.journal.length = 0;

    const res = await app.json("PUT", "/api/policies/notes", { rules: { kinds: [1, 7] } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.rules, { kinds: [1, 7] });
    assert.equal(res.body.updated_authorizations, 1);
    const commands = await app.takeCommands();
    assert.equal(commands.length, 1);
    const [command] = commands;
    assert.ok(command?.type === "upsert");
    assert.deepEqual(command.authorization.id, first.body.id);
    assert.deepEqual(command.authorization.policy, { kinds: [1, 7] });
    assert.deepEqual(app.journal, ["db:update policies", "send:upsert"]);
  });

  await t.step("PUT with bad rules or extra fields is 400 and changes nothing", async () => {
    const res = await app.json("PUT", "/api/policies/notes", { rules: "everything" });
    assert.deepEqual([res.status, res.body.field], [400, "rules"]);
    const extra = await app.json("PUT", "/api/policies/notes", { rules: {}, name: "x" });
    assert.deepEqual([extra.status, extra.body.field], [400, "name"]);
    assert.deepEqual((await app.json("GET", "/api/policies/notes")).body.rules, { kinds: [1, 7] });
    assert.deepEqual(await app.takeCommands(), []);
  });

  await t.step(
    "DELETE is 409 while a live authorization uses it, 204 when none does",
    async () => {
      const used = await app.json("DELETE", "/api/policies/notes");
      assert.equal(used.status, 409);
      assert.match(used.body.error, /still use it/);
      await app.json("POST", "/api/policies", { name: "unused", rules: {} });
      const res = await app.request("DELETE", "/api/policies/unused");
      assert.equal(res.status, 204);
      assert.equal(await res.text(), "");
      assert.equal((await app.json("GET", "/api/policies/unused")).status, 404);
    },
  );
});

testEachDatabase(
  "built-in policies are listed, read-only and stored when first used",
  async (db, t) => {
    using builtin = withBuiltin();
    await using app = await TestApp.create(db);
    await app.json("POST", "/api/keys", { name: "alice" });

    await t.step("listed and readable with builtin: true", async () => {
      const list = await app.json("GET", "/api/policies");
      const entry = list.body.policies.find((p: { name: string }) => p.name === builtin.name);
      assert.deepEqual(entry, {
        name: builtin.name,
        rules: builtin.rules,
        builtin: true,
        created_at: null,
        updated_at: null,
      });
      const one = await app.json("GET", `/api/policies/${builtin.name}`);
      assert.deepEqual([one.status, one.body.builtin], [200, true]);
    });

    await t.step("cannot be created, changed or deleted (409)", async () => {
      const rules = { kinds: [1] };
      assert.equal(
        (await app.json("POST", "/api/policies", { name: builtin.name, rules })).status,
        409,
      );
      assert.equal((await app.json("PUT", `/api/policies/${builtin.name}`, { rules })).status, 409);
      assert.equal((await app.json("DELETE", `/api/policies/${builtin.name}`)).status, 409);
    });

    await t.step(
      "the first authorization stores it once; the list still shows it once",
      async () => {
        const a = await app.json("POST", "/api/authorizations", {
          key: "alice",
          policy: builtin.name,
        });
        const b = await app.json("POST", "/api/authorizations", {
          key: "alice",
          policy: builtin.name,
        });
        assert.deepEqual([a.status, b.status, a.body.policy], [201, 201, builtin.name]);
        const row = await app.repos.policies.getByName(builtin.name);
        assert.deepEqual(canonicalJson(row?.rules), canonicalJson(builtin.rules));
        const list = await app.json("GET", "/api/policies");
        const named = list.body.policies.filter((p: { name: string }) => p.name === builtin.name);
        assert.equal(named.length, 1);
        const [command] = await app.takeCommands();
        assert.ok(command?.type === "upsert");
        assert.deepEqual(canonicalJson(command.authorization.policy), canonicalJson(builtin.rules));
      },
    );

    await t.step(
      "syncBuiltinPolicies() restores a drifted row and re-sends its users",
      async () => {
        await app.repos.policies.updateRules(builtin.name, { drifted: true });
        await app.takeCommands();
        assert.deepEqual(await syncBuiltinPolicies(app.services), [builtin.name]);
        const row = await app.repos.policies.getByName(builtin.name);
        assert.deepEqual(canonicalJson(row?.rules), canonicalJson(builtin.rules));
        const commands = await app.takeCommands();
        assert.deepEqual(commands.map((c) => c.type), ["upsert", "upsert"]);
        assert.deepEqual(await syncBuiltinPolicies(app.services), []);
      },
    );
  },
);

Deno.test("canonicalJson() ignores object key order at every depth", () => {
  assert.deepEqual(
    canonicalJson({ b: 1, a: { d: [2, { y: 1, x: 2 }], c: 3 } }),
    canonicalJson({ a: { c: 3, d: [2, { x: 2, y: 1 }] }, b: 1 }),
  );
  assert.ok(canonicalJson([1, 2]) !== canonicalJson([2, 1]));
});
