import assert from "node:assert/strict";
import { createNostrConnectURI, type NostrConnectParams } from "nostr-tools/nip46";
import { generateSecretKey, getPublicKey } from "nostr-tools/pure";
import type { Db } from "../db/db.ts";
import { BUILTIN_POLICIES } from "../policy/document.ts";
import { encodeHex } from "../util/hex.ts";
import { testEachDatabase } from "../../tests/helpers/db.ts";
import { getAuthorization, listAuthorizations } from "./authorizations.ts";
import { type HarnessOptions, serviceError, ServiceHarness } from "./testing.ts";
import { generateKey } from "./keys.ts";
import { type PairingInput, pairNostrConnect } from "./pairing.ts";

const RELAYS = ["wss://relay.example.com", "wss://nos.example.org/"];

/** What a NIP-46 client puts into its nostrconnect:// URI, with a fresh pubkey and secret. */
function clientParams(overrides: Partial<NostrConnectParams> = {}): NostrConnectParams {
  return {
    clientPubkey: getPublicKey(generateSecretKey()),
    relays: RELAYS,
    secret: encodeHex(crypto.getRandomValues(new Uint8Array(16))),
    perms: ["sign_event:1", "nip44_encrypt"],
    name: "Coracle",
    url: "https://coracle.example.com",
    ...overrides,
  };
}

/** Pairing of key "alice" with the URI for `params`, no policy, label or expiry; `overrides` win. */
function pairingOf(
  params: NostrConnectParams,
  overrides: Partial<PairingInput> = {},
): PairingInput {
  return {
    uri: createNostrConnectURI(params),
    key: "alice",
    policy: null,
    label: null,
    expiresIn: null,
    ...overrides,
  };
}

/** A harness with key "alice" stored and the journal and logs of that cleared. */
async function harnessWithKey(db: Db, opts: HarnessOptions = {}): Promise<ServiceHarness> {
  const h = await ServiceHarness.create(db, opts);
  await generateKey(h.deps, "alice");
  h.journal.length = 0;
  h.logs.length = 0;
  return h;
}

testEachDatabase(
  "pairNostrConnect() binds the client, sends the upsert, then the reply with its secret",
  async (db) => {
    using h = await harnessWithKey(db);
    const params = clientParams();
    const paired = await pairNostrConnect(h.deps, pairingOf(params));

    assert.deepEqual(h.journal, [
      "db:authorizations.create",
      "db:clients.redeem",
      "send:upsert",
      "listener:awaitSubscribed",
      "listener:sendPairingReply",
    ]);
    assert.equal(paired.clientPubkey, params.clientPubkey);
    assert.deepEqual(paired.requestedPerms, ["sign_event:1", "nip44_encrypt"]);
    assert.equal(paired.subscribed, true);
    assert.equal(paired.sent, true);

    const { record } = paired;
    assert.equal(record.keyName, "alice");
    assert.equal(record.maxUses, 1);
    assert.equal(record.label, "Coracle");
    assert.equal(record.clientCount, 1);
    // The URI's relays, normalized.
    assert.deepEqual(record.relays, ["wss://relay.example.com", "wss://nos.example.org"]);

    const [command, ...rest] = await h.takeCommands();
    assert.deepEqual(rest, []);
    assert.ok(command?.type === "upsert");
    assert.equal(command.authorization.id, record.id);
    assert.deepEqual(command.authorization.clients, [
      { clientPubkey: params.clientPubkey, loggedOut: false },
    ]);

    const [reply, ...more] = h.replies;
    assert.deepEqual(more, []);
    assert.ok(reply);
    assert.equal(reply.secret, params.secret);
    assert.equal(reply.clientPubkey, params.clientPubkey);
    assert.equal(reply.bunkerPubkey, record.bunkerPubkey);
    assert.deepEqual(reply.relays, record.relays);
    const bunkerSecretKey = await h.vault.open(reply.bunkerSecretSealed, reply.bunkerPubkey);
    assert.equal(getPublicKey(bunkerSecretKey), record.bunkerPubkey);
    assert.equal(command.authorization.bunkerSecretSealed, reply.bunkerSecretSealed);

    const { clients } = await getAuthorization(h.deps, record.id);
    assert.deepEqual(
      clients.map((c) => [c.clientPubkey, c.requestedPerms, c.clientMetadata]),
      [[
        params.clientPubkey,
        "sign_event:1,nip44_encrypt",
        { name: "Coracle", url: "https://coracle.example.com" },
      ]],
    );

    const logText = h.logText();
    assert.equal(logText.includes(params.secret), false, "the client's secret was logged");
    assert.equal(logText.includes("nostrconnect://"), false, "the URI was logged");
    assert.deepEqual(h.logs.map((r) => r.msg), ["Paired a nostrconnect client"]);
  },
);

testEachDatabase(
  "pairNostrConnect() takes the given label, policy and expiry, and reports an unsent reply",
  async (db) => {
    using h = await harnessWithKey(db, { sendPairingReply: () => Promise.resolve(false) });
    const paired = await pairNostrConnect(
      h.deps,
      pairingOf(clientParams({ perms: [], name: undefined, url: undefined }), {
        label: "my phone",
        policy: "social",
        expiresIn: 600,
      }),
    );
    assert.equal(paired.sent, false);
    assert.deepEqual(paired.requestedPerms, []);
    assert.equal(paired.record.label, "my phone");
    assert.equal(paired.record.policyName, "social");
    assert.equal(paired.record.expiresAt?.getTime(), h.deps.now() + 600_000);
    const [command] = await h.takeCommands();
    assert.ok(command?.type === "upsert");
    assert.deepEqual(command.authorization.policy, BUILTIN_POLICIES.social);
    const { clients } = await getAuthorization(h.deps, paired.record.id);
    assert.deepEqual(clients.map((c) => [c.requestedPerms, c.clientMetadata]), [[null, null]]);
  },
);

testEachDatabase(
  "pairNostrConnect() refuses a malformed URI on field uri without quoting its secret",
  async (db) => {
    using h = await harnessWithKey(db);
    const secret = "s3cret-do-not-show";
    const pubkey = getPublicKey(generateSecretKey());
    const bad = [
      `bunker://${pubkey}?relay=wss%3A%2F%2Fr.example.com&secret=${secret}`,
      `nostrconnect://npub1nothex?relay=wss%3A%2F%2Fr.example.com&secret=${secret}`,
      `nostrconnect://${pubkey}?secret=${secret}`,
      `nostrconnect://${pubkey}?relay=http%3A%2F%2Fr.example.com&secret=${secret}`,
      `nostrconnect://${pubkey}?relay=wss%3A%2F%2Fr.example.com&secret=`,
      `nostrconnect://${pubkey}?relay=wss%3A%2F%2Fr.example.com&secret=${secret}&x=${
        "y".repeat(5000)
      }`,
    ];
    for (const uri of bad) {
      const error = await serviceError(
        pairNostrConnect(h.deps, { uri, key: "alice", policy: null, label: null, expiresIn: null }),
        "invalid",
        "uri",
      );
      assert.match(error.message, /^uri: /);
      assert.equal(error.message.includes(secret), false, error.message);
    }
    assert.deepEqual(await listAuthorizations(h.deps, { includeRevoked: true }), []);
    assert.deepEqual(h.journal, []);
    assert.deepEqual(h.replies, []);
  },
);

testEachDatabase(
  "pairNostrConnect() is unavailable without a listener and stores nothing",
  async (db) => {
    using h = await harnessWithKey(db, { noListener: true });
    const error = await serviceError(
      pairNostrConnect(h.deps, pairingOf(clientParams(), { policy: "social" })),
      "unavailable",
    );
    assert.match(error.message, /listener is not running/);
    assert.deepEqual(await listAuthorizations(h.deps, { includeRevoked: true }), []);
    assert.deepEqual(await h.repos.policies.list(), []);
    assert.deepEqual(h.journal, []);
    assert.equal(h.pending, 0);
  },
);

testEachDatabase(
  "pairNostrConnect() reports an unknown key as not_found and sends nothing",
  async (db) => {
    using h = await harnessWithKey(db);
    await serviceError(
      pairNostrConnect(h.deps, pairingOf(clientParams(), { key: "bob" })),
      "not_found",
      "key",
    );
    assert.deepEqual(await listAuthorizations(h.deps, { includeRevoked: true }), []);
    assert.deepEqual(h.replies, []);
    assert.equal(h.pending, 0);
  },
);
