import assert from "node:assert/strict";
import type { PolicyRequest } from "../policy/rule.ts";
import { PolicyGate } from "./policy_gate.ts";
import {
  CLIENT_PUBKEY,
  OTHER_CLIENT_PUBKEY,
  T0,
  testAuthorization,
  USER_PUBKEY,
} from "./testing.ts";

/** One request a minute, no burst: the second request within a minute is rate-limited. */
const ONE_A_MINUTE = { rate_limits: { per_client: { per_minute: 1, burst: 1 } } };

const PING: PolicyRequest = {
  method: "ping",
  clientPubkey: CLIENT_PUBKEY,
  userPubkey: USER_PUBKEY,
};

/** A gate on a clock the test moves by hand. */
function gate() {
  const clock = { now: T0 };
  return { clock, gate: new PolicyGate({ now: () => clock.now }) };
}

Deno.test("PolicyGate allows what the policy allows and says why it denies", () => {
  const { gate: policy } = gate();
  const authorization = testAuthorization({ policy: { methods: ["nip44_decrypt"] } });
  assert.equal(policy.check(authorization, PING), undefined);
  const denial = policy.check(authorization, { ...PING, method: "sign_event", kind: 1 });
  assert.match(denial ?? "", /^forbidden: /);
});

Deno.test("PolicyGate keeps one compiled policy per authorization object", () => {
  const { gate: policy } = gate();
  const authorization = testAuthorization({ policy: ONE_A_MINUTE });
  assert.equal(policy.check(authorization, PING), undefined);
  assert.match(policy.check(authorization, PING) ?? "", /^rate-limited: /);
  // Buckets are per client: another client still has its token.
  assert.equal(
    policy.check(authorization, { ...PING, clientPubkey: OTHER_CLIENT_PUBKEY }),
    undefined,
  );
});

Deno.test("PolicyGate keeps rate-limit state across an upsert that only changes the clients", () => {
  const { gate: policy } = gate();
  const before = testAuthorization({ policy: ONE_A_MINUTE });
  assert.equal(policy.check(before, PING), undefined);
  const after = { ...before, clients: [{ clientPubkey: CLIENT_PUBKEY, loggedOut: false }] };
  assert.match(policy.check(after, PING) ?? "", /^rate-limited: /);
  // A policy equal in content (as the database reload produces) is the same policy.
  const reloaded = { ...before, policy: structuredClone(ONE_A_MINUTE) };
  assert.match(policy.check(reloaded, PING) ?? "", /^rate-limited: /);
});

Deno.test("PolicyGate starts fresh when the policy document changes", () => {
  const { gate: policy } = gate();
  const before = testAuthorization({ policy: ONE_A_MINUTE });
  assert.equal(policy.check(before, PING), undefined);
  const changed = {
    ...before,
    policy: { rate_limits: { per_client: { per_minute: 1, burst: 2 } } },
  };
  assert.equal(policy.check(changed, PING), undefined);
  assert.equal(policy.check(changed, PING), undefined);
  assert.match(policy.check(changed, PING) ?? "", /^rate-limited: /);
});

Deno.test("PolicyGate.forget() drops the rate-limit state of a removed authorization", () => {
  const { gate: policy } = gate();
  const authorization = testAuthorization({ policy: ONE_A_MINUTE });
  assert.equal(policy.check(authorization, PING), undefined);
  policy.forget(authorization.id);
  // The cache is per object: the same object keeps its compiled policy (and its buckets).
  assert.match(policy.check(authorization, PING) ?? "", /^rate-limited: /);
  // Re-added (a new object with the same id and policy): a fresh compiled policy.
  const readded = { ...authorization };
  assert.equal(policy.check(readded, PING), undefined);
  assert.match(policy.check(readded, PING) ?? "", /^rate-limited: /);
});

Deno.test("PolicyGate reads time from its injected clock", () => {
  const { clock, gate: policy } = gate();
  const authorization = testAuthorization({ policy: ONE_A_MINUTE });
  assert.equal(policy.check(authorization, PING), undefined);
  clock.now += 30_000;
  assert.equal(
    policy.check(authorization, PING),
    "rate-limited: over 1 requests a minute from this client; retry in 30 s",
  );
  clock.now += 30_000;
  assert.equal(policy.check(authorization, PING), undefined);
});

Deno.test("PolicyGate denies everything under an invalid policy document", () => {
  const { gate: policy } = gate();
  const authorization = testAuthorization({ policy: { methods: "all" } });
  assert.match(
    policy.check(authorization, PING) ?? "",
    /^forbidden: the authorization's policy is invalid/,
  );
});
