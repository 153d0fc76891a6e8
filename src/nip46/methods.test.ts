import assert from "node:assert/strict";
import type { ActiveAuthorization } from "../domain/authorization.ts";
import { METHOD_NAMES, NIP46_METHODS, type Nip46Method } from "../nostr/nip46.ts";
import { type Dispatch, dispatch, parseParams, templateKind } from "./methods.ts";
import {
  CLIENT_PUBKEY,
  FakeClients,
  PEER_PUBKEY,
  TEST_SECRET,
  testAuthorization,
  USER_PUBKEY,
} from "./testing.ts";

const TEMPLATE = JSON.stringify({ kind: 7, created_at: 1, tags: [], content: "+" });
const USER = { pubkey: USER_PUBKEY, sealed: "v1.1.user" };

/** Valid params for every method in the table (the compiler asks for each). */
const VALID_PARAMS: Record<Nip46Method, string[]> = {
  connect: ["", TEST_SECRET],
  ping: [],
  get_public_key: [],
  switch_relays: [],
  get_relays: [],
  logout: [],
  sign_event: [TEMPLATE],
  nip04_encrypt: [PEER_PUBKEY, "hello"],
  nip04_decrypt: [PEER_PUBKEY, "ciphertext"],
  nip44_encrypt: [PEER_PUBKEY, "hello"],
  nip44_decrypt: [PEER_PUBKEY, "ciphertext"],
};

const connected = (): ActiveAuthorization =>
  testAuthorization({ clients: [{ clientPubkey: CLIENT_PUBKEY, loggedOut: false }] });

function call(
  authorization: ActiveAuthorization,
  method: string,
  params: string[],
  clients = new FakeClients(),
): Promise<Dispatch> {
  return dispatch({ clients }, authorization, CLIENT_PUBKEY, { id: "1", method, params });
}

function errorOf(outcome: Dispatch): string | undefined {
  return outcome.action.type === "error" ? outcome.action.error : undefined;
}

Deno.test("dispatch() gives every method in the table a handler result for a connected client", async () => {
  for (const method of METHOD_NAMES) {
    const outcome = await call(connected(), method, VALID_PARAMS[method]);
    assert.notEqual(outcome.action.type, "error", `${method}: ${errorOf(outcome)}`);
  }
});

Deno.test("dispatch() answers an unknown method with unsupported: and the name cut to 64 chars", async () => {
  assert.equal(errorOf(await call(connected(), "sign_schnorr", [])), "unsupported: sign_schnorr");
  const long = "x".repeat(80);
  assert.equal(errorOf(await call(connected(), long, [])), `unsupported: ${"x".repeat(64)}`);
  assert.equal(
    errorOf(await call(connected(), "__proto__", [])),
    "unsupported: __proto__",
    "inherited object keys are no methods",
  );
});

Deno.test("dispatch() refuses key methods from a client that never connected", async () => {
  for (const method of METHOD_NAMES) {
    if (NIP46_METHODS[method].beforeConnect) continue;
    const outcome = await call(testAuthorization(), method, VALID_PARAMS[method]);
    assert.equal(
      errorOf(outcome),
      "unauthorized: connect with the connection secret first",
      method,
    );
  }
});

Deno.test("dispatch() refuses a client that logged out like one that never connected", async () => {
  const authorization = testAuthorization({
    clients: [{ clientPubkey: CLIENT_PUBKEY, loggedOut: true }],
  });
  const outcome = await call(authorization, "get_public_key", []);
  assert.equal(errorOf(outcome), "unauthorized: connect with the connection secret first");
});

Deno.test("dispatch() answers connect and ping before connect", async () => {
  assert.deepEqual(await call(testAuthorization(), "ping", []), {
    action: { type: "result", result: "pong" },
  });
  const outcome = await call(testAuthorization(), "connect", ["", TEST_SECRET]);
  assert.deepEqual(outcome.action, { type: "result", result: "ack" });
});

Deno.test("dispatch() answers params that do not fit the method with invalid:", async () => {
  const cases: [string, string[], string][] = [
    ["sign_event", [], "invalid: sign_event needs an event"],
    ["sign_event", ["not json"], "invalid: the event template is malformed"],
    ["sign_event", [JSON.stringify({ kind: -1 })], "invalid: the event template is malformed"],
    ["sign_event", ["null"], "invalid: the event template is malformed"],
    ["nip44_encrypt", ["not-hex", "hi"], "invalid: nip44_encrypt needs [hex pubkey, text]"],
    ["nip04_decrypt", [PEER_PUBKEY], "invalid: nip04_decrypt needs [hex pubkey, text]"],
    ["nip04_encrypt", [], "invalid: nip04_encrypt needs [hex pubkey, text]"],
  ];
  for (const [method, params, expected] of cases) {
    assert.equal(errorOf(await call(connected(), method, params)), expected, method);
  }
});

Deno.test("dispatch() checks the connection before the params", async () => {
  const outcome = await call(testAuthorization(), "sign_event", []);
  assert.equal(errorOf(outcome), "unauthorized: connect with the connection secret first");
});

Deno.test("dispatch() turns sign_event into a signing action with the template's kind", async () => {
  assert.deepEqual(await call(connected(), "sign_event", [TEMPLATE, "ignored"]), {
    action: { type: "sign_event", user: USER, template: TEMPLATE },
    kind: 7,
  });
});

Deno.test("dispatch() turns nip04/nip44 encrypt and decrypt into the action with that scheme", async () => {
  const encrypt = (scheme: "nip04" | "nip44") => ({
    type: "encrypt",
    scheme,
    user: USER,
    peer: PEER_PUBKEY,
    plaintext: "text",
  });
  const decrypt = (scheme: "nip04" | "nip44") => ({
    type: "decrypt",
    scheme,
    user: USER,
    peer: PEER_PUBKEY,
    ciphertext: "text",
  });
  const expected = {
    nip04_encrypt: encrypt("nip04"),
    nip04_decrypt: decrypt("nip04"),
    nip44_encrypt: encrypt("nip44"),
    nip44_decrypt: decrypt("nip44"),
  };
  for (const [method, action] of Object.entries(expected)) {
    const outcome = await call(connected(), method, [PEER_PUBKEY, "text"]);
    assert.deepEqual(outcome, { action }, method);
  }
});

Deno.test("dispatch() answers get_public_key with the user pubkey", async () => {
  assert.deepEqual(await call(connected(), "get_public_key", []), {
    action: { type: "result", result: USER_PUBKEY },
  });
});

Deno.test("dispatch() answers get_relays exactly like switch_relays: the authorization's relays", async () => {
  const authorization = testAuthorization({
    relays: ["wss://a.test", "wss://b.test"],
    clients: [{ clientPubkey: CLIENT_PUBKEY, loggedOut: false }],
  });
  const switched = await call(authorization, "switch_relays", []);
  assert.deepEqual(switched, {
    action: { type: "result", result: '["wss://a.test","wss://b.test"]' },
  });
  assert.deepEqual(await call(authorization, "get_relays", []), switched);
});

Deno.test("dispatch() logs a client out in the repository and returns its entry", async () => {
  const clients = new FakeClients();
  const authorization = connected();
  const outcome = await call(authorization, "logout", [], clients);
  assert.deepEqual(outcome, {
    action: { type: "result", result: "ack" },
    client: { clientPubkey: CLIENT_PUBKEY, loggedOut: true },
  });
  assert.deepEqual(clients.loggedOut, [[authorization.id, CLIENT_PUBKEY]]);
});

Deno.test("dispatch() connects a client with the right secret and returns its entry", async () => {
  const clients = new FakeClients();
  const authorization = testAuthorization();
  const outcome = await call(authorization, "connect", [USER_PUBKEY, TEST_SECRET], clients);
  assert.deepEqual(outcome, {
    action: { type: "result", result: "ack" },
    client: { clientPubkey: CLIENT_PUBKEY, loggedOut: false },
  });
  assert.deepEqual(clients.redeemed, [{
    authorizationId: authorization.id,
    clientPubkey: CLIENT_PUBKEY,
    requestedPerms: null,
    clientMetadata: null,
  }]);
});

Deno.test("dispatch() refuses connect with a wrong or missing secret without touching the repository", async () => {
  const clients = new FakeClients();
  const cases: [string[], string][] = [
    [["", "wrong"], "unauthorized: invalid connection secret"],
    [["", ""], "unauthorized: a connection secret is required"],
    [[""], "unauthorized: a connection secret is required"],
    [[], "unauthorized: a connection secret is required"],
  ];
  for (const [params, expected] of cases) {
    const outcome = await call(testAuthorization(), "connect", params, clients);
    assert.deepEqual(outcome, { action: { type: "error", error: expected } }, params.join(","));
  }
  assert.deepEqual(clients.redeemed, []);
});

Deno.test("dispatch() relays the repository's refusals of connect, with no client entry", async () => {
  const cases: [FakeClients["redeemResult"], string][] = [
    [
      { status: "exhausted", maxUses: 1 },
      "unauthorized: connection secret already used (max_uses 1)",
    ],
    [
      { status: "logged-out" },
      "unauthorized: this client logged out; a new connection secret is needed",
    ],
    [{ status: "missing" }, "revoked: the authorization is no longer active"],
  ];
  for (const [redeemResult, expected] of cases) {
    const clients = new FakeClients();
    clients.redeemResult = redeemResult;
    const outcome = await call(testAuthorization(), "connect", ["", TEST_SECRET], clients);
    assert.deepEqual(outcome, { action: { type: "error", error: expected } }, redeemResult.status);
  }
});

Deno.test("dispatch() acks connect from a client the repository already knows", async () => {
  const clients = new FakeClients();
  clients.redeemResult = { status: "known" };
  const outcome = await call(testAuthorization(), "connect", ["", TEST_SECRET], clients);
  assert.deepEqual(outcome.action, { type: "result", result: "ack" });
  assert.deepEqual(outcome.client, { clientPubkey: CLIENT_PUBKEY, loggedOut: false });
});

Deno.test("dispatch() passes a repository failure on to its caller", async () => {
  const clients = new FakeClients();
  clients.down = true;
  await assert.rejects(
    call(testAuthorization(), "connect", ["", TEST_SECRET], clients),
    /Cannot reach the database/,
  );
  await assert.rejects(call(connected(), "logout", [], clients), /Cannot reach the database/);
});

Deno.test("parseParams() reads each shape, or names the problem", () => {
  assert.deepEqual(parseParams("ping", "none", ["x", "y"]), {
    ok: true,
    params: { shape: "none", list: ["x", "y"] },
  });
  assert.deepEqual(parseParams("connect", "connect", []), {
    ok: true,
    params: { shape: "connect", list: [] },
  });
  assert.deepEqual(parseParams("sign_event", "event", [TEMPLATE]), {
    ok: true,
    params: { shape: "event", template: TEMPLATE, kind: 7 },
  });
  assert.deepEqual(parseParams("sign_event", "event", []), {
    ok: false,
    problem: "sign_event needs an event",
  });
  const peer = "a".repeat(64);
  assert.deepEqual(parseParams("nip44_encrypt", "peer_text", [peer, "hi"]), {
    ok: true,
    params: { shape: "peer_text", peer, text: "hi" },
  });
  assert.deepEqual(parseParams("nip44_encrypt", "peer_text", ["nope", "hi"]), {
    ok: false,
    problem: "nip44_encrypt needs [hex pubkey, text]",
  });
});

Deno.test("templateKind() reads the kind of a JSON template, else undefined", () => {
  assert.equal(templateKind(TEMPLATE), 7);
  assert.equal(templateKind('{"kind":65535}'), 65535);
  assert.equal(templateKind('{"kind":65536}'), undefined);
  assert.equal(templateKind('{"kind":"1"}'), undefined);
  assert.equal(templateKind("[1]"), undefined);
  assert.equal(templateKind("{"), undefined);
});
