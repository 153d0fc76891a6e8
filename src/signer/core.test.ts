import assert from "node:assert/strict";
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from "nostr-tools/pure";
import { decrypt as decryptNip49 } from "nostr-tools/nip49";
import { Vault } from "../vault/vault.ts";
import { SignerCore } from "./core.ts";
import { DecryptError, InvalidEventError, InvalidJobError, KeyUnavailableError } from "./errors.ts";
import type { ReplyAction, Scheme } from "./protocol.ts";
import {
  clientDecrypt,
  clientEncrypt,
  clientRequest,
  openReply,
  sealedKey,
  TEST_MASTER_KEY,
  type TestKey,
} from "./testing.ts";

interface Setup {
  core: SignerCore;
  vault: Vault;
  bunker: TestKey;
  user: TestKey;
  clientSecret: Uint8Array;
  clientPubkey: string;
}

async function setup(): Promise<Setup> {
  const vault = await Vault.create(TEST_MASTER_KEY);
  const clientSecret = generateSecretKey();
  return {
    core: new SignerCore(vault),
    vault,
    bunker: await sealedKey(vault),
    user: await sealedKey(vault),
    clientSecret,
    clientPubkey: getPublicKey(clientSecret),
  };
}

async function respond(s: Setup, action: ReplyAction, scheme: Scheme = "nip44") {
  const reply = await s.core.respond({
    bunker: s.bunker.ref,
    clientPubkey: s.clientPubkey,
    scheme,
    requestId: "req-1",
    action,
    createdAt: 1_700_000_123,
  });
  assert.equal(reply.event.created_at, 1_700_000_123);
  assert.deepEqual(reply.event.tags, [["p", s.clientPubkey]]);
  const opened = openReply(reply.event, s.clientSecret, s.bunker.pubkey, scheme);
  assert.equal(opened.id, "req-1");
  assert.equal(opened.result, reply.result);
  assert.equal(opened.error, reply.error);
  return opened;
}

for (const scheme of ["nip44", "nip04"] as const) {
  Deno.test(`SignerCore.unwrap() verifies and decrypts a ${scheme} request built with nostr-tools`, async () => {
    const s = await setup();
    const message = { id: "abc123-7", method: "ping", params: [] };
    const event = clientRequest(s.clientSecret, s.bunker.pubkey, message, scheme);
    const unwrapped = await s.core.unwrap({ bunker: s.bunker.ref, event });
    assert.deepEqual(unwrapped, {
      clientPubkey: s.clientPubkey,
      scheme,
      plaintext: JSON.stringify(message),
      eventId: event.id,
      createdAt: event.created_at,
    });
  });
}

Deno.test("SignerCore.unwrap() raises InvalidEventError for a bad signature, id, kind or recipient", async () => {
  const s = await setup();
  const event = clientRequest(s.clientSecret, s.bunker.pubkey, {
    id: "1",
    method: "ping",
    params: [],
  });
  const flip = (hex: string) => `${hex.slice(0, -1)}${hex.endsWith("0") ? "1" : "0"}`;
  const cases: [unknown, RegExp][] = [
    [{ ...event, sig: flip(event.sig) }, /signature is invalid/],
    [{ ...event, content: `${event.content} ` }, /id does not match/],
    [{ ...event, kind: 1 }, /kind "1"/],
    [{ ...event, tags: [["p", s.user.pubkey]] }, /no p tag for bunker/],
    [{ ...event, content: "x".repeat(70_000) }, /70000 chars/],
    ["not an event", /expected an object/],
  ];
  for (const [bad, message] of cases) {
    await assert.rejects(s.core.unwrap({ bunker: s.bunker.ref, event: bad }), (error: unknown) => {
      return error instanceof InvalidEventError && message.test(error.message);
    });
  }
});

Deno.test("SignerCore.unwrap() raises DecryptError when the MAC does not match", async () => {
  const s = await setup();
  // Encrypted for someone else, then signed correctly by the client: only the MAC can catch it.
  const stranger = getPublicKey(generateSecretKey());
  const content = clientEncrypt("nip44", s.clientSecret, stranger, JSON.stringify({ id: "1" }));
  const event = finalizeEvent({
    kind: 24133,
    created_at: 1_700_000_000,
    tags: [["p", s.bunker.pubkey]],
    content,
  }, s.clientSecret);
  await assert.rejects(s.core.unwrap({ bunker: s.bunker.ref, event }), (error: unknown) => {
    return error instanceof DecryptError && /invalid MAC/.test(error.message);
  });
});

Deno.test("SignerCore.respond() sends result, error and auth_url replies the client can read", async () => {
  const s = await setup();
  for (const scheme of ["nip44", "nip04"] as const) {
    assert.deepEqual(await respond(s, { type: "result", result: "ack" }, scheme), {
      id: "req-1",
      result: "ack",
    });
  }
  assert.deepEqual(await respond(s, { type: "error", error: "unauthorized: connect first" }), {
    id: "req-1",
    result: "",
    error: "unauthorized: connect first",
  });
  assert.deepEqual(await respond(s, { type: "auth_url", url: "https://example.test/a" }), {
    id: "req-1",
    result: "auth_url",
    error: "https://example.test/a",
  });
  await assert.rejects(respond(s, { type: "result", result: "" }), InvalidJobError);
});

Deno.test("SignerCore.respond() sign_event recomputes pubkey, id and sig and keeps created_at", async () => {
  const s = await setup();
  const template = {
    kind: 1,
    created_at: 1_650_000_000,
    tags: [["t", "x"]],
    content: "hello",
    pubkey: s.clientPubkey,
    id: "00".repeat(32),
    sig: "11".repeat(64),
  };
  for (const given of [template, JSON.stringify(template)]) {
    const reply = await respond(s, { type: "sign_event", user: s.user.ref, template: given });
    const signed = JSON.parse(reply.result);
    assert.ok(verifyEvent(signed), "the signed event verifies with nostr-tools");
    assert.equal(signed.pubkey, s.user.pubkey);
    assert.equal(signed.created_at, 1_650_000_000);
    assert.notEqual(signed.id, template.id);
    assert.deepEqual(Object.keys(signed), [
      "id",
      "pubkey",
      "created_at",
      "kind",
      "tags",
      "content",
      "sig",
    ]);
  }
  const bad = await respond(s, { type: "sign_event", user: s.user.ref, template: { kind: -1 } });
  assert.equal(bad.result, "");
  assert.match(bad.error ?? "", /^invalid: Cannot use event kind "-1"/);
});

Deno.test("SignerCore.respond() encrypt and decrypt interoperate with nostr-tools for both schemes", async () => {
  const s = await setup();
  const peerSecret = generateSecretKey();
  const peer = getPublicKey(peerSecret);
  for (const scheme of ["nip44", "nip04"] as const) {
    const encrypted = await respond(s, {
      type: "encrypt",
      scheme,
      user: s.user.ref,
      peer,
      plaintext: "secret note",
    });
    assert.equal(clientDecrypt(scheme, peerSecret, s.user.pubkey, encrypted.result), "secret note");
    const ciphertext = clientEncrypt(scheme, peerSecret, s.user.pubkey, "from peer");
    const decrypted = await respond(s, {
      type: "decrypt",
      scheme,
      user: s.user.ref,
      peer,
      ciphertext,
    });
    assert.equal(decrypted.result, "from peer");
  }
  const forged = await respond(s, {
    type: "decrypt",
    scheme: "nip44",
    user: s.user.ref,
    peer,
    ciphertext: clientEncrypt("nip44", peerSecret, s.clientPubkey, "not for the user"),
  });
  assert.match(forged.error ?? "", /^invalid: Cannot decrypt NIP-44 payload: invalid MAC/);
  const badPeer = await respond(s, {
    type: "encrypt",
    scheme: "nip44",
    user: s.user.ref,
    peer: "zz",
    plaintext: "x",
  });
  assert.match(badPeer.error ?? "", /^invalid: Cannot use peer pubkey "zz"/);
});

Deno.test("SignerCore.perform() runs key actions bare and refuses actions that use no key", async () => {
  const s = await setup();
  const template = { kind: 1, created_at: 1_650_000_000, tags: [], content: "over http" };
  const signed = await s.core.perform({ type: "sign_event", user: s.user.ref, template });
  assert.equal(signed.error, undefined);
  const event = JSON.parse(signed.result);
  assert.ok(verifyEvent(event));
  assert.equal(event.pubkey, s.user.pubkey);
  const peerSecret = generateSecretKey();
  const peer = getPublicKey(peerSecret);
  const encrypted = await s.core.perform({
    type: "encrypt",
    scheme: "nip44",
    user: s.user.ref,
    peer,
    plaintext: "note",
  });
  assert.equal(clientDecrypt("nip44", peerSecret, s.user.pubkey, encrypted.result), "note");
  const bad = await s.core.perform({ type: "sign_event", user: s.user.ref, template: "{not" });
  assert.deepEqual(bad, {
    result: "",
    error: "invalid: Cannot parse event template: it is not JSON",
  });
  await assert.rejects(
    () => s.core.perform({ type: "result", result: "pong" }),
    (error: unknown) => error instanceof InvalidJobError && /uses no key/.test(error.message),
  );
});

Deno.test("SignerCore.respond() turns a reply over 65535 bytes into an error reply", async () => {
  const s = await setup();
  const reply = await respond(s, { type: "result", result: "x".repeat(70_000) });
  assert.equal(reply.result, "");
  assert.match(reply.error ?? "", /^invalid: reply of \d+ bytes exceeds the 65535-byte limit/);
});

Deno.test("SignerCore.reject() answers a verified request with an error the client can read", async () => {
  const s = await setup();
  for (const scheme of ["nip44", "nip04"] as const) {
    const event = clientRequest(s.clientSecret, s.bunker.pubkey, {
      id: "q-9",
      method: "ping",
      params: [],
    }, scheme);
    const reply = await s.core.reject({
      bunker: s.bunker.ref,
      event,
      error: "overloaded: retry later",
      createdAt: 7,
    });
    assert.ok(reply);
    assert.equal(reply.requestId, "q-9", "the request id, for a cluster instance to claim");
    assert.deepEqual(openReply(reply.event, s.clientSecret, s.bunker.pubkey, scheme), {
      id: "q-9",
      result: "",
      error: "overloaded: retry later",
    });
  }
  const noId = clientRequest(s.clientSecret, s.bunker.pubkey, { method: "ping" });
  assert.equal(
    await s.core.reject({ bunker: s.bunker.ref, event: noId, error: "x", createdAt: 7 }),
    undefined,
  );
  const forged = { ...noId, content: `${noId.content}=` };
  await assert.rejects(
    s.core.reject({ bunker: s.bunker.ref, event: forged, error: "x", createdAt: 7 }),
    InvalidEventError,
  );
});

Deno.test("SignerCore rejects keys it cannot open or that belong to another pubkey", async () => {
  const s = await setup();
  const other = await Vault.create(new Uint8Array(32).fill(9));
  const wrongMaster = {
    pubkey: s.bunker.pubkey,
    sealed: await other.seal(s.bunker.secret, s.bunker.pubkey),
  };
  const otherRow = {
    pubkey: s.user.pubkey,
    sealed: await s.vault.seal(s.bunker.secret, s.user.pubkey),
  };
  for (const key of [wrongMaster, otherRow, { pubkey: s.user.pubkey, sealed: "v1.1.AAAA" }]) {
    await assert.rejects(
      s.core.signWithKey(key, { kind: 1, created_at: 1, tags: [], content: "" }),
      KeyUnavailableError,
    );
  }
  await assert.rejects(s.core.signWithKey({ pubkey: "x", sealed: "" }, {}), InvalidJobError);
  const event = await s.core.signWithKey(s.user.ref, {
    kind: 22242,
    created_at: 5,
    tags: [],
    content: "",
  });
  assert.ok(verifyEvent(event));
});

Deno.test("SignerCore.generateKey() seals a fresh key the vault opens to the same pubkey", async () => {
  const { core, vault } = await setup();
  const first = await core.generateKey();
  const second = await core.generateKey();
  assert.notEqual(first.pubkey, second.pubkey);
  const secret = await vault.open(first.sealed, first.pubkey);
  assert.equal(getPublicKey(secret), first.pubkey);
  await assert.rejects(vault.open(first.sealed, second.pubkey), "sealed to its own pubkey");
});

Deno.test("SignerCore.exportKey() writes an ncryptsec that decrypts to the key with the password", async () => {
  const { core, user } = await setup();
  const ncryptsec = await core.exportKey(user.ref, "export password 1", 16);
  assert.match(ncryptsec, /^ncryptsec1[02-9ac-hj-np-z]+$/);
  assert.deepEqual(decryptNip49(ncryptsec, "export password 1"), user.secret);
  assert.throws(() => decryptNip49(ncryptsec, "another password"));
  await assert.rejects(core.exportKey(user.ref, "pw", 12), InvalidJobError, "cost too low");
  await assert.rejects(core.exportKey(user.ref, "pw", 19), InvalidJobError, "cost too high");
  await assert.rejects(core.exportKey(user.ref, "", 16), InvalidJobError, "no password");
  await assert.rejects(
    core.exportKey({ ...user.ref, pubkey: getPublicKey(generateSecretKey()) }, "pw", 16),
    KeyUnavailableError,
  );
});
