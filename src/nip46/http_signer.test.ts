import assert from "node:assert/strict";
import type { ActiveAuthorization } from "../domain/authorization.ts";
import {
  KeyUnavailableError,
  OverloadedError,
  SignerClosedError,
  WorkerCrashedError,
} from "../signer/errors.ts";
import type { ActionReply, KeyAction } from "../signer/pool.ts";
import { type HttpGrant, type HttpSignerPool, LiveHttpSigner } from "./http_signer.ts";
import type { Decision } from "./listener_types.ts";
import { PolicyGate } from "./policy_gate.ts";
import {
  BUNKER_PUBKEY,
  CLIENT_PUBKEY,
  PEER_PUBKEY,
  recordingLog,
  T0,
  testAuthorization,
  USER_PUBKEY,
} from "./testing.ts";

const GRANT: HttpGrant = {
  grantId: "grant-1",
  authorizationId: testAuthorization().id,
  bunkerPubkey: BUNKER_PUBKEY,
  origin: "https://app.example",
};
const SIGNED_ID = "1".repeat(64);
const NOTE = { kind: 1, created_at: T0 / 1000, tags: [], content: "hello over http" };

/** A pool that records each action and answers with `reply` (or throws `failure`). */
class FakePool implements HttpSignerPool {
  readonly actions: KeyAction[] = [];
  failure: Error | undefined;
  reply: ActionReply = {
    result: JSON.stringify({ ...NOTE, id: SIGNED_ID, pubkey: USER_PUBKEY, sig: "f".repeat(128) }),
  };

  perform(action: KeyAction): Promise<ActionReply> {
    this.actions.push(action);
    return this.failure ? Promise.reject(this.failure) : Promise.resolve(this.reply);
  }
}

/** A signer over a directory holding `authorization` (a mutable box: tests revoke it). */
function setup(authorization: ActiveAuthorization | undefined = testAuthorization()) {
  const live: { authorization: ActiveAuthorization | undefined } = { authorization };
  const pool = new FakePool();
  const decisions: Decision[] = [];
  const { log, records } = recordingLog();
  let now = T0;
  const signer = new LiveHttpSigner({
    directory: {
      get: (bunkerPubkey) =>
        bunkerPubkey === live.authorization?.bunkerPubkey ? live.authorization : undefined,
    },
    policy: new PolicyGate({ now: () => now }),
    signer: pool,
    onDecision: (decision) => void decisions.push(decision),
    log,
    now: () => now,
  });
  return {
    signer,
    pool,
    decisions,
    records,
    live,
    advance: (ms: number) => void (now += ms),
  };
}

Deno.test("LiveHttpSigner.handle() signs an event object with the user key and audits it as http", async () => {
  const { signer, pool, decisions } = setup();
  const answer = await signer.handle(GRANT, "sign_event", [NOTE]);
  assert.equal(answer.status, 200);
  assert.deepEqual(answer.body, pool.reply);
  assert.equal(pool.actions.length, 1);
  const action = pool.actions[0]!;
  assert.equal(action.type, "sign_event");
  assert.deepEqual(action.user, { pubkey: USER_PUBKEY, sealed: "v1.1.user" });
  assert.deepEqual(JSON.parse(String(action.type === "sign_event" && action.template)), NOTE);
  assert.equal(decisions.length, 1);
  const { latencyMs, ...decision } = decisions[0]!;
  assert.ok(latencyMs >= 0);
  assert.deepEqual(decision, {
    authorizationId: GRANT.authorizationId,
    clientPubkey: "http:grant-1",
    method: "sign_event",
    eventKind: 1,
    eventId: SIGNED_ID,
    decision: "allow",
    reason: null,
    clientConnected: true,
    transport: "http",
  });
});

Deno.test("LiveHttpSigner.handle() takes the event as JSON text and checks an extra pubkey param", async () => {
  const { signer, pool } = setup();
  const asText = await signer.handle(GRANT, "sign_event", [JSON.stringify(NOTE), USER_PUBKEY]);
  assert.equal(asText.status, 200);
  const other = await signer.handle(GRANT, "sign_event", [NOTE, CLIENT_PUBKEY]);
  assert.equal(other.status, 400);
  assert.match(
    (other.body as { error: string }).error,
    new RegExp(`^invalid: this grant signs for ${USER_PUBKEY}, not ${CLIENT_PUBKEY}$`),
  );
  const notHex = await signer.handle(GRANT, "sign_event", [NOTE, "npub1xyz"]);
  assert.equal(notHex.status, 400);
  assert.equal(pool.actions.length, 1, "only the valid request reached the pool");
});

Deno.test("LiveHttpSigner.handle() answers 403 forbidden when the policy denies, before any key work", async () => {
  const { signer, pool, decisions } = setup(testAuthorization({ policy: { kinds: [1] } }));
  const answer = await signer.handle(GRANT, "sign_event", [{ ...NOTE, kind: 7 }]);
  assert.deepEqual(answer, {
    status: 403,
    body: { error: "forbidden: kind 7 is not allowed by this policy" },
  });
  assert.equal(pool.actions.length, 0);
  assert.equal(decisions[0]?.decision, "deny");
  assert.equal(decisions[0]?.eventKind, 7);
  assert.equal(decisions[0]?.reason, "forbidden: kind 7 is not allowed by this policy");
  assert.equal(decisions[0]?.transport, "http");
  const methods = setup(testAuthorization({ policy: { methods: ["sign_event"] } }));
  const encrypt = await methods.signer.handle(GRANT, "nip44_encrypt", [PEER_PUBKEY, "hi"]);
  assert.equal(encrypt.status, 403);
  assert.match((encrypt.body as { error: string }).error, /^forbidden: method "nip44_encrypt"/);
});

Deno.test("LiveHttpSigner.handle() answers 400 unsupported for unknown and NIP-46-only methods", async () => {
  const { signer, decisions } = setup();
  for (const method of ["sign_everything", "connect", "logout", "switch_relays", "get_relays"]) {
    const answer = await signer.handle(GRANT, method, []);
    assert.equal(answer.status, 400, method);
    assert.match((answer.body as { error: string }).error, /^unsupported: /, method);
  }
  assert.deepEqual(decisions.map((d) => [d.decision, d.transport]), [
    ["deny", "http"],
    ["deny", "http"],
    ["deny", "http"],
    ["deny", "http"],
    ["deny", "http"],
  ]);
});

Deno.test("LiveHttpSigner.handle() answers 400 invalid for params of the wrong shape", async () => {
  const { signer, pool } = setup();
  const cases: [string, unknown[], RegExp][] = [
    ["sign_event", [], /^invalid: sign_event needs an event object or its JSON/],
    ["sign_event", [42], /^invalid: sign_event needs an event object/],
    ["sign_event", [[1]], /^invalid: sign_event needs an event object/],
    ["sign_event", [NOTE, USER_PUBKEY, "x"], /^invalid: sign_event takes \[event, pubkey\?\]/],
    ["sign_event", ["{not json"], /^invalid: the event template is malformed/],
    ["sign_event", [{ ...NOTE, kind: -1 }], /^invalid: the event template is malformed/],
    ["nip44_encrypt", [PEER_PUBKEY], /^invalid: nip44_encrypt needs \[hex pubkey, text\]/],
    ["nip44_encrypt", ["zz", "hi"], /^invalid: nip44_encrypt needs \[hex pubkey, text\]/],
    ["nip04_decrypt", [PEER_PUBKEY, 5], /^invalid: every param must be a string/],
    ["ping", Array(9).fill(""), /^invalid: params must hold at most 8 values/],
  ];
  for (const [method, params, message] of cases) {
    const answer = await signer.handle(GRANT, method, params);
    assert.equal(answer.status, 400, `${method} ${JSON.stringify(params)}`);
    assert.match((answer.body as { error: string }).error, message);
  }
  assert.equal(pool.actions.length, 0);
  pool.reply = { result: "", error: "invalid: Cannot decrypt NIP-44 payload: invalid MAC" };
  const forged = await signer.handle(GRANT, "nip44_decrypt", [PEER_PUBKEY, "AAAA"]);
  assert.deepEqual(forged, {
    status: 400,
    body: { error: "invalid: Cannot decrypt NIP-44 payload: invalid MAC" },
  });
});

Deno.test("LiveHttpSigner.handle() answers ping and get_public_key without the pool", async () => {
  const { signer, pool } = setup();
  assert.deepEqual(await signer.handle(GRANT, "ping", []), {
    status: 200,
    body: { result: "pong" },
  });
  assert.deepEqual(await signer.handle(GRANT, "get_public_key", []), {
    status: 200,
    body: { result: USER_PUBKEY },
  });
  await signer.handle(GRANT, "nip44_encrypt", [PEER_PUBKEY, "hi"]);
  assert.deepEqual(pool.actions, [{
    type: "encrypt",
    scheme: "nip44",
    user: { pubkey: USER_PUBKEY, sealed: "v1.1.user" },
    peer: PEER_PUBKEY,
    plaintext: "hi",
  }]);
});

Deno.test("LiveHttpSigner.handle() answers 503 with Retry-After when the pool is overloaded or closing", async () => {
  const { signer, pool, decisions } = setup();
  pool.failure = new OverloadedError("Cannot queue signer job: the queue is full");
  assert.deepEqual(await signer.handle(GRANT, "sign_event", [NOTE]), {
    status: 503,
    body: { error: "overloaded: retry later" },
    retryAfterSeconds: 1,
  });
  assert.equal(decisions[0]?.reason, "overloaded: retry later");
  pool.failure = new SignerClosedError("Cannot run signer job: the pool is closed");
  const closing = await signer.handle(GRANT, "sign_event", [NOTE]);
  assert.equal(closing.status, 503);
  assert.match((closing.body as { error: string }).error, /^overloaded: the server is shutting/);
});

Deno.test("LiveHttpSigner.handle() answers 500 when the signer fails on our side, logging a lost key once", async () => {
  const { signer, pool, records } = setup();
  pool.failure = new WorkerCrashedError("Signer worker 0 crashed");
  assert.deepEqual(await signer.handle(GRANT, "sign_event", [NOTE]), {
    status: 500,
    body: { error: "invalid: the signer could not complete the request" },
  });
  pool.failure = new KeyUnavailableError("Cannot open the sealed key");
  for (let i = 0; i < 2; i++) {
    const answer = await signer.handle(GRANT, "sign_event", [NOTE]);
    assert.equal(answer.status, 500);
  }
  assert.equal(records.filter((r) => r.level === "error").length, 1);
});

Deno.test("LiveHttpSigner.handle() refuses a removed, replaced or expired authorization with 401 and no audit row", async () => {
  const { signer, pool, decisions, live, advance } = setup(
    testAuthorization({ expiresAt: T0 / 1000 + 60 }),
  );
  assert.equal((await signer.handle(GRANT, "ping", [])).status, 200);
  advance(60_000);
  assert.deepEqual(await signer.handle(GRANT, "sign_event", [NOTE]), {
    status: 401,
    body: { error: "expired: the authorization has expired" },
  });
  live.authorization = testAuthorization({ id: "00000000-0000-4000-8000-0000000000ff" });
  assert.deepEqual(await signer.handle(GRANT, "ping", []), {
    status: 401,
    body: { error: "revoked: the authorization was revoked" },
  });
  live.authorization = undefined;
  assert.equal((await signer.handle(GRANT, "get_public_key", [])).status, 401);
  assert.equal(pool.actions.length, 0);
  assert.equal(decisions.length, 1, "only the first ping was a decision");
});

Deno.test("LiveHttpSigner.handle() rate-limits per grant with 429 and the seconds to wait", async () => {
  const limited = testAuthorization({
    policy: { rate_limits: { per_client: { per_minute: 2, burst: 2 } } },
  });
  const { signer, advance } = setup(limited);
  for (let i = 0; i < 2; i++) {
    assert.equal((await signer.handle(GRANT, "sign_event", [NOTE])).status, 200);
  }
  const over = await signer.handle(GRANT, "sign_event", [NOTE]);
  assert.equal(over.status, 429);
  assert.match((over.body as { error: string }).error, /^rate-limited: over 2 requests a minute/);
  assert.equal(over.retryAfterSeconds, 30);
  const otherGrant = await signer.handle({ ...GRANT, grantId: "grant-2" }, "ping", []);
  assert.equal(otherGrant.status, 200, "another grant has its own bucket");
  advance(30_000);
  assert.equal((await signer.handle(GRANT, "ping", [])).status, 200);
});
