import assert from "node:assert/strict";
import { hexToBytes } from "@noble/hashes/utils.js";
import { decode as decodeNip19, nsecEncode } from "nostr-tools/nip19";
import { encrypt as nip49Encrypt } from "nostr-tools/nip49";
import { generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { TestApp } from "../../tests/helpers/app.ts";
import { testEachDatabase } from "../../tests/helpers/db.ts";
import { encodeHex } from "../util/hex.ts";

const KEY_FIELDS = ["created_at", "id", "name", "npub", "pubkey"];

testEachDatabase(
  "POST /api/keys generates, seals and lists a key without secrets",
  async (db, t) => {
    await using app = await TestApp.create(db);

    await t.step("201 with id, name, pubkey, npub, created_at only", async () => {
      const res = await app.json("POST", "/api/keys", { name: "alice" });
      assert.equal(res.status, 201);
      assert.deepEqual(Object.keys(res.body).sort(), KEY_FIELDS);
      assert.equal(res.body.name, "alice");
      assert.deepEqual(decodeNip19(res.body.npub).data, res.body.pubkey);
      const stored = await app.repos.keys.getByName("alice");
      const secretKey = await app.vault.open(stored!.secretSealed, stored!.pubkey);
      assert.deepEqual(getPublicKey(secretKey), res.body.pubkey);
    });

    await t.step("GET /api/keys lists it", async () => {
      const res = await app.json("GET", "/api/keys");
      assert.equal(res.status, 200);
      assert.equal(res.body.keys.length, 1);
      assert.deepEqual(Object.keys(res.body.keys[0]).sort(), KEY_FIELDS);
      assert.doesNotMatch(JSON.stringify(res.body), /v1\./);
    });

    await t.step("409 for a duplicate name", async () => {
      const res = await app.json("POST", "/api/keys", { name: "alice" });
      assert.equal(res.status, 409);
      assert.equal(res.body.field, "name");
    });

    await t.step("400 naming the field for bad names and unknown fields", async () => {
      for (const name of ["", "a b", "x".repeat(65), "..", "ä", 7, null]) {
        const res = await app.json("POST", "/api/keys", { name });
        assert.equal(res.status, 400, `name ${JSON.stringify(name)}`);
        assert.equal(res.body.field, "name");
      }
      const missing = await app.json("POST", "/api/keys", {});
      assert.deepEqual([missing.status, missing.body.error], [400, "name: is required"]);
      const extra = await app.json("POST", "/api/keys", { name: "bob", secret: "x" });
      assert.deepEqual([extra.status, extra.body.field], [400, "secret"]);
      assert.equal((await app.json("GET", "/api/keys")).body.keys.length, 1);
    });

    await t.step("400 for bodies that are not a JSON object", async () => {
      for (const body of ["", "{oops", "[1]", "null", '"text"']) {
        const res = await app.json("POST", "/api/keys", body);
        assert.equal(res.status, 400, `body ${JSON.stringify(body)}`);
      }
      const res = await app.json("POST", "/api/keys", '{"name": nsec1abcdefgh}');
      assert.match(res.body.error, /Cannot parse request body as JSON/);
      assert.doesNotMatch(res.body.error, /nsec1/);
    });
  },
);

testEachDatabase("POST /api/keys/import accepts nsec, hex and ncryptsec", async (db, t) => {
  await using app = await TestApp.create(db);
  const secretKey = generateSecretKey();
  const pubkey = getPublicKey(secretKey);

  await t.step("nsec", async () => {
    const nsec = nsecEncode(secretKey);
    const res = await app.json("POST", "/api/keys/import", { name: "from-nsec", secret: nsec });
    assert.equal(res.status, 201);
    assert.deepEqual(res.body.pubkey, pubkey);
    assert.deepEqual(Object.keys(res.body).sort(), KEY_FIELDS);
    const stored = await app.repos.keys.getByName("from-nsec");
    assert.deepEqual(await app.vault.open(stored!.secretSealed, pubkey), secretKey);
  });

  await t.step("the same key again is 409 naming the existing key", async () => {
    const res = await app.json("POST", "/api/keys/import", {
      name: "again",
      secret: encodeHex(secretKey),
    });
    assert.equal(res.status, 409);
    assert.match(res.body.error, /"from-nsec"/);
  });

  await t.step("hex and ncryptsec with password", async () => {
    const other = generateSecretKey();
    const hex = await app.json("POST", "/api/keys/import", {
      name: "from-hex",
      secret: encodeHex(other),
    });
    assert.deepEqual([hex.status, hex.body.pubkey], [201, getPublicKey(other)]);
    const third = generateSecretKey();
    const ncryptsec = nip49Encrypt(third, "correct horse", 4);
    const res = await app.json("POST", "/api/keys/import", {
      name: "from-ncryptsec",
      secret: ncryptsec,
      password: "correct horse",
    });
    assert.deepEqual([res.status, res.body.pubkey], [201, getPublicKey(third)]);
  });

  await t.step("ncryptsec without or with a wrong password", async () => {
    const ncryptsec = nip49Encrypt(generateSecretKey(), "pw", 4);
    const missing = await app.json("POST", "/api/keys/import", { name: "n", secret: ncryptsec });
    assert.deepEqual([missing.status, missing.body.field], [400, "password"]);
    const wrong = await app.json("POST", "/api/keys/import", {
      name: "n",
      secret: ncryptsec,
      password: "not-it",
    });
    assert.deepEqual([wrong.status, wrong.body.field], [400, "secret"]);
    assert.doesNotMatch(JSON.stringify(wrong.body), /not-it/);
  });

  await t.step("garbage, empty or non-string secrets are 400 without echoing them", async () => {
    const garbage = "nsec1thisisnotavalidkeyatall";
    const res = await app.json("POST", "/api/keys/import", { name: "g", secret: garbage });
    assert.deepEqual([res.status, res.body.field], [400, "secret"]);
    assert.ok(!JSON.stringify(res.body).includes(garbage));
    const zero = await app.json("POST", "/api/keys/import", {
      name: "g",
      secret: encodeHex(hexToBytes("00".repeat(32))),
    });
    assert.equal(zero.status, 400);
    for (const secret of [undefined, "", 42]) {
      const bad = await app.json("POST", "/api/keys/import", { name: "g", secret });
      assert.deepEqual([bad.status, bad.body.field], [400, "secret"]);
    }
    assert.equal(await app.repos.keys.getByName("g"), undefined);
  });
});
