/**
 * The listener with several instances (`claims` set): an answer, and the reserved lane's error
 * reply alike, is published only by the instance that claimed the request.
 */
import assert from "node:assert/strict";
import { OverloadedError, WorkerCrashedError } from "../signer/errors.ts";
import { droppedLine, fakeListener, RELAY_IN } from "./listener_testing.ts";
import type { RequestClaims } from "./listener_types.ts";
import { MAX_REQUEST_ID_CHARS } from "./protocol.ts";
import { RETRY_LATER, SIGNER_FAILED } from "./reply.ts";
import { BUNKER_PUBKEY, CLIENT_PUBKEY } from "./testing.ts";

/** Claims that answer `answer` and record every request claimed. */
function fakeClaims(answer: () => Promise<boolean>) {
  const claimed: { bunkerPubkey: string; clientPubkey: string; requestId: string }[] = [];
  const claims: RequestClaims = {
    claim: (request) => {
      claimed.push(request);
      return answer();
    },
  };
  return { claims, claimed };
}

const R1 = { bunkerPubkey: BUNKER_PUBKEY, clientPubkey: CLIENT_PUBKEY, requestId: "r1" };

Deno.test("Listener drops a request another instance claimed", async () => {
  const { claims, claimed } = fakeClaims(() => Promise.resolve(false));
  const t = fakeListener({ claims });
  await t.deliver(t.request({ id: "r1", method: "ping" }));
  assert.deepEqual(claimed, [R1]);
  assert.deepEqual(t.signer.responds, []);
  assert.deepEqual(t.publisher.published, []);
  assert.deepEqual(t.records, [droppedLine("answered by another instance")]);
  assert.equal(t.listener.stats.claimedElsewhere, 1);
});

Deno.test("Listener claims the reserved lane's error reply before publishing it", async () => {
  for (
    const [error, reason] of [[new OverloadedError("full"), RETRY_LATER], [
      new WorkerCrashedError("crash"),
      SIGNER_FAILED,
    ]] as const
  ) {
    const { claims, claimed } = fakeClaims(() => Promise.resolve(true));
    const t = fakeListener({ claims });
    t.signer.unwrapError = error;
    await t.deliver(t.request({ id: "r1", method: "ping" }));
    assert.deepEqual(t.signer.rejects.map((r) => r.error), [reason]);
    assert.deepEqual(claimed, [R1], reason);
    assert.equal(t.publisher.published.length, 1, reason);
    assert.equal(t.listener.stats.answered, 1);
  }
});

Deno.test("Listener does not publish an overloaded reply to a request another instance claimed", async () => {
  const { claims, claimed } = fakeClaims(() => Promise.resolve(false));
  const t = fakeListener({ claims });
  t.signer.unwrapError = new OverloadedError("full");
  await t.deliver(t.request({ id: "r1", method: "ping" }));
  assert.deepEqual(claimed, [R1]);
  assert.equal(t.signer.rejects.length, 1);
  assert.deepEqual(t.publisher.published, [], "the other instance answers");
  assert.deepEqual(t.records, [droppedLine("answered by another instance")]);
  assert.equal(t.listener.stats.overloaded, 1);
  assert.equal(t.listener.stats.claimedElsewhere, 1);
  assert.equal(t.listener.stats.answered, 0);
});

Deno.test("Listener does not publish a signer-failed reply when the claim cannot be made", async () => {
  const { claims } = fakeClaims(() => Promise.reject(new Error("connection refused")));
  const t = fakeListener({ claims });
  t.signer.unwrapError = new WorkerCrashedError("crash");
  await t.deliver(t.request({ id: "r1", method: "ping" }));
  assert.deepEqual(t.publisher.published, []);
  assert.equal(t.listener.stats.claimFailed, 1);
  assert.equal(t.listener.stats.dropped, 1);
  assert.deepEqual(t.records.map((r) => [r.level, r.msg, r.relayUrl]), [
    ["warn", "Cannot claim a request: not answering it", RELAY_IN],
  ]);
});

Deno.test("Listener drops a rejection whose request id the read stage would refuse, unclaimed", async () => {
  const { claims, claimed } = fakeClaims(() => Promise.resolve(true));
  const t = fakeListener({ claims });
  t.signer.unwrapError = new OverloadedError("full");
  await t.deliver(
    t.request({ id: "x".repeat(MAX_REQUEST_ID_CHARS + 1), method: "ping" }, CLIENT_PUBKEY, "a"),
    t.request({ id: "", method: "ping" }, CLIENT_PUBKEY, "b"),
  );
  assert.deepEqual(claimed, []);
  assert.deepEqual(t.publisher.published, []);
  assert.deepEqual(t.records, [
    droppedLine("rejection without a usable request id"),
    droppedLine("rejection without a usable request id"),
  ]);
});

Deno.test("Listener without claims publishes the reserved lane's error reply at once", async () => {
  const t = fakeListener();
  t.signer.unwrapError = new OverloadedError("full");
  await t.deliver(t.request({ id: "x".repeat(MAX_REQUEST_ID_CHARS + 1), method: "ping" }));
  assert.equal(t.publisher.published.length, 1);
});
