import assert from "node:assert/strict";
import { connectClient, constantTimeEqual, isConnected } from "./connect.ts";
import {
  CLIENT_PUBKEY,
  FakeClients,
  OTHER_CLIENT_PUBKEY,
  TEST_SECRET,
  testAuthorization,
} from "./testing.ts";

/** Connects `CLIENT_PUBKEY` with `params` and returns the outcome and what the repository got. */
async function connect(params: string[]) {
  const clients = new FakeClients();
  const outcome = await connectClient(clients, testAuthorization(), CLIENT_PUBKEY, params);
  return { outcome, redeemed: clients.redeemed };
}

Deno.test("connectClient() redeems the right secret for the client", async () => {
  const { outcome, redeemed } = await connect(["", TEST_SECRET]);
  assert.deepEqual(outcome, { ok: true, result: "ack" });
  assert.deepEqual(redeemed, [{
    authorizationId: testAuthorization().id,
    clientPubkey: CLIENT_PUBKEY,
    requestedPerms: null,
    clientMetadata: null,
  }]);
});

Deno.test("connectClient() refuses a wrong secret of any length without redeeming", async () => {
  for (const secret of ["x", TEST_SECRET.slice(0, -1), `${TEST_SECRET}x`, "t".repeat(1000)]) {
    const { outcome, redeemed } = await connect(["", secret]);
    assert.deepEqual(outcome, { ok: false, error: "unauthorized: invalid connection secret" });
    assert.deepEqual(redeemed, []);
  }
});

Deno.test("connectClient() acks a client that is already connected without a secret", async () => {
  const clients = new FakeClients();
  const authorization = testAuthorization({
    clients: [{ clientPubkey: CLIENT_PUBKEY, loggedOut: false }],
  });
  const outcome = await connectClient(clients, authorization, CLIENT_PUBKEY, []);
  assert.deepEqual(outcome, { ok: true, result: "ack" });
  assert.deepEqual(clients.redeemed, []);
});

Deno.test("connectClient() passes requested perms on, capped at 2048 chars", async () => {
  const perms = "sign_event:1,".repeat(300);
  const { redeemed } = await connect(["", TEST_SECRET, perms]);
  assert.equal(redeemed[0]?.requestedPerms, perms.slice(0, 2048));
  assert.equal(redeemed[0]?.requestedPerms?.length, 2048);
  assert.equal(
    (await connect(["", TEST_SECRET, "nip44_encrypt"])).redeemed[0]?.requestedPerms,
    "nip44_encrypt",
  );
  assert.equal((await connect(["", TEST_SECRET, ""])).redeemed[0]?.requestedPerms, null);
});

Deno.test("connectClient() passes metadata on when it is a JSON object of at most 4096 chars", async () => {
  const metadata = { name: "app", url: "https://app.test" };
  const { redeemed } = await connect(["", TEST_SECRET, "", JSON.stringify(metadata)]);
  assert.deepEqual(redeemed[0]?.clientMetadata, metadata);
  const padded = JSON.stringify({ name: "x".repeat(4096 - 11) });
  assert.equal(padded.length, 4096);
  assert.deepEqual(
    (await connect(["", TEST_SECRET, "", padded])).redeemed[0]?.clientMetadata,
    JSON.parse(padded),
  );
});

Deno.test("connectClient() ignores metadata that does not parse, is no object or is over 4096 chars", async () => {
  const ignored = [
    "{not json",
    "[1,2]",
    "null",
    '"name"',
    "42",
    "",
    JSON.stringify({ name: "x".repeat(4096 - 10) }),
  ];
  for (const metadata of ignored) {
    const { outcome, redeemed } = await connect(["", TEST_SECRET, "", metadata]);
    assert.deepEqual(outcome, { ok: true, result: "ack" }, metadata.slice(0, 20));
    assert.equal(redeemed[0]?.clientMetadata, null, metadata.slice(0, 20));
  }
});

Deno.test("constantTimeEqual() compares whole strings, lengths included", () => {
  const digest = "0123456789abcdef".repeat(4);
  assert.equal(constantTimeEqual(digest, digest), true);
  assert.equal(constantTimeEqual(digest, `${digest.slice(0, -1)}0`), false);
  assert.equal(constantTimeEqual(`0${digest.slice(1)}`, `1${digest.slice(1)}`), false);
  assert.equal(constantTimeEqual(digest, digest.slice(0, -1)), false);
  assert.equal(constantTimeEqual(digest.slice(0, -1), digest), false);
  assert.equal(constantTimeEqual("", ""), true);
  assert.equal(constantTimeEqual("", "a"), false);
});

Deno.test("isConnected() is true only for a bound client that has not logged out", () => {
  const authorization = testAuthorization({
    clients: [
      { clientPubkey: CLIENT_PUBKEY, loggedOut: false },
      { clientPubkey: OTHER_CLIENT_PUBKEY, loggedOut: true },
    ],
  });
  assert.equal(isConnected(authorization, CLIENT_PUBKEY), true);
  assert.equal(isConnected(authorization, OTHER_CLIENT_PUBKEY), false);
  assert.equal(isConnected(authorization, "f".repeat(64)), false);
});
