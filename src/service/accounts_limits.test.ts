import assert from "node:assert/strict";
import { PasswordHasher } from "../accounts/password.ts";
import { testEachDatabase } from "../../tests/helpers/db.ts";
import {
  authenticate,
  changePassword,
  type ClientInfo,
  login,
  MAX_SESSIONS_PER_ACCOUNT,
  register,
  startSession,
} from "./accounts.ts";
import { serviceError, ServiceHarness } from "./testing.ts";
import type { Refusal } from "../accounts/throttle.ts";
import type { SharedThrottle } from "../cluster/login_throttle.ts";

const CLIENT: ClientInfo = { ip: "192.0.2.1", userAgent: "test" };
const PASSWORD = "correct horse battery";

function from(ip: string): ClientInfo {
  return { ip, userAgent: "test" };
}

testEachDatabase(
  "register: refused registrations cost nothing, and registrations never lock logins out",
  async (db) => {
    using h = await ServiceHarness.create(db, {
      accountSettings: { registration: "open" },
      throttleLimits: {
        registration: { free: 2, baseMs: 1_000, maxMs: 60_000, forgetMs: 3_600_000 },
      },
    });
    await register(h.deps, { username: "alice", password: PASSWORD }, CLIENT);
    for (let i = 0; i < 25; i++) {
      await serviceError(
        register(h.deps, { username: "!", password: PASSWORD }, CLIENT),
        "invalid",
        "username",
      );
    }
    await register(h.deps, { username: "bob", password: PASSWORD }, CLIENT);
    await register(h.deps, { username: "carol", password: PASSWORD }, CLIENT);
    const limited = await serviceError(
      register(h.deps, { username: "dave", password: PASSWORD }, CLIENT),
      "rate_limited",
    );
    assert.match(limited.message, /Too many registrations from your address/);
    await login(h.deps, { login: "alice", password: PASSWORD }, CLIENT);
  },
);

testEachDatabase(
  "login: every hash takes from the address's budget, good passwords too, before hashing",
  async (db) => {
    using h = await ServiceHarness.create(db, { accountSettings: { registration: "open" } });
    await register(h.deps, { username: "alice", password: PASSWORD }, from("192.0.2.9"));
    for (let i = 0; i < 20; i++) {
      await login(h.deps, { login: "alice", password: PASSWORD }, CLIENT);
    }
    const limited = await serviceError(
      login(h.deps, { login: "alice", password: PASSWORD }, CLIENT),
      "rate_limited",
    );
    assert.match(limited.message, /Too many password checks from your address/);
    assert.equal(limited.retryAfterSeconds, 3);
    const { account } = await login(h.deps, { login: "alice", password: PASSWORD }, from("::1"));
    await serviceError(
      changePassword(h.deps, account.id, { current: PASSWORD, next: "x".repeat(20) }, "", CLIENT),
      "rate_limited",
    );
    await serviceError(
      register(h.deps, { username: "bob", password: PASSWORD }, CLIENT),
      "rate_limited",
    );
    h.clock.ms += 3_000;
    await login(h.deps, { login: "alice", password: PASSWORD }, CLIENT);
  },
);

testEachDatabase(
  "login: an IPv6 client counts by its /64, an IPv4-mapped one as its IPv4 address",
  async (db) => {
    using h = await ServiceHarness.create(db);
    // One guess every 3 s keeps within the hashing budget: the failures count.
    for (let i = 0; i < 21; i++) {
      h.clock.ms += 3_000;
      await serviceError(
        login(h.deps, { login: `nobody${i}`, password: PASSWORD }, from(`2001:db8:5:6::${i + 1}`)),
        "unauthorized",
        "password",
      );
    }
    const limited = await serviceError(
      login(h.deps, { login: "someone", password: PASSWORD }, from("2001:db8:5:6:abcd::1")),
      "rate_limited",
    );
    assert.match(limited.message, /Too many failed logins/);
    for (let i = 0; i < 21; i++) {
      h.clock.ms += 3_000;
      await serviceError(
        login(h.deps, { login: `other${i}`, password: PASSWORD }, from("::ffff:198.51.100.4")),
        "unauthorized",
        "password",
      );
    }
    await serviceError(
      login(h.deps, { login: "someone", password: PASSWORD }, from("198.51.100.4")),
      "rate_limited",
    );
  },
);

testEachDatabase(
  "login: an account's username and email share one count of failures",
  async (db) => {
    using h = await ServiceHarness.create(db, { accountSettings: { registration: "open" } });
    await register(
      h.deps,
      { username: "alice", email: "alice@example.com", password: PASSWORD },
      CLIENT,
    );
    for (const name of ["alice", "alice@example.com", "ALICE", "Alice@Example.com", "alice"]) {
      await serviceError(
        login(h.deps, { login: name, password: "wrong password!" }, CLIENT),
        "unauthorized",
        "password",
      );
    }
    await serviceError(
      login(h.deps, { login: "alice@example.com", password: "wrong password!" }, CLIENT),
      "unauthorized",
      "password",
    );
    await serviceError(
      login(h.deps, { login: "alice", password: PASSWORD }, from("192.0.2.50")),
      "rate_limited",
    );
    await serviceError(
      login(h.deps, { login: "alice@example.com", password: PASSWORD }, from("192.0.2.51")),
      "rate_limited",
    );
    h.clock.ms += 1_000;
    await login(h.deps, { login: "alice@example.com", password: PASSWORD }, from("192.0.2.52"));
    await login(h.deps, { login: "alice", password: PASSWORD }, from("192.0.2.53"));
  },
);

testEachDatabase(
  "sessions: a new one past the cap ends the account's least recently used",
  async (db) => {
    using h = await ServiceHarness.create(db, { accountSettings: { registration: "open" } });
    const { account, session: first } = await register(
      h.deps,
      { username: "alice", password: PASSWORD },
      CLIENT,
    );
    const { account: bob } = await register(
      h.deps,
      { username: "bob", password: PASSWORD },
      CLIENT,
    );
    const tokens: string[] = [];
    for (let i = 1; i < MAX_SESSIONS_PER_ACCOUNT; i++) {
      h.clock.ms += 60_000;
      tokens.push((await startSession(h.deps, account.id, CLIENT)).token);
    }
    assert.equal((await h.repos.sessions.listByAccount(account.id)).length, 20);
    h.clock.ms += 60_000;
    assert.ok(await authenticate(h.deps, first.token), "the first, used again just now");
    const { session: newest } = await login(h.deps, { login: "alice", password: PASSWORD }, CLIENT);
    assert.equal((await h.repos.sessions.listByAccount(account.id)).length, 20);
    assert.ok(await authenticate(h.deps, newest.token));
    assert.ok(await authenticate(h.deps, first.token));
    assert.equal(await authenticate(h.deps, tokens[0]!), undefined, "the least recently used");
    assert.ok(await authenticate(h.deps, tokens[1]!));
    assert.equal((await h.repos.sessions.listByAccount(bob.id)).length, 1, "others' untouched");
  },
);

testEachDatabase(
  "passwords: new ones count UTF-16 units; an accepted one is checked whole, never cut",
  async (db) => {
    using h = await ServiceHarness.create(db, { accountSettings: { registration: "open" } });
    const emoji = ["🔑", "🐢", "🌵", "🚲", "🎈", "🍋"];
    const made = (count: number) => Array.from({ length: count }, (_, i) => emoji[i % 6]).join("");
    const tooLong = await serviceError(
      register(h.deps, { username: "alice", password: made(513) }, CLIENT),
      "invalid",
      "password",
    );
    assert.match(tooLong.message, /at most 1024/);
    const { account } = await register(
      h.deps,
      { username: "alice", password: made(512) },
      CLIENT,
    );
    await login(h.deps, { login: "alice", password: made(512) }, CLIENT);

    // An account whose password an earlier version took by code points: 600 emoji, 1,200 units.
    const old = made(600);
    const hasher = new PasswordHasher({ params: { ln: 8, r: 8, p: 1 } });
    await h.repos.accounts.setPasswordHash(account.id, await hasher.hash(old));
    await serviceError(
      login(h.deps, { login: "alice", password: old.slice(0, 1_024) }, CLIENT),
      "unauthorized",
      "password",
    );
    await login(h.deps, { login: "alice", password: old }, CLIENT);
    await changePassword(h.deps, account.id, { current: old, next: made(100) }, "", CLIENT);
    await serviceError(
      login(h.deps, { login: "alice", password: made(100) + "x".repeat(2_000) }, CLIENT),
      "unauthorized",
      "password",
    );
  },
);

testEachDatabase(
  "register: a taken username and a taken email get the same answer",
  async (db) => {
    using h = await ServiceHarness.create(db, { accountSettings: { registration: "open" } });
    await register(
      h.deps,
      { username: "bob", email: "bob@example.com", password: PASSWORD },
      CLIENT,
    );
    const name = await serviceError(
      register(h.deps, { username: "bob", password: PASSWORD }, CLIENT),
      "conflict",
      "username",
    );
    const email = await serviceError(
      register(
        h.deps,
        { username: "robert", email: "BOB@example.com", password: PASSWORD },
        CLIENT,
      ),
      "conflict",
      "username",
    );
    assert.equal(email.message, name.message);
    assert.equal(name.message, "This username or email cannot be used: choose another");
  },
);

/** A throttle shared with other instances that records its calls and refuses when told. */
class RecordingSharedThrottle implements SharedThrottle {
  readonly calls: string[] = [];
  refuse: Refusal | undefined;

  begin(accounts: readonly string[], address: string): Promise<Refusal | undefined> {
    this.calls.push(`begin ${accounts.join(",")} ${address}`);
    return Promise.resolve(this.refuse);
  }

  succeeded(accounts: readonly string[], address: string): Promise<void> {
    this.calls.push(`succeeded ${accounts.join(",")} ${address}`);
    return Promise.resolve();
  }

  beginRegistration(address: string): Promise<Refusal | undefined> {
    this.calls.push(`register ${address}`);
    return Promise.resolve(this.refuse);
  }
}

testEachDatabase(
  "a throttle shared with other instances counts logins, registrations and password checks",
  async (db) => {
    const shared = new RecordingSharedThrottle();
    using h = await ServiceHarness.create(db, {
      accountSettings: { registration: "open" },
      sharedThrottle: shared,
    });
    await register(h.deps, { username: "alice", password: PASSWORD }, CLIENT);
    await login(h.deps, { login: "alice", password: PASSWORD }, CLIENT);
    await serviceError(
      login(h.deps, { login: "alice", password: "wrong horse battery" }, CLIENT),
      "unauthorized",
      "password",
    );
    assert.deepEqual(shared.calls, [
      `register ${CLIENT.ip}`,
      `begin alice ${CLIENT.ip}`,
      `succeeded alice ${CLIENT.ip}`,
      `begin alice ${CLIENT.ip}`,
    ]);

    // Refused by the other instances' count: no hash, no session.
    shared.refuse = { reason: "failures", waitMs: 30_000 };
    const limited = await serviceError(
      login(h.deps, { login: "alice", password: PASSWORD }, from("192.0.2.9")),
      "rate_limited",
    );
    assert.match(limited.message, /Too many failed logins/);
    await serviceError(
      register(h.deps, { username: "bob", password: PASSWORD }, from("192.0.2.9")),
      "rate_limited",
    );
    const account = await h.deps.repos.accounts.getByLogin("alice");
    await serviceError(
      changePassword(
        h.deps,
        account!.id,
        { current: PASSWORD, next: "another horse battery" },
        undefined,
        from("192.0.2.9"),
      ),
      "rate_limited",
    );
  },
);
