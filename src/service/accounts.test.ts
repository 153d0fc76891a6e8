import assert from "node:assert/strict";
import { generateSecretKey, getPublicKey, nip19 } from "nostr-tools";
import { decrypt as decryptNip49 } from "nostr-tools/nip49";
import { testEachDatabase } from "../../tests/helpers/db.ts";
import { tokenHash } from "../accounts/tokens.ts";
import {
  authenticate,
  changePassword,
  type ClientInfo,
  login,
  logout,
  register,
} from "./accounts.ts";
import { createAccount, createInvite, resetPassword, setAccountDisabled } from "./account_admin.ts";
import {
  addOwnKey,
  connectOwnApp,
  createOwnBunker,
  exportOwnKey,
  MAX_APPS_PER_ACCOUNT,
  MAX_KEYS_PER_ACCOUNT,
  ownApp,
  ownApps,
  revokeOwnApp,
} from "./own.ts";
import { serviceError, ServiceHarness } from "./testing.ts";

const CLIENT: ClientInfo = { ip: "192.0.2.1", userAgent: "test" };
const PASSWORD = "correct horse battery";

async function invite(h: ServiceHarness): Promise<string> {
  return (await createInvite(h.deps, { role: "user", expiresIn: null, createdBy: null })).code;
}

testEachDatabase(
  "register: an invite, a fresh key sealed by the signer, and a session",
  async (db) => {
    using h = await ServiceHarness.create(db);
    const code = await invite(h);
    const { account, key, session } = await register(
      h.deps,
      { username: " Alice ", password: PASSWORD, invite: code },
      CLIENT,
    );
    assert.equal(account.username, "alice");
    assert.equal(account.role, "user");
    assert.equal(key.accountId, account.id);
    assert.equal(key.name, "main");
    const secret = await h.vault.open(key.secretSealed, key.pubkey);
    assert.equal(getPublicKey(secret), key.pubkey);
    assert.equal((await authenticate(h.deps, session.token))?.account.username, "alice");
    assert.ok(!account.passwordHash.includes(PASSWORD));
    assert.ok(!h.logText().includes(PASSWORD) && !h.logText().includes(session.token));

    await serviceError(
      register(h.deps, { username: "bob", password: PASSWORD, invite: code }, CLIENT),
      "invalid",
      "invite",
    );
    await serviceError(
      register(h.deps, { username: "bob", password: PASSWORD }, CLIENT),
      "invalid",
      "invite",
    );
  },
);

testEachDatabase("register: modes, field checks, a brought key, and taken names", async (db) => {
  using closed = await ServiceHarness.create(db, { accountSettings: { registration: "closed" } });
  await serviceError(
    register(closed.deps, { username: "bob", password: PASSWORD }, CLIENT),
    "forbidden",
  );
  using h = await ServiceHarness.create(db, { accountSettings: { registration: "open" } });
  await serviceError(
    register(h.deps, { username: "x", password: PASSWORD }, CLIENT),
    "invalid",
    "username",
  );
  await serviceError(
    register(h.deps, { username: "admin", password: PASSWORD }, CLIENT),
    "invalid",
    "username",
  );
  await serviceError(
    register(h.deps, { username: "bob", password: "short" }, CLIENT),
    "invalid",
    "password",
  );
  await serviceError(
    register(h.deps, { username: "bob", password: "Password2024!" }, CLIENT),
    "invalid",
    "password",
  );
  await serviceError(
    register(h.deps, { username: "bob", email: "nope", password: PASSWORD }, CLIENT),
    "invalid",
    "email",
  );
  const brought = generateSecretKey();
  const nsec = nip19.nsecEncode(brought);
  const bob = await register(h.deps, { username: "bob", password: PASSWORD, secret: nsec }, CLIENT);
  assert.equal(bob.key.pubkey, getPublicKey(brought));
  assert.ok(!h.logText().includes(nsec));
  await serviceError(
    register(h.deps, { username: "bob2", password: PASSWORD, secret: nsec }, CLIENT),
    "conflict",
    "secret",
  );
  await serviceError(
    register(h.deps, { username: "BOB", password: PASSWORD }, CLIENT),
    "conflict",
    "username",
  );
});

testEachDatabase(
  "login: guesses sent in parallel are counted before hashing, so the backoff holds",
  async (db) => {
    using h = await ServiceHarness.create(db, { accountSettings: { registration: "open" } });
    await register(h.deps, { username: "bob", password: PASSWORD }, CLIENT);
    const results = await Promise.allSettled(
      Array.from(
        { length: 20 },
        (_, i) => login(h.deps, { login: "bob", password: `guess number ${i}` }, CLIENT),
      ),
    );
    const kinds = results.map((r) => r.status === "rejected" ? r.reason.kind : "ok");
    // As one after another: five free failures and the sixth that starts the wait; the other
    // fourteen are refused before any hashing.
    assert.equal(kinds.filter((kind) => kind === "unauthorized").length, 6);
    assert.equal(kinds.filter((kind) => kind === "rate_limited").length, 14);

    // A good password gives the address back the failure charged in advance (one login every
    // 3 s stays within the address's hashing budget).
    h.clock.ms += 60 * 60_000 + 1;
    const other: ClientInfo = { ip: "192.0.2.77", userAgent: "test" };
    for (let i = 0; i < 25; i++) {
      await login(h.deps, { login: "bob", password: PASSWORD }, other);
      h.clock.ms += 3_000;
    }
  },
);

testEachDatabase(
  "login: any bad credential is the same 401, then 429 before any hashing",
  async (db) => {
    using h = await ServiceHarness.create(db, { accountSettings: { registration: "open" } });
    await register(h.deps, { username: "alice", password: PASSWORD }, CLIENT);
    const unknown = await serviceError(
      login(h.deps, { login: "nobody", password: PASSWORD }, CLIENT),
      "unauthorized",
      "password",
    );
    const wrong = await serviceError(
      login(h.deps, { login: "alice", password: "wrong password!" }, CLIENT),
      "unauthorized",
      "password",
    );
    assert.equal(unknown.message, wrong.message);
    for (let i = 0; i < 5; i++) {
      await serviceError(
        login(h.deps, { login: "alice", password: "nope" }, CLIENT),
        "unauthorized",
        "password",
      );
    }
    const limited = await serviceError(
      login(h.deps, { login: "alice", password: PASSWORD }, CLIENT),
      "rate_limited",
    );
    assert.equal(limited.retryAfterSeconds, 1);
    h.clock.ms += 1_000;
    const { session } = await login(h.deps, { login: "ALICE", password: PASSWORD }, CLIENT);
    assert.ok(await authenticate(h.deps, session.token));
    const events = await h.repos.accountEvents.list(
      (await h.repos.accounts.getByLogin("alice"))!.id,
    );
    assert.deepEqual(events.slice(0, 2).map((e) => e.action), ["login", "login_failed"]);
  },
);

testEachDatabase(
  "sessions: logout ends one, a password change ends the others, idle time ends all",
  async (db) => {
    using h = await ServiceHarness.create(db, { accountSettings: { registration: "open" } });
    const { account, session: first } = await register(
      h.deps,
      { username: "alice", password: PASSWORD },
      CLIENT,
    );
    const { session: second } = await login(h.deps, { login: "alice", password: PASSWORD }, CLIENT);
    const { session: third } = await login(h.deps, { login: "alice", password: PASSWORD }, CLIENT);
    await logout(h.deps, third.token);
    assert.equal(await authenticate(h.deps, third.token), undefined);
    assert.equal(
      await h.repos.sessions.delete(tokenHash(third.token)),
      false,
      "deleted server-side",
    );

    await serviceError(
      changePassword(
        h.deps,
        account.id,
        { current: "wrong", next: "another long secret" },
        first.token,
        CLIENT,
      ),
      "unauthorized",
      "current_password",
    );
    const changed = await changePassword(
      h.deps,
      account.id,
      { current: PASSWORD, next: "another long secret" },
      first.token,
      CLIENT,
    );
    assert.equal(changed.endedSessions, 1);
    assert.ok(await authenticate(h.deps, first.token));
    assert.equal(await authenticate(h.deps, second.token), undefined);
    await serviceError(
      login(h.deps, { login: "alice", password: PASSWORD }, CLIENT),
      "unauthorized",
      "password",
    );

    h.clock.ms += 8 * 86_400_000;
    assert.equal(await authenticate(h.deps, first.token), undefined, "idle for 8 days");
  },
);

testEachDatabase(
  "admin: create, disable (sessions end, apps removed), enable, reset, invites",
  async (db) => {
    using h = await ServiceHarness.create(db);
    const admin = await createAccount(h.deps, {
      username: "admin",
      password: PASSWORD,
      role: "admin",
    });
    assert.equal(admin.role, "admin");
    const adminInvite = await createInvite(h.deps, {
      role: "admin",
      expiresIn: 3_600,
      createdBy: admin.id,
    });
    const { account, session } = await register(
      h.deps,
      { username: "carol", password: PASSWORD, invite: adminInvite.code },
      CLIENT,
    );
    assert.equal(account.role, "admin", "the invite's role");
    const app = await createOwnBunker(h.deps, account.id, { appName: "Notes" });
    await h.takeCommands();

    await setAccountDisabled(h.deps, "carol", true);
    assert.equal(await authenticate(h.deps, session.token), undefined);
    assert.deepEqual(await h.takeCommands(), [{
      type: "remove",
      bunkerPubkey: app.record.bunkerPubkey,
    }]);
    assert.equal(await h.repos.authorizations.loadActiveById(app.record.id), undefined);
    await serviceError(login(h.deps, { login: "carol", password: PASSWORD }, CLIENT), "forbidden");

    await setAccountDisabled(h.deps, account.id, false);
    const [upsert] = await h.takeCommands();
    assert.equal(upsert?.type, "upsert");
    await resetPassword(h.deps, "carol", "a brand new password");
    await login(h.deps, { login: "carol", password: "a brand new password" }, CLIENT);
    await serviceError(
      createInvite(h.deps, { role: "user", expiresIn: 10, createdBy: null }),
      "invalid",
      "expires_in",
    );
  },
);

testEachDatabase(
  "own: a person reaches only their own apps; export needs the password again",
  async (db) => {
    using h = await ServiceHarness.create(db, { accountSettings: { registration: "open" } });
    const alice = await register(h.deps, { username: "alice", password: PASSWORD }, CLIENT);
    const bob = await register(h.deps, { username: "bob", password: PASSWORD }, CLIENT);
    const app = await createOwnBunker(h.deps, alice.account.id, { appName: "Notes" });
    assert.match(app.bunkerUrl, /^bunker:\/\//);
    assert.equal((await ownApps(h.deps, alice.account.id)).length, 1);
    assert.equal((await ownApps(h.deps, bob.account.id)).length, 0);
    await serviceError(ownApp(h.deps, bob.account.id, app.record.id), "not_found");
    await serviceError(revokeOwnApp(h.deps, bob.account.id, app.record.bunkerPubkey), "not_found");
    await serviceError(
      createOwnBunker(h.deps, bob.account.id, { appName: "x", key: alice.key.pubkey }),
      "not_found",
      "key",
    );
    await revokeOwnApp(h.deps, alice.account.id, app.record.bunkerPubkey);
    assert.equal((await ownApps(h.deps, alice.account.id)).length, 0);

    await serviceError(
      exportOwnKey(h.deps, alice.account.id, { key: alice.key.pubkey, password: "wrong" }, CLIENT),
      "unauthorized",
      "current_password",
    );
    await serviceError(
      exportOwnKey(h.deps, bob.account.id, { key: alice.key.pubkey, password: PASSWORD }, CLIENT),
      "not_found",
      "key",
    );
    const exported = await exportOwnKey(
      h.deps,
      alice.account.id,
      { key: "main", password: PASSWORD },
      CLIENT,
    );
    assert.equal(getPublicKey(decryptNip49(exported.ncryptsec, PASSWORD)), alice.key.pubkey);
    assert.ok(!h.logText().includes(exported.ncryptsec));
    // Three attempts an hour, the wrong password's included.
    await exportOwnKey(h.deps, alice.account.id, { key: "main", password: PASSWORD }, CLIENT);
    await serviceError(
      exportOwnKey(h.deps, alice.account.id, { key: "main", password: PASSWORD }, CLIENT),
      "rate_limited",
    );
    // Attempts made at once cannot all slip under the limit.
    const at = await Promise.allSettled(
      Array.from(
        { length: 8 },
        () => exportOwnKey(h.deps, bob.account.id, { key: "main", password: PASSWORD }, CLIENT),
      ),
    );
    assert.ok(at.filter((result) => result.status === "fulfilled").length <= 3);
  },
);

testEachDatabase(
  "own: relays, apps and keys a person may add are bounded, also when asked at once",
  async (db) => {
    using h = await ServiceHarness.create(db, { accountSettings: { registration: "open" } });
    const { account } = await register(h.deps, { username: "carl", password: PASSWORD }, CLIENT);
    // Only the operator's relays for a bunker link; no private hosts for a pasted link.
    await serviceError(
      createOwnBunker(h.deps, account.id, { appName: "x", relays: ["ws://10.0.0.1:6379"] }),
      "invalid",
      "relays[0]",
    );
    const uri = `nostrconnect://${"cd".repeat(32)}?relay=ws%3A%2F%2F169.254.169.254&secret=s`;
    await serviceError(connectOwnApp(h.deps, account.id, { uri }), "invalid", "uri");
    await serviceError(
      createOwnBunker(h.deps, account.id, { appName: "bell\u0007" }),
      "invalid",
      "app_name",
    );

    const keys = await Promise.allSettled(
      Array.from(
        { length: MAX_KEYS_PER_ACCOUNT + 8 },
        (_, i) => addOwnKey(h.deps, account.id, { name: `k${i}` }),
      ),
    );
    assert.ok(keys.some((result) => result.status === "rejected"));
    assert.equal(await h.repos.keys.countOf(account.id) <= MAX_KEYS_PER_ACCOUNT, true);

    for (let i = 0; i < MAX_APPS_PER_ACCOUNT; i++) {
      await createOwnBunker(h.deps, account.id, { appName: `app ${i}` });
    }
    await serviceError(
      createOwnBunker(h.deps, account.id, { appName: "one more" }),
      "invalid",
      "app_name",
    );
  },
);
