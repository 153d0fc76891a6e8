import assert from "node:assert/strict";
import { base64 } from "@scure/base";
import { generateSecretKey } from "nostr-tools/pure";
import { TestApp } from "../../tests/helpers/app.ts";
import { testEachDatabase } from "../../tests/helpers/db.ts";
import { constantTimeEqual } from "./auth.ts";

Deno.test("constantTimeEqual() compares bytes and lengths", () => {
  assert.equal(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), true);
  assert.equal(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3)), false);
  assert.equal(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3)), false);
});

testEachDatabase("admin auth rejects requests without valid bearer credentials", async (db, t) => {
  await using app = await TestApp.create(db);
  /** Expects a 401 with a challenge and `reason`; returns the serialized body. */
  const expect401 = async (headers: Record<string, string>, reason: string): Promise<string> => {
    const res = await app.json("GET", "/api/keys", undefined, headers);
    assert.equal(res.status, 401);
    assert.ok(res.body.error.includes(reason), res.body.error);
    assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="keycast", Nostr');
    return JSON.stringify(res.body);
  };

  await t.step("missing header", async () => {
    await expect401({}, "Missing Authorization header");
  });
  await t.step("blank header", async () => {
    await expect401({ authorization: "  " }, "Missing");
  });
  await t.step("wrong scheme (not echoed)", async () => {
    const body = await expect401(
      { authorization: `Basic ${btoa("admin:hunter2")}` },
      "Unsupported Authorization scheme",
    );
    assert.doesNotMatch(body, /Basic/);
  });
  await t.step("a bare token without scheme", async () => {
    const body = await expect401({ authorization: app.token }, "Malformed Authorization header");
    assert.ok(!body.includes(app.token));
  });
  await t.step("wrong token (not echoed)", async () => {
    const wrong = `${app.token.slice(0, -1)}${app.token.endsWith("A") ? "B" : "A"}`;
    const body = await expect401({ authorization: `Bearer ${wrong}` }, "Admin token rejected");
    assert.ok(!body.includes(wrong));
  });
  await t.step("oversized header", async () => {
    await expect401({ authorization: `Bearer ${"a".repeat(9_000)}` }, "the limit is 8300");
  });
  await t.step("over-long token", async () => {
    await expect401({ authorization: `Bearer ${"a".repeat(2_000)}` }, "Admin token rejected");
  });
  await t.step("unknown /api routes need auth before they 404", async () => {
    const res = await app.json("GET", "/api/nothing-here", undefined, {});
    assert.equal(res.status, 401);
  });
  await t.step("the right token, with any scheme case, passes", async () => {
    assert.equal((await app.json("GET", "/api/keys")).status, 200);
    const res = await app.json("GET", "/api/keys", undefined, {
      authorization: `bearer ${app.token}`,
    });
    assert.equal(res.status, 200);
  });
  await t.step("health needs no auth", async () => {
    assert.equal((await app.json("GET", "/health", undefined, {})).status, 200);
  });
});

testEachDatabase("admin auth accepts NIP-98 and rejects every bad event", async (db, t) => {
  await using app = await TestApp.create(db);
  const nowSec = Math.floor(app.now() / 1000);
  const get = (authorization: string) => app.json("GET", "/api/keys", undefined, { authorization });
  const expect = async (authorization: string, status: number, reason: string) => {
    const res = await get(authorization);
    assert.deepEqual(res.status, status, JSON.stringify(res.body));
    assert.ok(res.body.error.includes(reason), res.body.error);
  };

  await t.step("a valid GET event passes", async () => {
    assert.equal((await get(app.nip98("GET", "/api/keys"))).status, 200);
  });
  await t.step("a valid POST event with the payload hash passes", async () => {
    const body = JSON.stringify({ name: "nip98-key" });
    const res = await app.json("POST", "/api/keys", body, {
      authorization: app.nip98("POST", "/api/keys", body),
    });
    assert.equal(res.status, 201);
  });
  await t.step("malformed base64", () => expect("Nostr %%%%", 401, "not valid base64"));
  await t.step("malformed JSON", () => expect(`Nostr ${btoa("{nope")}`, 401, "decode to JSON"));
  await t.step(
    "wrong kind",
    () => expect(app.nip98("GET", "/api/keys", undefined, { kind: 1 }), 401, "expected 27235"),
  );
  await t.step("bad signature", async () => {
    const event = JSON.parse(atob(app.nip98("GET", "/api/keys").slice(6)));
    event.sig = "1".repeat(128);
    const forged = `Nostr ${base64.encode(new TextEncoder().encode(JSON.stringify(event)))}`;
    await expect(forged, 401, "signature is invalid");
  });
  await t.step("unknown pubkey is 403", () =>
    expect(
      app.nip98("GET", "/api/keys", undefined, { secretKey: generateSecretKey() }),
      403,
      "is not an admin",
    ));
  await t.step(
    "wrong u",
    () => expect(app.nip98("GET", "/api/policies"), 401, "does not name this server"),
  );
  await t.step(
    "wrong method",
    () => expect(app.nip98("DELETE", "/api/keys"), 401, "does not match the request method"),
  );
  await t.step(
    "stale created_at",
    () =>
      expect(app.nip98("GET", "/api/keys", undefined, { createdAt: nowSec - 120 }), 401, "behind"),
  );
  await t.step(
    "future created_at",
    () =>
      expect(app.nip98("GET", "/api/keys", undefined, { createdAt: nowSec + 120 }), 401, "ahead"),
  );
  await t.step("missing payload hash for a body", async () => {
    const body = JSON.stringify({ name: "no-payload" });
    const res = await app.json("POST", "/api/keys", body, {
      authorization: app.nip98("POST", "/api/keys"),
    });
    assert.equal(res.status, 401);
    assert.match(res.body.error, /payload tag/);
    assert.equal(await app.repos.keys.getByName("no-payload"), undefined);
  });
  await t.step("payload hash of another body", async () => {
    const res = await app.json("POST", "/api/keys", { name: "swapped" }, {
      authorization: app.nip98("POST", "/api/keys", JSON.stringify({ name: "other" })),
    });
    assert.equal(res.status, 401);
    assert.match(res.body.error, /payload tag does not match/);
  });
  await t.step(
    "an event signed for another host is refused whatever Host header comes with it",
    async () => {
      const forged = app.nip98("GET", "http://evil.example/api/keys");
      const res = await app.app.request("http://evil.example/api/keys", {
        headers: { authorization: forged, host: "evil.example" },
      });
      assert.equal(res.status, 401);
      assert.match((await res.json()).error, /does not name this server/);
    },
  );
  await t.step("replay", async () => {
    const header = app.nip98("GET", "/api/authorizations");
    const first = await app.json("GET", "/api/authorizations", undefined, {
      authorization: header,
    });
    assert.equal(first.status, 200);
    const second = await app.json("GET", "/api/authorizations", undefined, {
      authorization: header,
    });
    assert.equal(second.status, 401);
    assert.match(second.body.error, /already used/);
  });
});

testEachDatabase(
  "a used NIP-98 event stays used for a new server on the same database",
  async (db) => {
    await using first = await TestApp.create(db);
    await using second = await TestApp.create(db, {
      adminSecretKey: first.adminSecretKey,
      token: first.token,
    });
    const header = first.nip98("GET", "/api/keys");
    assert.equal(
      (await first.json("GET", "/api/keys", undefined, { authorization: header })).status,
      200,
    );
    const again = await second.json("GET", "/api/keys", undefined, { authorization: header });
    assert.equal(again.status, 401);
    assert.match(again.body.error, /already used/);
  },
);

testEachDatabase("an unauthenticated request is refused before its body is read", async (db) => {
  await using app = await TestApp.create(db);
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new Uint8Array(1024));
    },
  });
  const res = await app.app.request("/api/keys", { method: "POST", body });
  await res.body?.cancel();
  assert.equal(res.status, 401);
  assert.ok(pulled <= 1, `the body was read (${pulled} chunks pulled)`);
  await body.cancel().catch(() => {});
});
