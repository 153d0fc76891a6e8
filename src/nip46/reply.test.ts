import assert from "node:assert/strict";
import {
  DecryptError,
  InvalidEventError,
  OverloadedError,
  SignerClosedError,
  SignerTimeoutError,
  WorkerCrashedError,
} from "../signer/errors.ts";
import type { RejectResult, ReplyAction, RespondInput, RespondResult } from "../signer/protocol.ts";
import {
  type DecisionInput,
  decisionOf,
  rejectEvent,
  type ReplyJob,
  replyRelays,
  respondTo,
  RETRY_LATER,
  SIGNER_FAILED,
} from "./reply.ts";
import { BUNKER_PUBKEY, CLIENT_PUBKEY, requestEvent, T0, USER_PUBKEY } from "./testing.ts";

const BUNKER = { pubkey: BUNKER_PUBKEY, sealed: "v1.1.bunker" };
const JOB: ReplyJob = {
  bunker: BUNKER,
  clientPubkey: CLIENT_PUBKEY,
  scheme: "nip04",
  requestId: "r1",
  createdAt: T0 / 1000,
};
const PING: ReplyAction = { type: "result", result: "pong" };
const REPLY = requestEvent({ pubkey: BUNKER_PUBKEY, content: "reply" });

/** A signer whose `respond` runs `answers` in turn and records every input. */
function signer(...answers: ((input: RespondInput) => Promise<RespondResult>)[]) {
  const inputs: RespondInput[] = [];
  return {
    inputs,
    respond: (input: RespondInput) => {
      inputs.push(input);
      const answer = answers[inputs.length - 1];
      return answer ? answer(input) : Promise.reject(new Error("No answer left"));
    },
  };
}

const ok = (input: RespondInput) =>
  Promise.resolve({
    event: REPLY,
    result: input.action.type === "result" ? input.action.result : "",
    error: input.action.type === "error" ? input.action.error : undefined,
  });

Deno.test("respondTo() runs the action in the signer with the reply job", async () => {
  const s = signer(ok);
  assert.deepEqual(await respondTo(s, JOB, PING), {
    event: REPLY,
    result: "pong",
    error: undefined,
  });
  assert.deepEqual(s.inputs, [{ ...JOB, action: PING }]);
});

Deno.test("respondTo() answers retry later when the signer queue is full", async () => {
  const s = signer(() => Promise.reject(new OverloadedError("full")), ok);
  const response = await respondTo(s, JOB, PING);
  assert.equal(response.error, RETRY_LATER);
  assert.deepEqual(s.inputs[1], { ...JOB, action: { type: "error", error: RETRY_LATER } });
});

Deno.test("respondTo() answers an error when the action failed in the worker", async () => {
  for (const error of [new WorkerCrashedError("x"), new SignerTimeoutError("x"), new Error("x")]) {
    const s = signer(() => Promise.reject(error), ok);
    assert.equal((await respondTo(s, JOB, PING)).error, SIGNER_FAILED, error.name);
  }
});

Deno.test("respondTo() rethrows a closed signer and a failed fallback", async () => {
  const closed = signer(() => Promise.reject(new SignerClosedError("closed")), ok);
  await assert.rejects(respondTo(closed, JOB, PING), SignerClosedError);
  assert.equal(closed.inputs.length, 1, "no fallback on a closed signer");
  const twice = signer(
    () => Promise.reject(new WorkerCrashedError("x")),
    () => Promise.reject(new WorkerCrashedError("again")),
  );
  await assert.rejects(respondTo(twice, JOB, PING), /again/);
});

/** A signer whose `rejectRequest` answers `answer`. */
const rejecting = (answer: () => Promise<RejectResult | undefined>) => ({
  rejectRequest: answer,
});

Deno.test("rejectEvent() returns the reply the reserved lane built", async () => {
  const inputs: unknown[] = [];
  const event = requestEvent();
  const result = await rejectEvent(
    {
      rejectRequest: (input) => {
        inputs.push(input);
        return Promise.resolve({ event: REPLY, result: "", error: RETRY_LATER, requestId: "r7" });
      },
    },
    BUNKER,
    event,
    RETRY_LATER,
  );
  assert.deepEqual(result, { kind: "reply", event: REPLY, requestId: "r7" });
  assert.deepEqual(inputs, [{ bunker: BUNKER, event, error: RETRY_LATER }]);
});

Deno.test("rejectEvent() drops a request without an id", async () => {
  const result = await rejectEvent(
    rejecting(() => Promise.resolve(undefined)),
    BUNKER,
    requestEvent(),
    RETRY_LATER,
  );
  assert.deepEqual(result, {
    kind: "drop",
    reason: 'cannot answer "overloaded: retry later": no request id',
    forged: false,
  });
});

Deno.test("rejectEvent() drops when the reserved lane cannot answer, saying why", async () => {
  const cases: [unknown, string, boolean][] = [
    [new OverloadedError("full"), "the reserved lane is full", false],
    [new DecryptError("mac"), "DecryptError", false],
    [new InvalidEventError("bad sig"), "InvalidEventError", true],
    [new Error("boom"), "reject failed", false],
  ];
  for (const [error, why, forged] of cases) {
    const result = await rejectEvent(
      rejecting(() => Promise.reject(error)),
      BUNKER,
      requestEvent(),
      SIGNER_FAILED,
    );
    const reason = `cannot answer "${SIGNER_FAILED}": ${why}`;
    assert.deepEqual(result, { kind: "drop", reason, forged });
  }
});

const SIGNED_ID = "5".repeat(64);
const REQUEST_ID = "6".repeat(64);
const SIGN: ReplyAction = {
  type: "sign_event",
  user: { pubkey: USER_PUBKEY, sealed: "v1.1.user" },
  template: "{}",
};

function decision(fields: Partial<DecisionInput>) {
  return decisionOf({
    authorizationId: "a1",
    clientPubkey: CLIENT_PUBKEY,
    method: "ping",
    eventKind: null,
    action: PING,
    response: { event: REPLY, result: "pong" },
    requestEventId: REQUEST_ID,
    latencyMs: 12,
    clientConnected: true,
    ...fields,
  });
}

Deno.test("decisionOf() records an allowed request under the request event's id", () => {
  assert.deepEqual(decision({}), {
    authorizationId: "a1",
    clientPubkey: CLIENT_PUBKEY,
    method: "ping",
    eventKind: null,
    eventId: REQUEST_ID,
    decision: "allow",
    reason: null,
    latencyMs: 12,
    clientConnected: true,
    transport: "nip46",
  });
});

Deno.test("decisionOf() records a reply with an error as denied, with the reason", () => {
  const denied = decision({
    method: "sign_event",
    eventKind: 4,
    action: { type: "error", error: "forbidden: kind 4" },
    response: { event: REPLY, result: "", error: "forbidden: kind 4" },
  });
  assert.equal(denied.decision, "deny");
  assert.equal(denied.reason, "forbidden: kind 4");
  assert.equal(denied.eventKind, 4);
  assert.equal(denied.eventId, REQUEST_ID);
});

Deno.test("decisionOf() records a signed event under its own id", () => {
  const signed = { event: REPLY, result: JSON.stringify({ id: SIGNED_ID }) };
  assert.equal(decision({ action: SIGN, response: signed }).eventId, SIGNED_ID);
  const unparsable = { event: REPLY, result: "not json" };
  assert.equal(decision({ action: SIGN, response: unparsable }).eventId, REQUEST_ID);
  const failed = { event: REPLY, result: "", error: SIGNER_FAILED };
  assert.equal(decision({ action: SIGN, response: failed }).eventId, REQUEST_ID);
  assert.equal(decision({ action: PING, response: signed }).eventId, REQUEST_ID);
});

Deno.test("replyRelays() puts the incoming relay first and drops repeats", () => {
  assert.deepEqual(replyRelays("wss://in", ["wss://a", "wss://in", "wss://a"]), [
    "wss://in",
    "wss://a",
  ]);
  assert.deepEqual(replyRelays("wss://in", []), ["wss://in"]);
});
