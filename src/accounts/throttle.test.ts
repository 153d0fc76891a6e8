import assert from "node:assert/strict";
import { LoginThrottle } from "./throttle.ts";

const T0 = 1_800_000_000_000;

Deno.test("LoginThrottle lets five failures through, then doubles the wait up to its cap", () => {
  const throttle = new LoginThrottle();
  for (let i = 0; i < 5; i++) {
    assert.equal(throttle.waitMs("alice", "10.0.0.1", T0), 0);
    throttle.failed("alice", "10.0.0.1", T0);
  }
  assert.equal(throttle.waitMs("alice", "10.0.0.1", T0), 0, "five failures are free");
  throttle.failed("Alice", "10.0.0.1", T0);
  assert.equal(throttle.waitMs("ALICE", "10.0.0.2", T0), 1_000, "names are case-insensitive");
  throttle.failed("alice", "10.0.0.1", T0 + 1_000);
  assert.equal(throttle.waitMs("alice", "10.0.0.1", T0 + 1_000), 2_000);
  for (let i = 0; i < 30; i++) throttle.failed("alice", "10.0.0.1", T0 + 2_000);
  assert.equal(throttle.waitMs("alice", "10.0.0.1", T0 + 2_000), 15 * 60_000, "capped");
});

Deno.test("LoginThrottle counts addresses apart from accounts, and success clears only the account", () => {
  const throttle = new LoginThrottle();
  for (let i = 0; i < 21; i++) throttle.failed(`user${i}`, "10.0.0.9", T0);
  assert.equal(throttle.waitMs("someone-new", "10.0.0.9", T0), 1_000, "the address is throttled");
  assert.equal(throttle.waitMs("someone-new", "10.0.0.8", T0), 0);
  for (let i = 0; i < 6; i++) throttle.failed("bob", "10.0.0.7", T0);
  throttle.succeeded(["bob"], "10.0.0.7");
  assert.equal(throttle.waitMs("bob", "10.0.0.6", T0), 0);
});

Deno.test("LoginThrottle forgets failures after an hour without one, and holds a bounded number", () => {
  const throttle = new LoginThrottle({ maxKeys: 10 });
  for (let i = 0; i < 6; i++) throttle.failed("carol", "10.0.0.5", T0);
  assert.ok(throttle.waitMs("carol", "10.0.0.5", T0) > 0);
  assert.equal(throttle.waitMs("carol", "10.0.0.5", T0 + 60 * 60_000), 0);
  for (let i = 0; i < 50; i++) throttle.failed(`u${i}`, `10.1.0.${i}`, T0);
  for (let i = 0; i < 50; i++) throttle.begin([`v${i}`], `10.2.0.${i}`, T0);
  for (let i = 0; i < 50; i++) throttle.beginRegistration(`10.3.0.${i}`, T0);
  assert.deepEqual(throttle.sizes, { accounts: 10, addresses: 10, registrations: 10, hashing: 10 });
});

Deno.test("LoginThrottle.begin() counts at once; succeeded() with the address refunds it", () => {
  const throttle = new LoginThrottle();
  for (let i = 0; i < 6; i++) assert.equal(throttle.begin(["dave"], "10.0.0.3", T0), undefined);
  assert.deepEqual(
    throttle.begin(["dave"], "10.0.0.3", T0),
    { reason: "failures", waitMs: 1_000 },
    "six in flight: the seventh waits",
  );
  throttle.succeeded(["dave"], "10.0.0.3");
  assert.equal(throttle.waitMs("dave", "10.0.0.3", T0), 0, "five left on the address: free");
  for (let i = 0; i < 10; i++) {
    assert.equal(throttle.begin(["erin"], "10.0.0.4", T0 + i * 3_000), undefined);
    throttle.succeeded(["erin"], "10.0.0.4");
  }
  assert.equal(throttle.waitMs("someone", "10.0.0.4", T0), 0, "good logins leave no count");
  const { accounts, addresses } = throttle.sizes;
  assert.deepEqual({ accounts, addresses }, { accounts: 0, addresses: 1 }, "dave's address only");
});

Deno.test("LoginThrottle: every hash takes from the address's budget, right password or not", () => {
  const throttle = new LoginThrottle();
  for (let i = 0; i < 20; i++) {
    assert.equal(throttle.begin(["frank"], "10.0.0.10", T0), undefined, `login ${i}`);
    throttle.succeeded(["frank"], "10.0.0.10");
  }
  assert.deepEqual(
    throttle.begin(["frank"], "10.0.0.10", T0),
    { reason: "hashing", waitMs: 3_000 },
    "20 a minute: one every 3 s",
  );
  assert.deepEqual(throttle.beginRegistration("10.0.0.10", T0), {
    reason: "hashing",
    waitMs: 3_000,
  });
  assert.equal(throttle.waitMs("frank", "10.0.0.10", T0), 0, "a refused hash counts no failure");
  assert.equal(throttle.begin(["frank"], "10.0.0.11", T0), undefined, "other addresses pass");
  assert.equal(throttle.begin(["frank"], "10.0.0.10", T0 + 3_000), undefined);
  assert.equal(throttle.begin(["frank"], "10.0.0.10", T0 + 3_000)?.reason, "hashing");
});

Deno.test("LoginThrottle counts registrations apart from logins, and their hashes with them", () => {
  const throttle = new LoginThrottle();
  for (let i = 0; i < 20; i++) {
    assert.equal(throttle.beginRegistration("10.0.0.12", T0 + i * 3_000), undefined, `${i}`);
  }
  assert.deepEqual(throttle.beginRegistration("10.0.0.12", T0 + 60_000), undefined);
  assert.deepEqual(
    throttle.beginRegistration("10.0.0.12", T0 + 60_000),
    { reason: "failures", waitMs: 1_000 },
  );
  assert.equal(throttle.waitMs("grace", "10.0.0.12", T0 + 60_000), 0, "logins are not locked out");
  assert.equal(throttle.begin(["grace"], "10.0.0.12", T0 + 60_000), undefined);
});

Deno.test("LoginThrottle keys an IPv6 address by its /64 and a mapped IPv4 as the IPv4", () => {
  const throttle = new LoginThrottle();
  for (let i = 0; i < 21; i++) throttle.failed(`user${i}`, `2001:db8:1:2::${i + 1}`, T0);
  assert.equal(throttle.waitMs("new", "2001:db8:1:2:ffff::1", T0), 1_000, "the same /64");
  assert.equal(throttle.waitMs("new", "2001:db8:1:3::1", T0), 0, "the next /64");
  for (let i = 0; i < 21; i++) throttle.failed(`user${i}`, "::ffff:192.0.2.7", T0);
  assert.equal(throttle.waitMs("new", "192.0.2.7", T0), 1_000);
  for (let i = 0; i < 20; i++) throttle.begin([`u${i}`], `2001:db8:9:9::${i + 1}`, T0 + 60_000);
  assert.equal(throttle.begin(["x"], "2001:db8:9:9::99", T0 + 60_000)?.reason, "hashing");
});

Deno.test("LoginThrottle: names an account goes by share one count", () => {
  const throttle = new LoginThrottle();
  for (let i = 0; i < 3; i++) throttle.begin(["hana"], `10.0.1.${i}`, T0);
  for (let i = 0; i < 3; i++) throttle.begin(["hana@example.com", "hana"], `10.0.2.${i}`, T0);
  assert.equal(throttle.waitMs("hana", "10.0.3.1", T0), 1_000, "six failures in all");
  assert.equal(throttle.begin(["hana@example.com", "hana"], "10.0.3.2", T0)?.reason, "failures");
  assert.equal(throttle.waitMs("hana@example.com", "10.0.3.1", T0), 0, "three by email");
});

Deno.test("LoginThrottle: a flood of addresses or names does not evict an account in backoff", () => {
  const throttle = new LoginThrottle({ maxKeys: 100 });
  for (let i = 0; i < 6; i++) throttle.failed("ivan", "10.0.0.20", T0);
  const address = (i: number) => `10.4.${i >> 8}.${i & 255}`;
  for (let i = 0; i < 1_000; i++) throttle.beginRegistration(address(i), T0);
  for (let i = 0; i < 1_000; i++) throttle.failed("mallory", address(i), T0);
  assert.equal(throttle.waitMs("ivan", "10.0.0.99", T0), 1_000, "registrations, addresses");
  for (let i = 0; i < 1_000; i++) throttle.failed(`name${i}`, address(i), T0);
  assert.equal(throttle.waitMs("ivan", "10.0.0.99", T0), 1_000, "names within their free tries");
  assert.equal(throttle.sizes.accounts, 100);
});
