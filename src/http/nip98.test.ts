import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { base64 } from "@scure/base";
import { finalizeEvent, generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { encodeHex } from "../util/hex.ts";
import { type Nip98Request, ReplayCache, verifyNip98 } from "./nip98.ts";

const NOW_MS = 1_800_000_000_000;
const admin = generateSecretKey();
const adminPubkey = getPublicKey(admin);
const URL_ = "https://keycast.example:8443/api/keys?x=1";
const BODY = new TextEncoder().encode('{"name":"alice"}');
const request: Nip98Request = { method: "POST", url: URL_, body: BODY };

function token(
  opts: { secretKey?: Uint8Array; kind?: number; createdAt?: number; tags?: string[][] } = {},
): string {
  const event = finalizeEvent({
    kind: opts.kind ?? 27235,
    created_at: opts.createdAt ?? NOW_MS / 1000,
    tags: opts.tags ??
      [["u", URL_], ["method", "POST"], ["payload", encodeHex(sha256(BODY))]],
    content: "",
  }, opts.secretKey ?? admin);
  return base64.encode(new TextEncoder().encode(JSON.stringify(event)));
}

function verify(tok: string, req: Nip98Request = request, replay = new ReplayCache()) {
  return verifyNip98(tok, req, {
    adminPubkeys: new Set([adminPubkey]),
    replay,
    now: () => NOW_MS,
  });
}

function rejected(tok: string, status: number, reason: string, req?: Nip98Request): void {
  const result = verify(tok, req);
  if (result.ok) throw new Error(`expected a rejection mentioning "${reason}"`);
  assert.deepEqual(result.status, status);
  assert.ok(result.reason.includes(reason), result.reason);
}

Deno.test("verifyNip98() accepts a fresh admin event matching URL, method and payload", () => {
  assert.deepEqual(verify(token()), { ok: true, pubkey: adminPubkey });
});

Deno.test("verifyNip98() accepts url-safe base64 and a URL that differs only by normalization", () => {
  const tags = [["u", "HTTPS://KEYCAST.example:8443/api/keys?x=1#frag"], ["method", "post"], [
    "payload",
    encodeHex(sha256(BODY)).toUpperCase(),
  ]];
  const urlSafe = token({ tags }).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  assert.equal(verify(urlSafe).ok, true);
});

Deno.test("verifyNip98() needs no payload tag without a body, but checks one if present", () => {
  const get: Nip98Request = { method: "GET", url: URL_, body: new Uint8Array(0) };
  assert.equal(verify(token({ tags: [["u", URL_], ["method", "GET"]] }), get).ok, true);
  const emptyHash = encodeHex(sha256(new Uint8Array(0)));
  const withEmpty = token({ tags: [["u", URL_], ["method", "GET"], ["payload", emptyHash]] });
  assert.equal(verify(withEmpty, get).ok, true);
  const wrong = token({ tags: [["u", URL_], ["method", "GET"], ["payload", "0".repeat(64)]] });
  rejected(wrong, 401, "payload tag does not match", get);
});

Deno.test("verifyNip98() rejects malformed tokens without echoing them", () => {
  rejected("x".repeat(9000), 401, "the limit is 8192");
  rejected("!!!not-base64!!!", 401, "not valid base64");
  rejected(btoa("not json at all"), 401, "does not decode to JSON");
  rejected(btoa("[1,2,3]"), 401, "not a JSON event object");
  rejected(btoa(JSON.stringify({ id: "zz" })), 401, "event id is not 64");
  const event = JSON.parse(atob(token()));
  rejected(btoa(JSON.stringify({ ...event, tags: [[1]] })), 401, "tags are not arrays");
  rejected(btoa(JSON.stringify({ ...event, kind: "27235" })), 401, "kind is not an integer");
  const result = verify(btoa("secret-looking garbage"));
  assert.equal(result.ok, false);
  if (!result.ok) assert.equal(result.reason.includes("garbage"), false);
});

Deno.test("verifyNip98() rejects the wrong kind", () => {
  rejected(token({ kind: 1 }), 401, "event kind is 1, expected 27235");
});

Deno.test("verifyNip98() rejects a bad signature and a tampered id", () => {
  const event = JSON.parse(atob(token()));
  const badSig = {
    ...event,
    sig: event.sig.slice(0, -2) + (event.sig.endsWith("00") ? "01" : "00"),
  };
  rejected(btoa(JSON.stringify(badSig)), 401, "id or signature is invalid");
  const tampered = { ...event, content: "changed" };
  rejected(btoa(JSON.stringify(tampered)), 401, "id or signature is invalid");
});

Deno.test("verifyNip98() answers 403 for a valid event from a pubkey that is not an admin", () => {
  rejected(token({ secretKey: generateSecretKey() }), 403, "is not an admin");
});

Deno.test("verifyNip98() rejects a u tag for another URL, and missing or repeated u tags", () => {
  const payload = ["payload", encodeHex(sha256(BODY))];
  rejected(
    token({ tags: [["u", "https://keycast.example:8443/api/keys"], ["method", "POST"], payload] }),
    401,
    "does not match the request URL",
  );
  rejected(
    token({
      tags: [["u", "http://keycast.example:8443/api/keys?x=1"], ["method", "POST"], payload],
    }),
    401,
    "does not match the request URL",
  );
  rejected(token({ tags: [["method", "POST"], payload] }), 401, "exactly one u tag");
  rejected(token({ tags: [["u", URL_], ["u", URL_], ["method", "POST"], payload] }), 401, "u tag");
});

Deno.test("verifyNip98() rejects a method tag for another method or none", () => {
  const payload = ["payload", encodeHex(sha256(BODY))];
  rejected(token({ tags: [["u", URL_], ["method", "PUT"], payload] }), 401, "request method");
  rejected(token({ tags: [["u", URL_], payload] }), 401, "exactly one method tag");
});

Deno.test("verifyNip98() rejects created_at more than 60 s in the past or the future", () => {
  rejected(token({ createdAt: NOW_MS / 1000 - 61 }), 401, "61 s behind");
  rejected(token({ createdAt: NOW_MS / 1000 + 61 }), 401, "61 s ahead of");
  assert.equal(verify(token({ createdAt: NOW_MS / 1000 - 60 })).ok, true);
  assert.equal(verify(token({ createdAt: NOW_MS / 1000 + 60 })).ok, true);
});

Deno.test("verifyNip98() requires a matching payload tag for a request with a body", () => {
  rejected(token({ tags: [["u", URL_], ["method", "POST"]] }), 401, "payload tag");
  const other = encodeHex(sha256(new TextEncoder().encode("{}")));
  rejected(token({ tags: [["u", URL_], ["method", "POST"], ["payload", other]] }), 401, "sha256");
});

Deno.test("verifyNip98() rejects a replayed event", () => {
  const replay = new ReplayCache();
  const tok = token();
  assert.equal(verify(tok, request, replay).ok, true);
  const again = verify(tok, request, replay);
  assert.equal(again.ok, false);
  if (!again.ok) assert.match(again.reason, /already used/);
});

Deno.test("verifyNip98() does not remember events that failed verification", () => {
  const replay = new ReplayCache();
  const event = JSON.parse(atob(token()));
  const forged = { ...event, sig: "0".repeat(128) };
  assert.equal(verify(btoa(JSON.stringify(forged)), request, replay).ok, false);
  assert.equal(replay.size, 0);
  assert.equal(verify(btoa(JSON.stringify(event)), request, replay).ok, true);
});

Deno.test("ReplayCache.remember() forgets ids after the TTL and refuses when full", () => {
  const cache = new ReplayCache({ ttlMs: 1_000, maxEntries: 2 });
  assert.equal(cache.remember("a", 0), "fresh");
  assert.equal(cache.remember("a", 999), "replay");
  assert.equal(cache.remember("b", 500), "fresh");
  assert.equal(cache.remember("c", 600), "full");
  assert.equal(cache.remember("c", 1_000), "fresh");
  assert.equal(cache.size, 2);
  assert.equal(cache.remember("a", 1_001), "full");
  assert.equal(cache.remember("a", 1_500), "fresh");
});
