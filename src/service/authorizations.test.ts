import assert from "node:assert/strict";
import { parseBunkerInput } from "nostr-tools/nip46";
import { getPublicKey } from "nostr-tools/pure";
import type { AuthorizationCommand } from "../channel/command.ts";
import type { Db } from "../db/db.ts";
import { BUILTIN_POLICIES } from "../policy/document.ts";
import { sha256Hex } from "../util/hex.ts";
import { testEachDatabase } from "../../tests/helpers/db.ts";
import {
  createAuthorization,
  type CreatedAuthorization,
  getAuthorization,
  type GrantInput,
  listAuthorizations,
  revokeAuthorization,
} from "./authorizations.ts";
import {
  DEFAULT_RELAYS,
  FIXED_NOW,
  type HarnessOptions,
  serviceError,
  ServiceHarness,
} from "./testing.ts";
import { generateKey } from "./keys.ts";
import { createPolicy } from "./policies.ts";

const RELAYS = ["wss://relay.example.com", "wss://nos.example.org/path"];

/** A grant of key "alice" on {@link RELAYS} with no policy, limit or expiry; `overrides` win. */
function grantOf(overrides: Partial<GrantInput> = {}): GrantInput {
  return {
    key: "alice",
    relays: RELAYS,
    policy: null,
    maxUses: null,
    expiresIn: null,
    label: null,
    ...overrides,
  };
}

/** A harness with key "alice" stored and the journal, commands and logs of that cleared. */
async function harnessWithKey(
  db: Db,
  opts: HarnessOptions = {},
): Promise<ServiceHarness> {
  const h = await ServiceHarness.create(db, opts);
  await generateKey(h.deps, "alice");
  h.journal.length = 0;
  h.logs.length = 0;
  return h;
}

/** The connection secret of a created authorization's bunker URL. */
function secretOf(created: CreatedAuthorization): string {
  const secret = new URL(created.bunkerUrl).searchParams.get("secret");
  assert.ok(secret);
  return secret;
}

/** Asserts the log holds neither the bunker URL nor its secret. */
function assertNothingSecretLogged(h: ServiceHarness, created: CreatedAuthorization): void {
  const text = h.logText();
  assert.equal(text.includes(secretOf(created)), false, "the connection secret was logged");
  assert.equal(text.includes(created.bunkerUrl), false, "the bunker URL was logged");
  assert.equal(text.includes("bunker://"), false, "a bunker URL was logged");
}

testEachDatabase(
  "createAuthorization() sends the upsert before it returns the bunker URL",
  async (db) => {
    using h = await harnessWithKey(db);
    const alice = await h.repos.keys.getByName("alice");
    const created = await createAuthorization(h.deps, grantOf({ label: "laptop", maxUses: 3 }));

    // On the channel already: read without waiting.
    assert.equal(h.pending, 1);
    const [command] = await h.takeCommands();
    assert.ok(command?.type === "upsert");
    const active = command.authorization;
    assert.equal(active.id, created.record.id);
    assert.equal(active.bunkerPubkey, created.record.bunkerPubkey);
    assert.equal(active.userPubkey, alice?.pubkey);
    assert.deepEqual(active.relays, RELAYS);
    assert.equal(active.maxUses, 3);
    assert.deepEqual(active.clients, []);
    assert.deepEqual(h.journal, [
      "db:authorizations.create",
      "send:upsert",
      "listener:awaitSubscribed",
    ]);
    assert.deepEqual(h.subscribeCalls.map((c) => c.bunkerPubkey), [created.record.bunkerPubkey]);
    assert.equal(created.subscribed, true);

    assert.equal(created.record.keyName, "alice");
    assert.equal(created.record.label, "laptop");
    assert.equal(created.record.maxUses, 3);
    assert.equal(created.record.revokedAt, null);
    assert.equal(created.record.clientCount, 0);
  },
);

testEachDatabase(
  "createAuthorization() returns a bunker URL clients parse: hex bunker pubkey, relays, 64-hex secret",
  async (db) => {
    using h = await harnessWithKey(db);
    const created = await createAuthorization(h.deps, grantOf());
    const pointer = await parseBunkerInput(created.bunkerUrl);
    assert.ok(pointer, created.bunkerUrl.replace(/secret=.*/, "secret=…"));
    assert.equal(pointer.pubkey, created.record.bunkerPubkey);
    assert.match(pointer.pubkey, /^[0-9a-f]{64}$/);
    assert.deepEqual(pointer.relays, RELAYS);
    assert.match(pointer.secret ?? "", /^[0-9a-f]{64}$/);

    const url = new URL(created.bunkerUrl);
    assert.equal(url.protocol, "bunker:");
    assert.equal(url.hostname, created.record.bunkerPubkey);
    assert.deepEqual(url.searchParams.getAll("relay"), RELAYS);
    assert.equal(url.searchParams.get("secret"), pointer.secret);
    assert.deepEqual(created.record.relays, RELAYS);

    // A fresh secret and bunker key each time.
    const other = await createAuthorization(h.deps, grantOf());
    assert.notEqual(secretOf(other), secretOf(created));
    assert.notEqual(other.record.bunkerPubkey, created.record.bunkerPubkey);
    assertNothingSecretLogged(h, created);
    assertNothingSecretLogged(h, other);
  },
);

testEachDatabase(
  "createAuthorization() stores only the sha256 of the secret and the bunker key sealed",
  async (db) => {
    using h = await harnessWithKey(db);
    const created = await createAuthorization(h.deps, grantOf());
    const secret = secretOf(created);
    const active = await h.repos.authorizations.loadActiveById(created.record.id);
    assert.ok(active);
    assert.equal(active.secretHash, await sha256Hex(secret));
    const stored = JSON.stringify([active, await h.repos.authorizations.list()]);
    assert.equal(stored.includes(secret), false);
    assert.equal(JSON.stringify(created.record).includes(secret), false);

    const bunkerSecretKey = await h.vault.open(active.bunkerSecretSealed, active.bunkerPubkey);
    assert.equal(getPublicKey(bunkerSecretKey), created.record.bunkerPubkey);
  },
);

testEachDatabase("createAuthorization() never logs the bunker URL or its secret", async (db) => {
  using h = await harnessWithKey(db, {
    awaitSubscribed: () => Promise.reject(new Error("listener gone")),
  });
  const created = await createAuthorization(h.deps, grantOf({ label: "phone", policy: "social" }));
  assert.equal(created.subscribed, false);
  assert.deepEqual(h.logs.map((r) => [r.level, r.msg]), [
    ["warn", "Cannot confirm the listener subscribed the new bunker pubkey"],
    ["info", "Authorization created"],
  ]);
  assertNothingSecretLogged(h, created);
});

testEachDatabase(
  "createAuthorization() uses the default relays when none are given, and refuses when there are none",
  async (db) => {
    using h = await harnessWithKey(db);
    const created = await createAuthorization(h.deps, grantOf({ relays: [] }));
    assert.deepEqual(created.record.relays, DEFAULT_RELAYS);
    assert.deepEqual(new URL(created.bunkerUrl).searchParams.getAll("relay"), DEFAULT_RELAYS);

    using bare = await ServiceHarness.create(db, { defaultRelays: [] });
    const error = await serviceError(
      createAuthorization(bare.deps, grantOf({ relays: [] })),
      "invalid",
      "relays",
    );
    assert.match(error.message, /^relays: none given/);
    assert.equal((await listAuthorizations(h.deps)).length, 1);
    assert.equal(bare.pending, 0);
  },
);

testEachDatabase(
  "createAuthorization() reports an unknown key or policy as not_found, storing nothing",
  async (db) => {
    using h = await harnessWithKey(db);
    const key = await serviceError(
      createAuthorization(h.deps, grantOf({ key: "bob" })),
      "not_found",
      "key",
    );
    assert.match(key.message, /"bob"/);
    const policy = await serviceError(
      createAuthorization(h.deps, grantOf({ policy: "missing" })),
      "not_found",
      "policy",
    );
    assert.match(policy.message, /"missing"/);
    assert.deepEqual(await listAuthorizations(h.deps, { includeRevoked: true }), []);
    assert.deepEqual(h.journal, []);
  },
);

testEachDatabase(
  "createAuthorization() attaches a stored policy, or a built-in stored on first use",
  async (db) => {
    using h = await harnessWithKey(db);
    await createPolicy(h.deps, { name: "notes", rules: { kinds: [1] } });
    const custom = await createAuthorization(h.deps, grantOf({ policy: "notes" }));
    const builtin = await createAuthorization(h.deps, grantOf({ policy: "read-only" }));
    assert.equal(custom.record.policyName, "notes");
    assert.equal(builtin.record.policyName, "read-only");
    const policies = (await h.takeCommands()).map((c: AuthorizationCommand) =>
      c.type === "upsert" && c.authorization.policy
    );
    assert.deepEqual(policies, [{ kinds: [1] }, BUILTIN_POLICIES["read-only"]]);
  },
);

testEachDatabase(
  "createAuthorization() computes the expiry from the injected clock",
  async (db) => {
    using h = await harnessWithKey(db);
    const expiring = await createAuthorization(h.deps, grantOf({ expiresIn: 3600 }));
    assert.equal(expiring.record.expiresAt?.getTime(), FIXED_NOW + 3_600_000);
    const forever = await createAuthorization(h.deps, grantOf());
    assert.equal(forever.record.expiresAt, null);
    assert.deepEqual(
      (await h.takeCommands()).map((c) => c.type === "upsert" && c.authorization.expiresAt),
      [FIXED_NOW / 1000 + 3600, null],
    );
  },
);

testEachDatabase(
  "createAuthorization() reports subscribed as the listener link answers",
  async (db, t) => {
    {
      // Key "alice" is stored once; each step's harness is new over the same database.
      using setup = await ServiceHarness.create(db);
      await generateKey(setup.deps, "alice");
    }

    await t.step("true when the listener confirms", async () => {
      using h = await ServiceHarness.create(db);
      assert.equal((await createAuthorization(h.deps, grantOf())).subscribed, true);
    });

    await t.step("false when the listener answers false", async () => {
      using h = await ServiceHarness.create(db, { awaitSubscribed: () => Promise.resolve(false) });
      assert.equal((await createAuthorization(h.deps, grantOf())).subscribed, false);
      assert.equal(h.subscribeCalls.length, 1);
    });

    await t.step("false when no listener runs, the row still sent", async () => {
      using h = await ServiceHarness.create(db, { noListener: true });
      const created = await createAuthorization(h.deps, grantOf());
      assert.equal(created.subscribed, false);
      assert.deepEqual(h.journal, ["db:authorizations.create", "send:upsert"]);
    });

    await t.step("false, within the bound, when the listener never answers", async () => {
      using h = await ServiceHarness.create(db, {
        awaitSubscribed: () => new Promise<boolean>(() => {}),
        subscribeTimeoutMs: 50,
      });
      const created = await createAuthorization(h.deps, grantOf());
      assert.equal(created.subscribed, false);
      const [call] = h.subscribeCalls;
      assert.equal(call?.bunkerPubkey, created.record.bunkerPubkey);
      // The wait's signal is aborted once the service stopped waiting.
      assert.equal(call?.signal.aborted, true);
      assert.deepEqual(
        h.logs.filter((r) => r.level === "warn").map((r) => [r.msg, r.timeoutMs]),
        [["Listener did not subscribe the new bunker pubkey in time", 50]],
      );
      assert.equal(h.pending, 1);
      assertNothingSecretLogged(h, created);
    });
  },
);

testEachDatabase(
  "revokeAuthorization() sends remove after the write, and again on a second revoke",
  async (db) => {
    using h = await harnessWithKey(db);
    const created = await createAuthorization(h.deps, grantOf());
    const { bunkerPubkey, id } = created.record;
    await h.takeCommands();
    h.journal.length = 0;

    assert.deepEqual(await revokeAuthorization(h.deps, id), { alreadyRevoked: false });
    assert.deepEqual(h.journal, ["db:authorizations.revoke", "send:remove"]);
    assert.deepEqual(await h.takeCommands(), [{ type: "remove", bunkerPubkey }]);
    assert.ok((await getAuthorization(h.deps, id)).record.revokedAt instanceof Date);
    assert.equal(await h.repos.authorizations.loadActiveById(id), undefined);

    assert.deepEqual(await revokeAuthorization(h.deps, id), { alreadyRevoked: true });
    assert.deepEqual(await h.takeCommands(), [{ type: "remove", bunkerPubkey }]);
    assert.deepEqual(
      h.logs.filter((r) => r.msg === "Authorization revoked").map((r) => r.alreadyRevoked),
      [false, true],
    );
  },
);

testEachDatabase(
  "revokeAuthorization() and getAuthorization() report an unknown id",
  async (db) => {
    using h = await harnessWithKey(db);
    const id = crypto.randomUUID();
    const revoke = await serviceError(revokeAuthorization(h.deps, id), "not_found");
    assert.match(revoke.message, new RegExp(id));
    await serviceError(getAuthorization(h.deps, id), "not_found");
    assert.equal(h.pending, 0);
  },
);

testEachDatabase(
  "listAuthorizations() shows revoked ones only when asked; getAuthorization() adds the clients",
  async (db) => {
    using h = await harnessWithKey(db);
    const first = await createAuthorization(h.deps, grantOf({ label: "first" }));
    const second = await createAuthorization(h.deps, grantOf({ label: "second" }));
    await revokeAuthorization(h.deps, first.record.id);

    assert.deepEqual((await listAuthorizations(h.deps)).map((a) => a.label), ["second"]);
    const all = await listAuthorizations(h.deps, { includeRevoked: true });
    assert.deepEqual(all.map((a) => a.label).sort(), ["first", "second"]);

    const clientPubkey = "c".repeat(64);
    await h.repos.clients.redeem({ authorizationId: second.record.id, clientPubkey });
    const got = await getAuthorization(h.deps, second.record.id);
    assert.equal(got.record.clientCount, 1);
    assert.deepEqual(got.clients.map((c) => [c.clientPubkey, c.loggedOutAt]), [
      [clientPubkey, null],
    ]);
    assert.deepEqual((await getAuthorization(h.deps, first.record.id)).clients, []);
  },
);
