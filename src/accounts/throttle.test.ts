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
  throttle.succeeded("bob");
  assert.equal(throttle.waitMs("bob", "10.0.0.6", T0), 0);
});

Deno.test("LoginThrottle forgets failures after an hour without one, and holds a bounded number", () => {
  const throttle = new LoginThrottle({ maxKeys: 10 });
  for (let i = 0; i < 6; i++) throttle.failed("carol", "10.0.0.5", T0);
  assert.ok(throttle.waitMs("carol", "10.0.0.5", T0) > 0);
  assert.equal(throttle.waitMs("carol", "10.0.0.5", T0 + 60 * 60_000), 0);
  for (let i = 0; i < 50; i++) throttle.failed(`u${i}`, `10.1.0.${i}`, T0);
  assert.equal(throttle.size, 10);
});

Deno.test("LoginThrottle: began() counts at once; succeeded() with the address refunds it", () => {
  const throttle = new LoginThrottle();
  for (let i = 0; i < 6; i++) throttle.began("dave", "10.0.0.3", T0);
  assert.ok(throttle.waitMs("dave", "10.0.0.3", T0) > 0, "six in flight: the sixth waits");
  throttle.succeeded("dave", "10.0.0.3");
  assert.equal(throttle.waitMs("dave", "10.0.0.3", T0), 0, "five left on the address: free");
  for (let i = 0; i < 100; i++) {
    throttle.began("erin", "10.0.0.4", T0);
    throttle.succeeded("erin", "10.0.0.4");
  }
  assert.equal(throttle.waitMs("someone", "10.0.0.4", T0), 0, "good logins leave no count");
  assert.equal(throttle.size, 1, "only dave's address is held");
});
