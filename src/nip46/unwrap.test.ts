import assert from "node:assert/strict";
import {
  DecryptError,
  InvalidEventError,
  KeyUnavailableError,
  OverloadedError,
  SignerClosedError,
  SignerTimeoutError,
  WorkerCrashedError,
} from "../signer/errors.ts";
import type { UnwrapResult } from "../signer/protocol.ts";
import { RETRY_LATER, SIGNER_FAILED } from "./reply.ts";
import { SeenSet } from "./seen.ts";
import {
  BUNKER_PUBKEY,
  CLIENT_PUBKEY,
  OTHER_CLIENT_PUBKEY,
  requestEvent,
  T0,
  USER_PUBKEY,
} from "./testing.ts";
import { isForged, openEvent, readRequest, requestKey, unwrapEvent } from "./unwrap.ts";

const BUNKER = { pubkey: BUNKER_PUBKEY, sealed: "v1.1.bunker" };

const UNWRAPPED: UnwrapResult = {
  clientPubkey: CLIENT_PUBKEY,
  scheme: "nip44",
  plaintext: '{"id":"1","method":"ping","params":[]}',
  eventId: "1".repeat(64),
  createdAt: T0 / 1000,
};

/** A signer whose unwrap throws `error`. */
const failing = (error: unknown) => ({ unwrapRequest: () => Promise.reject(error) });

Deno.test("openEvent() says forged when either job finds the event invalid", async () => {
  const cases: [unknown, unknown, "drop" | "reject", boolean][] = [
    [new InvalidEventError("sig"), undefined, "drop", true],
    [new DecryptError("mac"), undefined, "drop", false],
    [new OverloadedError("full"), new InvalidEventError("sig"), "reject", true],
    [new OverloadedError("full"), undefined, "reject", false],
  ];
  for (const [unwrapError, rejectError, kind, forged] of cases) {
    const name = `${unwrapError}, then ${rejectError}`;
    const signer = {
      unwrapRequest: () => Promise.reject(unwrapError),
      rejectRequest: () =>
        rejectError === undefined
          ? Promise.resolve({
            event: requestEvent(),
            result: "",
            error: RETRY_LATER,
            requestId: "r1",
          })
          : Promise.reject(rejectError),
    };
    const opened = await openEvent(signer, { bunker: BUNKER, event: requestEvent() });
    assert.equal(opened.kind, kind, name);
    assert.equal(isForged(opened), forged, name);
  }
});

Deno.test("unwrapEvent() hands the event and the bunker key to the signer", async () => {
  const event = requestEvent();
  const inputs: unknown[] = [];
  const signer = {
    unwrapRequest: (input: unknown) => {
      inputs.push(input);
      return Promise.resolve(UNWRAPPED);
    },
  };
  assert.deepEqual(await unwrapEvent(signer, BUNKER, event), {
    kind: "unwrapped",
    unwrapped: UNWRAPPED,
  });
  assert.deepEqual(inputs, [{ bunker: BUNKER, event }]);
});

Deno.test("unwrapEvent() answers overloaded through the reserved lane when the queue is full", async () => {
  const result = await unwrapEvent(failing(new OverloadedError("full")), BUNKER, requestEvent());
  assert.deepEqual(result, { kind: "reject", reason: RETRY_LATER, overloaded: true });
  assert.equal(RETRY_LATER, "overloaded: retry later");
});

Deno.test("unwrapEvent() answers an error when the worker crashed or hung", async () => {
  for (const error of [new WorkerCrashedError("crash"), new SignerTimeoutError("slow")]) {
    const result = await unwrapEvent(failing(error), BUNKER, requestEvent());
    assert.deepEqual(result, { kind: "reject", reason: SIGNER_FAILED, overloaded: false });
  }
  assert.equal(SIGNER_FAILED, "invalid: the signer could not complete the request");
});

Deno.test("unwrapEvent() drops a forged or undecryptable event, named by its error class", async () => {
  const cases: [unknown, string, boolean][] = [
    [new InvalidEventError("bad sig"), "InvalidEventError", true],
    [new DecryptError("bad mac"), "DecryptError", false],
    [new SignerClosedError("closed"), "SignerClosedError", false],
    [new Error("boom"), "unwrap failed", false],
    ["not an error", "unwrap failed", false],
  ];
  for (const [error, reason, forged] of cases) {
    const result = await unwrapEvent(failing(error), BUNKER, requestEvent());
    assert.deepEqual(result, { kind: "drop", reason, forged });
  }
});

Deno.test("unwrapEvent() reports a bunker key that cannot be opened apart from a bad event", async () => {
  const error = new KeyUnavailableError("sealed");
  assert.deepEqual(await unwrapEvent(failing(error), BUNKER, requestEvent()), {
    kind: "unavailable",
    error,
  });
});

/** Reads `plaintext` from `clientPubkey` to `bunkerPubkey` against `seen`, counting clock reads. */
function read(
  plaintext: string,
  seen: SeenSet,
  clientPubkey = CLIENT_PUBKEY,
  bunkerPubkey = BUNKER_PUBKEY,
) {
  const clock = { now: T0, reads: 0 };
  const result = readRequest({ bunkerPubkey, clientPubkey, plaintext }, seen, () => {
    clock.reads++;
    return clock.now;
  });
  return { result, reads: clock.reads };
}

const seenSet = () => new SeenSet({ ttlMs: 1_000, max: 100 });

Deno.test("readRequest() returns a valid request with its id", () => {
  const { result } = read('{"id":"r1","method":"ping"}', seenSet());
  assert.deepEqual(result, {
    kind: "request",
    requestId: "r1",
    request: { id: "r1", method: "ping", params: [] },
  });
});

Deno.test("readRequest() returns an invalid request that has an id, to be answered", () => {
  const { result } = read('{"id":"r1","method":"sign_event","params":[1]}', seenSet());
  assert.deepEqual(result, {
    kind: "invalid",
    requestId: "r1",
    error: "invalid: every param must be a string",
  });
});

Deno.test("readRequest() drops a request without a usable id, without reading the clock", () => {
  const cases: [string, string][] = [
    ["not json", "invalid: request is not JSON"],
    ["[1]", "invalid: request is not an object"],
    ['{"method":"ping"}', "invalid: request id is missing"],
    [`{"id":"${"x".repeat(129)}","method":"ping"}`, "invalid: request id is missing"],
  ];
  for (const [plaintext, reason] of cases) {
    const seen = seenSet();
    const { result, reads } = read(plaintext, seen);
    assert.deepEqual(result, { kind: "drop", reason });
    assert.equal(reads, 0);
    assert.equal(seen.size, 0);
  }
});

Deno.test("readRequest() calls a repeated (bunker, client, request id) a duplicate, valid or not", () => {
  const seen = seenSet();
  assert.equal(read('{"id":"r1","method":"ping"}', seen).result.kind, "request");
  assert.deepEqual(read('{"id":"r1","method":"get_public_key"}', seen).result, {
    kind: "duplicate",
    requestId: "r1",
  });
  assert.equal(read('{"id":"r2","method":7}', seen).result.kind, "invalid");
  assert.deepEqual(read('{"id":"r2","method":"ping"}', seen).result, {
    kind: "duplicate",
    requestId: "r2",
  });
  const other = read('{"id":"r1","method":"ping"}', seen, OTHER_CLIENT_PUBKEY);
  assert.equal(other.result.kind, "request", "request ids are per client");
  const otherBunker = read('{"id":"r1","method":"ping"}', seen, CLIENT_PUBKEY, USER_PUBKEY);
  assert.equal(otherBunker.result.kind, "request", "request ids are per bunker");
});

Deno.test("requestKey() keeps bunker, client and request id apart", () => {
  assert.equal(
    requestKey(BUNKER_PUBKEY, CLIENT_PUBKEY, "a:b"),
    `${BUNKER_PUBKEY}:${CLIENT_PUBKEY}:a:b`,
  );
  assert.notEqual(
    requestKey(BUNKER_PUBKEY, CLIENT_PUBKEY, "1"),
    requestKey(USER_PUBKEY, CLIENT_PUBKEY, "1"),
  );
});

Deno.test("readRequest() records the request id at the injected time", () => {
  const seen = seenSet();
  readRequest(
    {
      bunkerPubkey: BUNKER_PUBKEY,
      clientPubkey: CLIENT_PUBKEY,
      plaintext: '{"id":"r1","method":"ping"}',
    },
    seen,
    () => T0,
  );
  const again = (now: number) =>
    readRequest(
      {
        bunkerPubkey: BUNKER_PUBKEY,
        clientPubkey: CLIENT_PUBKEY,
        plaintext: '{"id":"r1","method":"ping"}',
      },
      seen,
      () => now,
    );
  assert.equal(again(T0 + 999).kind, "duplicate");
  assert.equal(again(T0 + 2_000).kind, "request", "remembered for the set's ttl only");
});
