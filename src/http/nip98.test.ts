import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { base64 } from "@scure/base";
import { finalizeEvent, generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { encodeHex } from "../util/hex.ts";
import { checkPayload, type Nip98Request, replayExpiry, verifyNip98 } from "./nip98.ts";

const NOW_MS = 1_800_000_000_000;
const admin = generateSecretKey();
const adminPubkey = getPublicKey(admin);
const URL_ = "https://keycast.example:8443/api/keys?x=1";
const BODY = new TextEncoder().encode('{"name":"alice"}');
const request: Nip98Request = { method: "POST", urls: [URL_] };

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

/** verifyNip98, then checkPayload against `body` (as the middleware does). */
function verify(tok: string, req: Nip98Request = request, body: Uint8Array = BODY) {
  const result = verifyNip98(tok, req, { adminPubkeys: new Set([adminPubkey]), now: () => NOW_MS });
  if (!result.ok) return result;
  const problem = checkPayload(result.event, body);
  return problem ? { ok: false as const, status: 401, reason: problem } : result;
}

function rejected(tok: string, status: number, reason: string, req?: Nip98Request): void {
  const result = verify(tok, req);
  if (result.ok) throw new Error(`expected a rejection mentioning "${reason}"`);
  assert.deepEqual(result.status, status);
  assert.ok(result.reason.includes(reason), result.reason);
}

Deno.test("verifyNip98() accepts a fresh admin event matching URL, method and payload", () => {
  const result = verify(token());
  assert.ok(result.ok);
  assert.equal(result.event.pubkey, adminPubkey);
  assert.equal(result.event.createdAt, NOW_MS / 1000);
  assert.equal(replayExpiry(result.event), NOW_MS + 120_000);
});

Deno.test("verifyNip98() accepts a u tag for any of this server's URLs, and only those", () => {
  const other = "http://127.0.0.1:8080/api/keys?x=1";
  const urls = { method: "POST", urls: [URL_, other] };
  const payload = ["payload", encodeHex(sha256(BODY))];
  assert.equal(verify(token({ tags: [["u", other], ["method", "POST"], payload] }), urls).ok, true);
  rejected(
    token({ tags: [["u", "http://evil.example/api/keys?x=1"], ["method", "POST"], payload] }),
    401,
    "does not name this server",
    urls,
  );
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
  const get: Nip98Request = { method: "GET", urls: [URL_] };
  const none = new Uint8Array(0);
  assert.equal(verify(token({ tags: [["u", URL_], ["method", "GET"]] }), get, none).ok, true);
  const emptyHash = encodeHex(sha256(new Uint8Array(0)));
  const withEmpty = token({ tags: [["u", URL_], ["method", "GET"], ["payload", emptyHash]] });
  assert.equal(verify(withEmpty, get, none).ok, true);
  const wrong = token({ tags: [["u", URL_], ["method", "GET"], ["payload", "0".repeat(64)]] });
  const result = verify(wrong, get, none);
  assert.ok(!result.ok && result.reason.includes("payload tag does not match"));
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
    "does not name this server",
  );
  rejected(
    token({
      tags: [["u", "http://keycast.example:8443/api/keys?x=1"], ["method", "POST"], payload],
    }),
    401,
    "does not name this server",
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
