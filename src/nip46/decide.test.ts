import assert from "node:assert/strict";
import type { ActiveAuthorization, AuthorizedClient } from "../domain/authorization.ts";
import type { PolicyRequest } from "../policy/rule.ts";
import { type DecideDeps, decideRequest, lifecycleRefusal, refuse, UNAVAILABLE } from "./decide.ts";
import type { Nip46Request } from "./protocol.ts";
import {
  BUNKER_PUBKEY,
  CLIENT_PUBKEY,
  FakeClients,
  PEER_PUBKEY,
  recordingLog,
  T0,
  TEST_SECRET,
  testAuthorization,
  USER_PUBKEY,
} from "./testing.ts";

const RELAY = "wss://in.test";
const TEMPLATE = JSON.stringify({ kind: 1, created_at: 1, tags: [], content: "hello" });

/** Deps around `current` (the newest copy), with a policy that denies with `denial`. */
function deps(current: ActiveAuthorization | undefined, denial?: string) {
  const clients = new FakeClients();
  const { log, records } = recordingLog();
  const checked: PolicyRequest[] = [];
  const setClients: [string, AuthorizedClient][] = [];
  const d: DecideDeps = {
    directory: {
      get: (bunkerPubkey) => bunkerPubkey === BUNKER_PUBKEY ? current : undefined,
      setClient: (bunkerPubkey, client) => void setClients.push([bunkerPubkey, client]),
    },
    clients,
    policy: {
      check: (_authorization, request) => {
        checked.push(request);
        return denial;
      },
    },
    log,
    now: () => T0,
  };
  return { deps: d, clients, records, checked, setClients };
}

const connected = (overrides: Partial<ActiveAuthorization> = {}) =>
  testAuthorization({ clients: [{ clientPubkey: CLIENT_PUBKEY, loggedOut: false }], ...overrides });

function input(method: string, params: string[] = []) {
  const request: Nip46Request = { id: "r1", method, params };
  return { bunkerPubkey: BUNKER_PUBKEY, clientPubkey: CLIENT_PUBKEY, request, relayUrl: RELAY };
}

Deno.test("decideRequest() answers revoked when the authorization is no longer live", async () => {
  const { deps: d, clients, checked } = deps(undefined);
  assert.deepEqual(await decideRequest(d, input("connect", ["", TEST_SECRET])), {
    action: { type: "error", error: "revoked: the authorization was revoked" },
    eventKind: null,
  });
  assert.deepEqual(clients.redeemed, []);
  assert.deepEqual(checked, []);
});

Deno.test("decideRequest() answers expired once the authorization's expiry has passed", async () => {
  const { deps: d, checked } = deps(connected({ expiresAt: T0 / 1000 }));
  assert.deepEqual(
    await decideRequest(d, input("ping")),
    refuse("expired: the authorization has expired"),
  );
  assert.deepEqual(checked, []);
  const { deps: later } = deps(connected({ expiresAt: T0 / 1000 + 1 }));
  assert.deepEqual(await decideRequest(later, input("ping")), {
    action: { type: "result", result: "pong" },
    eventKind: null,
  });
});

Deno.test("lifecycleRefusal() reads the clock only for an authorization that expires", () => {
  let reads = 0;
  const now = () => {
    reads++;
    return T0;
  };
  assert.equal(lifecycleRefusal(testAuthorization(), now), undefined);
  assert.equal(reads, 0);
  assert.equal(lifecycleRefusal(testAuthorization({ expiresAt: T0 / 1000 + 1 }), now), undefined);
  assert.equal(
    lifecycleRefusal(testAuthorization({ expiresAt: T0 / 1000 - 1 }), now),
    "expired: the authorization has expired",
  );
  assert.equal(reads, 2);
});

Deno.test("decideRequest() sends dispatch's refusals without asking the policy", async () => {
  const { deps: d, checked } = deps(testAuthorization(), "forbidden: no");
  const verdict = await decideRequest(d, input("sign_event", [TEMPLATE]));
  assert.deepEqual(verdict, refuse("unauthorized: connect with the connection secret first"));
  assert.deepEqual(checked, []);
});

Deno.test("decideRequest() lets connect through whatever the policy says and records the client", async () => {
  const { deps: d, checked, setClients } = deps(testAuthorization(), "forbidden: no");
  const verdict = await decideRequest(d, input("connect", ["", TEST_SECRET]));
  assert.deepEqual(verdict, { action: { type: "result", result: "ack" }, eventKind: null });
  assert.deepEqual(checked, []);
  assert.deepEqual(setClients, [[BUNKER_PUBKEY, {
    clientPubkey: CLIENT_PUBKEY,
    loggedOut: false,
  }]]);
});

Deno.test("decideRequest() records a logout on the newest copy", async () => {
  const { deps: d, setClients, clients } = deps(connected());
  const verdict = await decideRequest(d, input("logout"));
  assert.deepEqual(verdict, { action: { type: "result", result: "ack" }, eventKind: null });
  assert.deepEqual(setClients, [[BUNKER_PUBKEY, { clientPubkey: CLIENT_PUBKEY, loggedOut: true }]]);
  assert.equal(clients.loggedOut.length, 1);
});

Deno.test("decideRequest() answers the policy's denial, keeping the event kind", async () => {
  const { deps: d, checked } = deps(connected(), "forbidden: kind 1 is not allowed");
  assert.deepEqual(await decideRequest(d, input("sign_event", [TEMPLATE])), {
    action: { type: "error", error: "forbidden: kind 1 is not allowed" },
    eventKind: 1,
  });
  assert.deepEqual(checked, [{
    method: "sign_event",
    clientPubkey: CLIENT_PUBKEY,
    userPubkey: USER_PUBKEY,
    kind: 1,
    content: "hello",
    counterparty: undefined,
    createdAt: 1,
  }]);
});

Deno.test("decideRequest() gives the policy an encryption's plaintext and peer", async () => {
  const { deps: d, checked } = deps(connected());
  const verdict = await decideRequest(d, input("nip44_encrypt", [PEER_PUBKEY, "secret note"]));
  assert.equal(verdict.action.type, "encrypt");
  assert.deepEqual(checked, [{
    method: "nip44_encrypt",
    clientPubkey: CLIENT_PUBKEY,
    userPubkey: USER_PUBKEY,
    kind: undefined,
    content: "secret note",
    counterparty: PEER_PUBKEY,
    createdAt: undefined,
  }]);
});

Deno.test("decideRequest() returns the action of an allowed request with its event kind", async () => {
  const { deps: d } = deps(connected());
  assert.deepEqual(await decideRequest(d, input("sign_event", [TEMPLATE])), {
    action: {
      type: "sign_event",
      user: { pubkey: USER_PUBKEY, sealed: "v1.1.user" },
      template: TEMPLATE,
    },
    eventKind: 1,
  });
});

Deno.test("decideRequest() answers overloaded and logs when the database cannot be reached", async () => {
  const { deps: d, clients, records, setClients } = deps(testAuthorization());
  clients.down = true;
  const verdict = await decideRequest(d, input("connect", ["", TEST_SECRET]));
  assert.deepEqual(verdict, refuse(UNAVAILABLE));
  assert.equal(UNAVAILABLE, "overloaded: the request could not be completed now, retry later");
  assert.deepEqual(setClients, []);
  assert.equal(records.length, 1);
  const [record] = records;
  assert.deepEqual({ ...record, error: undefined }, {
    level: "error",
    ns: "nip46.listener",
    msg: "Cannot handle request",
    method: "connect",
    relayUrl: RELAY,
    error: undefined,
  });
  assert.match(String(record?.error), /Cannot reach the database/);
});

Deno.test("refuse() is an error verdict without an event kind", () => {
  assert.deepEqual(refuse("invalid: x"), {
    action: { type: "error", error: "invalid: x" },
    eventKind: null,
  });
});
