import assert from "node:assert/strict";
import { npubEncode, nsecEncode } from "nostr-tools/nip19";
import { encrypt as nip49Encrypt } from "nostr-tools/nip49";
import { generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { encodeHex } from "../util/hex.ts";
import { testEachDatabase } from "../../tests/helpers/db.ts";
import { serviceError, ServiceHarness } from "./testing.ts";
import { generateKey, importKey, listKeys, resolveKey } from "./keys.ts";

testEachDatabase(
  "generateKey() stores the key sealed and never puts the secret in the record or the log",
  async (db) => {
    using h = await ServiceHarness.create(db);
    const key = await generateKey(h.deps, "alice");
    assert.equal(key.name, "alice");
    assert.match(key.pubkey, /^[0-9a-f]{64}$/);
    assert.match(key.secretSealed, /^v1\.1\./);

    const secretKey = await h.vault.open(key.secretSealed, key.pubkey);
    assert.equal(getPublicKey(secretKey), key.pubkey);
    const secretHex = encodeHex(secretKey);
    assert.doesNotMatch(JSON.stringify(key), new RegExp(secretHex));
    assert.doesNotMatch(h.logText(), new RegExp(`${secretHex}|nsec1|${key.secretSealed}`));
    assert.deepEqual(h.logs.map((r) => [r.msg, r.keyName, r.userPubkey]), [
      ["Key stored", "alice", key.pubkey],
    ]);
    assert.deepEqual((await listKeys(h.deps)).map((k) => k.id), [key.id]);
    // Nothing reaches the listener for a key alone.
    assert.equal(h.pending, 0);
  },
);

testEachDatabase(
  "importKey() takes an nsec, 64 hex and an ncryptsec with its password",
  async (db) => {
    using h = await ServiceHarness.create(db);
    const secretKeys = [generateSecretKey(), generateSecretKey(), generateSecretKey()];
    const [fromNsec, fromHex, fromNcryptsec] = secretKeys as [Uint8Array, Uint8Array, Uint8Array];
    const inputs = [
      { name: "nsec", secret: nsecEncode(fromNsec) },
      { name: "hex", secret: encodeHex(fromHex).toUpperCase() },
      {
        name: "ncryptsec",
        secret: nip49Encrypt(fromNcryptsec, "correct horse", 4),
        password: "correct horse",
      },
    ];
    for (const [i, input] of inputs.entries()) {
      const key = await importKey(h.deps, input);
      const secretKey = secretKeys[i]!;
      assert.equal(key.name, input.name);
      assert.equal(key.pubkey, getPublicKey(secretKey));
      assert.deepEqual(await h.vault.open(key.secretSealed, key.pubkey), secretKey);
      assert.doesNotMatch(JSON.stringify(key), new RegExp(encodeHex(secretKey)));
    }
    const logText = h.logText();
    for (const [i, input] of inputs.entries()) {
      assert.equal(logText.includes(input.secret), false, `${input.name} secret logged`);
      assert.equal(logText.includes(encodeHex(secretKeys[i]!)), false, `${input.name} hex logged`);
    }
    assert.equal(logText.includes("correct horse"), false);
    assert.deepEqual((await listKeys(h.deps)).map((k) => k.name).sort(), [
      "hex",
      "ncryptsec",
      "nsec",
    ]);
  },
);

testEachDatabase(
  "importKey() rejects a bad secret on field secret without quoting it",
  async (db) => {
    using h = await ServiceHarness.create(db);
    const nsec = nsecEncode(generateSecretKey());
    const bad = [
      "not a key",
      `${nsec.slice(0, -1)}${nsec.endsWith("q") ? "p" : "q"}`, // bad checksum
      "0".repeat(64), // not a usable secp256k1 scalar
      "f".repeat(64), // above the curve order
      `abc${"0".repeat(62)}`, // 65 characters
      `ncryptsec1${"q".repeat(40)}`,
    ];
    for (const secret of bad) {
      const error = await serviceError(
        importKey(h.deps, { name: "x", secret }),
        "invalid",
        "secret",
      );
      assert.match(error.message, /^secret: /);
      assert.equal(error.message.includes(secret), false, `message quotes ${secret}`);
    }
    assert.deepEqual(await listKeys(h.deps), []);
    assert.equal(h.logText().includes(nsec.slice(5, 30)), false);
  },
);

testEachDatabase(
  "importKey() asks for the password of an ncryptsec on field password",
  async (db) => {
    using h = await ServiceHarness.create(db);
    const ncryptsec = nip49Encrypt(generateSecretKey(), "hunter2-hunter2", 4);
    const missing = await serviceError(
      importKey(h.deps, { name: "x", secret: ncryptsec }),
      "invalid",
      "password",
    );
    assert.match(missing.message, /^password: .*password is required/);
    assert.equal(missing.message.includes(ncryptsec), false);

    const wrong = await serviceError(
      importKey(h.deps, { name: "x", secret: ncryptsec, password: "not-the-password" }),
      "invalid",
      "secret",
    );
    assert.match(wrong.message, /wrong password/);
    for (const secret of [ncryptsec, "not-the-password", "hunter2-hunter2"]) {
      assert.equal(wrong.message.includes(secret), false);
    }
    assert.deepEqual(await listKeys(h.deps), []);
  },
);

testEachDatabase(
  "generateKey() and importKey() refuse a duplicate name on field name",
  async (db) => {
    using h = await ServiceHarness.create(db);
    const alice = await generateKey(h.deps, "alice");
    const error = await serviceError(generateKey(h.deps, "alice"), "conflict", "name");
    assert.match(error.message, /"alice"/);
    const secret = encodeHex(generateSecretKey());
    const imported = await serviceError(
      importKey(h.deps, { name: "alice", secret }),
      "conflict",
      "name",
    );
    assert.equal(imported.message.includes(secret), false);
    assert.deepEqual((await listKeys(h.deps)).map((k) => k.id), [alice.id]);
  },
);

testEachDatabase(
  "importKey() refuses a key whose pubkey is stored on field secret, naming the stored key",
  async (db) => {
    using h = await ServiceHarness.create(db);
    const secretKey = generateSecretKey();
    const nsec = nsecEncode(secretKey);
    await importKey(h.deps, { name: "alice", secret: nsec });
    const hex = encodeHex(secretKey);
    const error = await serviceError(
      importKey(h.deps, { name: "alice-again", secret: hex }),
      "conflict",
      "secret",
    );
    assert.match(error.message, /"alice-again".*already stored as "alice"/);
    assert.equal(error.message.includes(hex), false);
    assert.equal(error.message.includes(nsec), false);
    assert.deepEqual((await listKeys(h.deps)).map((k) => k.name), ["alice"]);
  },
);

testEachDatabase("resolveKey() finds a key by name, hex pubkey and npub", async (db) => {
  using h = await ServiceHarness.create(db);
  const alice = await generateKey(h.deps, "alice");
  const bob = await generateKey(h.deps, "bob");
  for (const ref of ["alice", alice.pubkey, alice.pubkey.toUpperCase(), npubEncode(alice.pubkey)]) {
    assert.equal((await resolveKey(h.repos, ref)).id, alice.id, ref);
  }
  assert.equal((await resolveKey(h.repos, npubEncode(bob.pubkey))).id, bob.id);
});

testEachDatabase("resolveKey() reports an unknown key as not_found on field key", async (db) => {
  using h = await ServiceHarness.create(db);
  await generateKey(h.deps, "alice");
  const unknownPubkey = getPublicKey(generateSecretKey());
  for (const ref of ["carol", unknownPubkey, npubEncode(unknownPubkey), "no such name!", ""]) {
    const error = await serviceError(resolveKey(h.repos, ref), "not_found", "key");
    assert.match(error.message, /^key: no stored key/);
  }
});

testEachDatabase(
  "resolveKey() does not quote an nsec or ncryptsec given by mistake as the key",
  async (db) => {
    using h = await ServiceHarness.create(db);
    const secretKey = generateSecretKey();
    await importKey(h.deps, { name: "alice", secret: nsecEncode(secretKey) });
    for (const ref of [nsecEncode(secretKey), nip49Encrypt(secretKey, "pw", 4)]) {
      const error = await serviceError(resolveKey(h.repos, ref), "not_found", "key");
      assert.equal(error.message.includes(ref.slice(0, 20)), false, error.message);
      assert.match(error.message, /looks like a secret key/);
    }
  },
);
