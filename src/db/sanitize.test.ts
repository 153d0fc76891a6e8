import assert from "node:assert/strict";
import { testEachDatabase } from "../../tests/helpers/db.ts";
import { insertAuthorization, insertKey } from "../../tests/helpers/fixtures.ts";
import { createRepos } from "./repos/repos.ts";
import { safeJsonStringify, sanitizeJson, sanitizeText } from "./sanitize.ts";

Deno.test("sanitizeText() drops NUL, replaces other controls and lone surrogates, keeps the rest", () => {
  assert.equal(sanitizeText("plain"), "plain");
  assert.equal(sanitizeText("x\u0000y"), "xy");
  assert.equal(
    sanitizeText("a\u0001b\u001bc\u007fd\u0085e\u009f"),
    "a\ufffdb\ufffdc\ufffdd\ufffde\ufffd",
  );
  assert.equal(sanitizeText("tab\tnew\nline\r"), "tab\tnew\nline\r");
  assert.equal(sanitizeText("lone \ud800 and \udc00 here"), "lone \ufffd and \ufffd here");
  assert.equal(sanitizeText("pair 😀 and é ok"), "pair 😀 and é ok");
  assert.equal(sanitizeText("\ud83d"), "\ufffd");
});

Deno.test("sanitizeJson() cleans every string of a document, keys included", () => {
  assert.deepEqual(sanitizeJson({ "na\u0000me": ["a\u0000", { b: "\udfff" }], n: 1, t: true }), {
    name: ["a", { b: "\ufffd" }],
    n: 1,
    t: true,
  });
  assert.ok(!safeJsonStringify({ a: "x\u0000" }).includes("\\u0000"));
});

testEachDatabase(
  "every text reaching the database is sanitized, plain columns and JSON",
  async (db) => {
    const repos = createRepos(db);
    const key = await insertKey(db, "alice");
    const auth = await insertAuthorization(db, key.id, { label: "my\u0000 app\u001b[31m \ud800" });
    await repos.clients.redeem({
      authorizationId: auth.id,
      clientPubkey: "c".repeat(64),
      requestedPerms: "sign_event\u0000:1",
      clientMetadata: { "na\u0000me": "evil\u0000\u0085app", url: "https://x\u0000" },
    });
    await repos.audit.insertMany([{
      at: new Date(),
      authorizationId: auth.id,
      clientPubkey: "c".repeat(64),
      method: "x\u0000",
      eventKind: null,
      eventId: null,
      decision: "deny",
      reason: "unsupported: x\u0000\ud800",
      latencyMs: 1,
    }]);
    assert.equal((await repos.authorizations.get(auth.id))?.label, "my app\ufffd[31m \ufffd");
    const [client] = await repos.clients.list(auth.id);
    assert.equal(client?.requestedPerms, "sign_event:1");
    assert.deepEqual(client?.clientMetadata, { name: "evil\ufffdapp", url: "https://x" });
    const [row] = await repos.audit.query({});
    assert.equal(row?.method, "x");
    assert.equal(row?.reason, "unsupported: x\ufffd");
  },
);
