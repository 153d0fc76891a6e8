import assert from "node:assert/strict";
import { silentLog } from "../log.ts";
import { decideRequest, UNAVAILABLE } from "../nip46/decide.ts";
import { CLIENT_PUBKEY, FakeClients, T0, testAuthorization } from "../nip46/testing.ts";
import { deadline, TimeoutError } from "../util/async.ts";
import type { PolicyDocument } from "../policy/document.ts";
import { DatabaseRateLimits } from "./rate_limits.ts";
import type { SharedBucket } from "./store.ts";

const CLIENT = "c".repeat(64);

/** A store whose `take` records the buckets and refuses as the test sets. */
class FakeBuckets {
  readonly takes: SharedBucket[][] = [];
  /** The bucket that refuses (a key suffix), and its wait; undefined: every take succeeds. */
  refuse: { suffix: string; waitMs: number } | undefined;

  take(buckets: readonly SharedBucket[]): Promise<{ key: string; waitMs: number } | undefined> {
    this.takes.push(buckets.map(({ key, perMinute, burst }) => ({ key, perMinute, burst })));
    const refusing = buckets.find((b) => this.refuse && b.key.endsWith(this.refuse.suffix));
    return Promise.resolve(
      refusing && this.refuse ? { key: refusing.key, waitMs: this.refuse.waitMs } : undefined,
    );
  }
}

function authorizationWith(policy: PolicyDocument | null) {
  return testAuthorization({ policyName: policy ? "limited" : null, policy });
}

Deno.test("DatabaseRateLimits costs no query without rate limits", async () => {
  const store = new FakeBuckets();
  const limits = new DatabaseRateLimits(store);
  assert.equal(await limits.charge(authorizationWith(null), CLIENT, "sign_event"), undefined);
  assert.equal(
    await limits.charge(authorizationWith({ methods: ["sign_event"] }), CLIENT, "sign_event"),
    undefined,
  );
  const otherMethod = authorizationWith({
    rate_limits: { per_method: { nip44_encrypt: { per_minute: 5 } } },
  });
  assert.equal(await limits.charge(otherMethod, CLIENT, "sign_event"), undefined);
  assert.deepEqual(store.takes, []);
});

Deno.test("DatabaseRateLimits charges the client's and the method's buckets together", async () => {
  const store = new FakeBuckets();
  const limits = new DatabaseRateLimits(store);
  const authorization = authorizationWith({
    rate_limits: {
      per_client: { per_minute: 120, burst: 20 },
      per_method: { sign_event: { per_minute: 6 } },
    },
  });
  assert.equal(await limits.charge(authorization, CLIENT, "sign_event"), undefined);
  assert.equal(await limits.charge(authorization, CLIENT, "ping"), undefined);
  assert.deepEqual(store.takes, [
    [
      { key: `${authorization.id}:c:${CLIENT}`, perMinute: 120, burst: 20 },
      { key: `${authorization.id}:m:${CLIENT}:sign_event`, perMinute: 6, burst: 6 },
    ],
    [{ key: `${authorization.id}:c:${CLIENT}`, perMinute: 120, burst: 20 }],
  ]);
});

Deno.test("DatabaseRateLimits denies with the limit and the wait in the reason", async () => {
  const store = new FakeBuckets();
  const limits = new DatabaseRateLimits(store);
  const authorization = authorizationWith({
    rate_limits: {
      per_client: { per_minute: 120, burst: 20 },
      per_method: { sign_event: { per_minute: 6 } },
    },
  });
  store.refuse = { suffix: ":sign_event", waitMs: 9_500 };
  assert.equal(
    await limits.charge(authorization, CLIENT, "sign_event"),
    "rate-limited: over 6 sign_event requests a minute from this client; retry in 10 s",
  );
  // The bucket that refused is named, not the strictest.
  store.refuse = { suffix: `:c:${CLIENT}`, waitMs: 1 };
  assert.equal(
    await limits.charge(authorization, CLIENT, "sign_event"),
    "rate-limited: over 120 requests a minute from this client; retry in 1 s",
  );
});

Deno.test("DatabaseRateLimits rejects a charge the database does not answer in time", async () => {
  const takes: SharedBucket[][] = [];
  const stalled = {
    take: (buckets: readonly SharedBucket[]) => {
      takes.push([...buckets]);
      return new Promise<undefined>(() => {});
    },
  };
  const limits = new DatabaseRateLimits(stalled, { timeoutMs: 20 });
  const authorization = authorizationWith({ rate_limits: { per_client: { per_minute: 60 } } });
  await assert.rejects(
    deadline(limits.charge(authorization, CLIENT, "sign_event"), 5_000),
    (error: unknown) => error instanceof TimeoutError && error.message === "Timed out after 20 ms",
  );
  assert.equal(takes.length, 1);
});

Deno.test("decideRequest() answers overloaded when the shared limits time out (fail closed)", async () => {
  const limits = new DatabaseRateLimits({ take: () => new Promise(() => {}) }, { timeoutMs: 20 });
  const authorization = authorizationWith({ rate_limits: { per_client: { per_minute: 60 } } });
  const verdict = await deadline(
    decideRequest({
      directory: { get: () => authorization, setClient: () => {} },
      clients: new FakeClients(),
      policy: { check: () => undefined },
      log: silentLog,
      now: () => T0,
      sharedLimits: limits,
    }, {
      bunkerPubkey: authorization.bunkerPubkey,
      clientPubkey: CLIENT_PUBKEY,
      request: { id: "r1", method: "ping", params: [] },
      relayUrl: "wss://in.test",
    }),
    5_000,
  );
  assert.deepEqual(verdict.action, { type: "error", error: UNAVAILABLE });
});
