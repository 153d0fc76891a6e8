import { getPublicKey } from "nostr-tools/pure";
import { npubEncode } from "nostr-tools/nip19";
import {
  assertEquals,
  assertNotIncludes,
  assertOk,
  assertStringIncludes,
} from "../../tests/helpers/assert.ts";
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
      assertEquals(res.status, 201);
      assertEquals(Object.keys(body).sort(), CREATED_FIELDS);
      assertEquals(body.key_name, "alice");
      assertEquals(body.user_pubkey, key.body.pubkey);
      assertEquals(body.relays, ["wss://relay.example.com", "ws://127.0.0.1:7777/path?x=1"]);
      assertEquals([body.policy, body.max_uses, body.expires_at], [null, 1, null]);
      assertEquals([body.label, body.subscribed], ["phone", true]);
    });

    const secret = /[?&]secret=([0-9a-f]+)$/.exec(body.bunker_url)?.[1] ?? "";

    await t.step(
      "the bunker URL has the bunker pubkey, every relay encoded and a 256-bit secret",
      () => {
        assertEquals(
          body.bunker_url,
          `bunker://${body.bunker_pubkey}?relay=wss%3A%2F%2Frelay.example.com` +
            `&relay=ws%3A%2F%2F127.0.0.1%3A7777%2Fpath%3Fx%3D1&secret=${secret}`,
        );
        assertOk(/^[0-9a-f]{64}$/.test(body.bunker_pubkey));
        assertOk(/^[0-9a-f]{64}$/.test(secret));
        assertOk(body.bunker_pubkey !== body.user_pubkey);
      },
    );

    await t.step(
      "only the secret's hash is stored; the bunker key is sealed to its pubkey",
      async () => {
        const [active] = await app.repos.authorizations.loadActive();
        assertOk(active);
        assertEquals(active.secretHash, await sha256Hex(secret));
        const bunkerSecretKey = await app.vault.open(active.bunkerSecretSealed, body.bunker_pubkey);
        assertEquals(getPublicKey(bunkerSecretKey), body.bunker_pubkey);
        const rows = await app.db.query("select * from authorizations");
        assertNotIncludes(JSON.stringify(rows), secret);
      },
    );

    await t.step("the row is written before the upsert is sent", async () => {
      assertEquals(app.journal, ["db:insert into authorizations", "send:upsert"]);
      const commands = await app.takeCommands();
      assertEquals(commands.length, 1);
      const [command] = commands;
      assertOk(command?.type === "upsert");
      assertEquals(command.authorization, await app.repos.authorizations.loadActiveById(body.id));
    });

    await t.step("neither the secret nor the URL is logged", () => {
      const text = JSON.stringify(logs);
      assertNotIncludes(text, secret);
      assertNotIncludes(text, "bunker://");
      assertOk(logs.some((r) => r.msg === "Authorization created"));
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
    assertEquals([res.status, res.body.field], [400, field], JSON.stringify(fields));
  };

  await t.step("key by name, npub or hex pubkey; unknown → 404; missing → 400", async () => {
    for (const ref of ["alice", key.body.npub, key.body.pubkey, key.body.pubkey.toUpperCase()]) {
      assertEquals((await create({ key: ref })).status, 201, ref);
    }
    const unknown = await create({ key: npubEncode("ab".repeat(32)) });
    assertEquals([unknown.status, unknown.body.field], [404, "key"]);
    assertEquals((await create({ key: "nobody" })).status, 404);
    await expect400({ key: undefined }, "key");
    await expect400({ key: 12 }, "key");
  });

  await t.step("relays", async () => {
    const res = await create({ relays: ["wss://a.example", "wss://a.example", "ws://b.example"] });
    assertEquals(res.body.relays, ["wss://a.example", "ws://b.example"]);
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
    assertEquals((await create({ max_uses: 5 })).body.max_uses, 5);
    assertEquals((await create({ max_uses: null })).body.max_uses, null);
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
      assertEquals(res.status, 201, String(expiresIn));
      assertEquals(Date.parse(res.body.expires_at), clock.ms + seconds * 1000, String(expiresIn));
    }
    for (const bad of [0, -5, 1.5, "3y", "11000d", "soon", "", true, [1]]) {
      await expect400({ expires_in: bad }, "expires_in");
    }
  });

  await t.step("label, policy and unknown fields", async () => {
    assertEquals((await create({ label: "x".repeat(200) })).status, 201);
    await expect400({ label: "x".repeat(201) }, "label");
    await expect400({ label: "bell\u0007" }, "label");
    await expect400({ label: 5 }, "label");
    await expect400({ policy: "not a name" }, "policy");
    const missing = await create({ policy: "nope" });
    assertEquals([missing.status, missing.body.field], [404, "policy"]);
    await expect400({ maxUses: 3 }, "maxUses");
  });

  await t.step("no command is sent for rejected requests", async () => {
    await app.takeCommands();
    await expect400({ expires_in: "never" }, "expires_in");
    assertEquals(await app.takeCommands(), []);
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
      assertEquals([res.status, res.body.subscribed], [201, false]);
    });
    await t.step("never answers: times out and aborts the wait", async () => {
      answer = (_pk, signal) => {
        seenSignal = signal;
        return new Promise((_resolve, reject) => {
          signal.addEventListener("abort", () => reject(signal.reason), { once: true });
        });
      };
      const res = await app.json("POST", "/api/authorizations", { key: "alice" });
      assertEquals([res.status, res.body.subscribed], [201, false]);
      assertStringIncludes(res.body.bunker_url, "bunker://");
      assertEquals(seenSignal?.aborted, true);
    });
    await t.step("throws", async () => {
      answer = () => Promise.reject(new Error("listener stopped"));
      const res = await app.json("POST", "/api/authorizations", { key: "alice" });
      assertEquals([res.status, res.body.subscribed], [201, false]);
    });
    await t.step("is asked about the new bunker pubkey", async () => {
      const asked: string[] = [];
      answer = (bunkerPubkey) => {
        asked.push(bunkerPubkey);
        return Promise.resolve(true);
      };
      const res = await app.json("POST", "/api/authorizations", { key: "alice" });
      assertEquals(res.body.subscribed, true);
      assertEquals(asked, [res.body.bunker_pubkey]);
    });
  },
);

testEachDatabase("POST /api/authorizations needs relays when the server has none", async (db) => {
  await using app = await TestApp.create(db, { defaultRelays: [] });
  await app.json("POST", "/api/keys", { name: "alice" });
  const res = await app.json("POST", "/api/authorizations", { key: "alice" });
  assertEquals([res.status, res.body.field], [400, "relays"]);
  const ok = await app.json("POST", "/api/authorizations", {
    key: "alice",
    relays: ["ws://127.0.0.1:7777"],
  });
  assertEquals(ok.status, 201);
});
