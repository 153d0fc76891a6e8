import assert from "node:assert/strict";
import { getPublicKey } from "nostr-tools/pure";
import { npubEncode } from "nostr-tools/nip19";
import { TestApp } from "../../tests/helpers/app.ts";
import { testEachDatabase } from "../../tests/helpers/db.ts";
import type { LogRecord } from "../log.ts";
import { sha256Hex } from "../util/hex.ts";

const CREATED_FIELDS = [
  "bunker_pubkey",
  "bunker_url",
  "created_at",
  "expires_at",
  "id",
  "key_name",
  "label",
  "max_uses",
  "policy",
  "relays",
  "subscribed",
  "user_pubkey",
];

testEachDatabase(
  "POST /api/authorizations stores, then announces, then returns the URL once",
  async (db, t) => {
    const logs: LogRecord[] = [];
    await using app = await TestApp.create(db, {
      defaultRelays: ["wss://relay.example.com", "ws://127.0.0.1:7777/path?x=1"],
      log: (record) => logs.push(record),
    });
    const key = await app.json("POST", "/api/keys", { name: "alice" });
    await app.takeCommands();
    app.journal.length = 0;

    const res = await app.json("POST", "/api/authorizations", { key: "alice", label: "phone" });
    const { body } = res;

    await t.step("201 with the documented fields and defaults", () => {
      assert.equal(res.status, 201);
      assert.deepEqual(Object.keys(body).sort(), CREATED_FIELDS);
      assert.equal(body.key_name, "alice");
      assert.deepEqual(body.user_pubkey, key.body.pubkey);
      assert.deepEqual(body.relays, ["wss://relay.example.com", "ws://127.0.0.1:7777/path?x=1"]);
      assert.deepEqual([body.policy, body.max_uses, body.expires_at], [null, 1, null]);
      assert.deepEqual([body.label, body.subscribed], ["phone", true]);
    });

    const secret = /[?&]secret=([0-9a-f]+)$/.exec(body.bunker_url)?.[1] ?? "";

    await t.step(
      "the bunker URL has the bunker pubkey, every relay encoded and a 256-bit secret",
      () => {
        assert.deepEqual(
          body.bunker_url,
          `bunker://${body.bunker_pubkey}?relay=wss%3A%2F%2Frelay.example.com` +
            `&relay=ws%3A%2F%2F127.0.0.1%3A7777%2Fpath%3Fx%3D1&secret=${secret}`,
        );
        assert.ok(/^[0-9a-f]{64}$/.test(body.bunker_pubkey));
        assert.ok(/^[0-9a-f]{64}$/.test(secret));
        assert.ok(body.bunker_pubkey !== body.user_pubkey);
      },
    );

    await t.step(
      "only the secret's hash is stored; the bunker key is sealed to its pubkey",
      async () => {
        const [active] = await app.repos.authorizations.loadActive();
        assert.ok(active);
        assert.deepEqual(active.secretHash, await sha256Hex(secret));
        const bunkerSecretKey = await app.vault.open(active.bunkerSecretSealed, body.bunker_pubkey);
        assert.deepEqual(getPublicKey(bunkerSecretKey), body.bunker_pubkey);
        const rows = await app.db.kysely.selectFrom("authorizations").selectAll().execute();
        assert.ok(!JSON.stringify(rows).includes(secret));
      },
    );

    await t.step("the row is written before the upsert is sent", async () => {
      assert.deepEqual(app.journal, ["db:insert into authorizations", "send:upsert"]);
      const commands = await app.takeCommands();
      assert.equal(commands.length, 1);
      const [command] = commands;
      assert.ok(command?.type === "upsert");
      assert.deepEqual(
        command.authorization,
        await app.repos.authorizations.loadActiveById(body.id),
      );
    });

    await t.step("neither the secret nor the URL is logged", () => {
      const text = JSON.stringify(logs);
      assert.ok(!text.includes(secret));
      assert.doesNotMatch(text, /bunker:\/\//);
      assert.ok(logs.some((r) => r.msg === "Authorization created"));
    });
  },
);

testEachDatabase("POST /api/authorizations validates every field", async (db, t) => {
  const clock = { ms: Date.now() };
  await using app = await TestApp.create(db, { now: () => clock.ms });
  const key = await app.json("POST", "/api/keys", { name: "alice" });
  const create = (fields: Record<string, unknown>) =>
    app.json("POST", "/api/authorizations", { key: "alice", ...fields });
  const expect400 = async (fields: Record<string, unknown>, field: string) => {
    const res = await create(fields);
    assert.deepEqual([res.status, res.body.field], [400, field], JSON.stringify(fields));
  };

  await t.step("key by name, npub or hex pubkey; unknown → 404; missing → 400", async () => {
    for (const ref of ["alice", key.body.npub, key.body.pubkey, key.body.pubkey.toUpperCase()]) {
      assert.equal((await create({ key: ref })).status, 201, ref);
    }
    const unknown = await create({ key: npubEncode("ab".repeat(32)) });
    assert.deepEqual([unknown.status, unknown.body.field], [404, "key"]);
    assert.equal((await create({ key: "nobody" })).status, 404);
    await expect400({ key: undefined }, "key");
    await expect400({ key: 12 }, "key");
  });

  await t.step("relays", async () => {
    const res = await create({ relays: ["wss://a.example", "wss://a.example", "ws://b.example"] });
    assert.deepEqual(res.body.relays, ["wss://a.example", "ws://b.example"]);
    await expect400({ relays: ["wss://ok.example", "https://not-ws.example"] }, "relays[1]");
    await expect400({ relays: ["wss://user:pw@x.example"] }, "relays[0]");
    await expect400({ relays: "wss://a.example" }, "relays");
    await expect400({ relays: [7] }, "relays[0]");
    await expect400(
      { relays: Array.from({ length: 21 }, (_, i) => `wss://r${i}.example`) },
      "relays",
    );
  });

  await t.step("max_uses", async () => {
    assert.equal((await create({ max_uses: 5 })).body.max_uses, 5);
    assert.equal((await create({ max_uses: null })).body.max_uses, null);
    for (const maxUses of [0, -1, 1.5, "2", 1e9]) {
      await expect400({ max_uses: maxUses }, "max_uses");
    }
  });

  await t.step("expires_in", async () => {
    const cases: [unknown, number][] = [
      ["30d", 30 * 86_400],
      ["12h", 12 * 3600],
      ["45m", 45 * 60],
      ["3600s", 3600],
      ["90", 90],
      [3600, 3600],
      ["2w", 14 * 86_400],
    ];
    for (const [expiresIn, seconds] of cases) {
      const res = await create({ expires_in: expiresIn });
      assert.equal(res.status, 201, String(expiresIn));
      assert.deepEqual(
        Date.parse(res.body.expires_at),
        clock.ms + seconds * 1000,
        String(expiresIn),
      );
    }
    for (const bad of [0, -5, 1.5, "3y", "11000d", "soon", "", true, [1]]) {
      await expect400({ expires_in: bad }, "expires_in");
    }
  });

  await t.step("label, policy and unknown fields", async () => {
    assert.equal((await create({ label: "x".repeat(200) })).status, 201);
    await expect400({ label: "x".repeat(201) }, "label");
    await expect400({ label: "bell\u0007" }, "label");
    await expect400({ label: 5 }, "label");
    await expect400({ policy: "not a name" }, "policy");
    const missing = await create({ policy: "nope" });
    assert.deepEqual([missing.status, missing.body.field], [404, "policy"]);
    await expect400({ maxUses: 3 }, "maxUses");
  });

  await t.step("no command is sent for rejected requests", async () => {
    await app.takeCommands();
    await expect400({ expires_in: "never" }, "expires_in");
    assert.deepEqual(await app.takeCommands(), []);
  });
});

testEachDatabase(
  "POST /api/authorizations reports subscribed: false when the listener is late",
  async (db, t) => {
    let seenSignal: AbortSignal | undefined;
    let answer: (bunkerPubkey: string, signal: AbortSignal) => Promise<boolean> = () =>
      Promise.resolve(false);
    await using app = await TestApp.create(db, {
      subscribeTimeoutMs: 50,
      awaitSubscribed: (bunkerPubkey, signal) => answer(bunkerPubkey, signal),
    });
    await app.json("POST", "/api/keys", { name: "alice" });

    await t.step("answered false", async () => {
      const res = await app.json("POST", "/api/authorizations", { key: "alice" });
      assert.deepEqual([res.status, res.body.subscribed], [201, false]);
    });
    await t.step("never answers: times out and aborts the wait", async () => {
      answer = (_pk, signal) => {
        seenSignal = signal;
        return new Promise((_resolve, reject) => {
          signal.addEventListener("abort", () => reject(signal.reason), { once: true });
        });
      };
      const res = await app.json("POST", "/api/authorizations", { key: "alice" });
      assert.deepEqual([res.status, res.body.subscribed], [201, false]);
      assert.match(res.body.bunker_url, /bunker:\/\//);
      assert.equal(seenSignal?.aborted, true);
    });
    await t.step("throws", async () => {
      answer = () => Promise.reject(new Error("listener stopped"));
      const res = await app.json("POST", "/api/authorizations", { key: "alice" });
      assert.deepEqual([res.status, res.body.subscribed], [201, false]);
    });
    await t.step("is asked about the new bunker pubkey", async () => {
      const asked: string[] = [];
      answer = (bunkerPubkey) => {
        asked.push(bunkerPubkey);
        return Promise.resolve(true);
      };
      const res = await app.json("POST", "/api/authorizations", { key: "alice" });
      assert.equal(res.body.subscribed, true);
      assert.deepEqual(asked, [res.body.bunker_pubkey]);
    });
  },
);

testEachDatabase("POST /api/authorizations needs relays when the server has none", async (db) => {
  await using app = await TestApp.create(db, { defaultRelays: [] });
  await app.json("POST", "/api/keys", { name: "alice" });
  const res = await app.json("POST", "/api/authorizations", { key: "alice" });
  assert.deepEqual([res.status, res.body.field], [400, "relays"]);
  const ok = await app.json("POST", "/api/authorizations", {
    key: "alice",
    relays: ["ws://127.0.0.1:7777"],
  });
  assert.equal(ok.status, 201);
});
