import assert from "node:assert/strict";
import { TestApp } from "../../tests/helpers/app.ts";
import { testEachDatabase } from "../../tests/helpers/db.ts";

const URI = `nostrconnect://${"b".repeat(64)}?relay=${
  encodeURIComponent("ws://127.0.0.1:7777")
}&secret=abc`;

testEachDatabase("POST /api/connect validates before it pairs", async (db, t) => {
  await using app = await TestApp.create(db, { noListener: true });

  await t.step("400 naming uri for a malformed URI, without echoing its secret", async () => {
    const res = await app.json("POST", "/api/connect", {
      uri: `nostrconnect://xyz?relay=ws://a&secret=hunter2`,
      key: "alice",
    });
    assert.equal(res.status, 400);
    assert.match(res.body.error, /uri:/);
    assert.equal(JSON.stringify(res.body).includes("hunter2"), false);
  });

  await t.step("400 naming key when it is missing, and unknown fields", async () => {
    assert.match((await app.json("POST", "/api/connect", { uri: URI })).body.error, /key/);
    const extra = await app.json("POST", "/api/connect", { uri: URI, key: "a", perms: "all" });
    assert.equal(extra.status, 400);
  });

  await t.step("503 when no relay listener runs (nothing could answer the client)", async () => {
    const res = await app.json("POST", "/api/connect", { uri: URI, key: "alice" });
    assert.equal(res.status, 503);
    assert.equal((await app.repos.authorizations.list()).length, 0);
  });
});
