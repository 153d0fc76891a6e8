/**
 * End to end: HTTP signing (`POST /api/nostr`) against a real server in this process, with a
 * stand-in for the OAuth service that maps a test access token to a real authorization created
 * through the admin API. The policy, the signer pool, the audit log and revocation are the real
 * ones.
 */
import assert from "node:assert/strict";
import * as nip44 from "nostr-tools/nip44";
import { generateSecretKey, getPublicKey, verifyEvent } from "nostr-tools/pure";
import type { HttpGrant } from "../src/nip46/http_signer.ts";
import { eventually, type Json, Keycast } from "./helpers/keycast.ts";

const TOKEN = "e2e-access-token";
const APP_ORIGIN = "https://app.example";

async function nostr(
  keycast: Keycast,
  method: string,
  params: unknown[],
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  const response = await fetch(`${keycast.server.url}/api/nostr`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${TOKEN}`,
      "content-type": "application/json",
      ...headers,
    },
    body: JSON.stringify({ method, params }),
  });
  return { status: response.status, body: await response.json(), headers: response.headers };
}

Deno.test("HTTP signing: signs with the user key under the policy, audits as http, stops at revocation", async (t) => {
  const grants = new Map<string, HttpGrant>();
  await using keycast = await Keycast.start({
    serverDeps: {
      resolveHttpGrant: (token) => Promise.resolve(grants.get(token)),
      allowsHttpOrigin: (origin) =>
        Promise.resolve([...grants.values()].some((grant) => grant.origin === origin)),
    },
  });
  const policy = await keycast.api("POST", "/api/policies", {
    name: "notes-only",
    rules: { kinds: [1] },
  });
  assert.equal(policy.status, 201, JSON.stringify(policy.body));
  const created = await keycast.authorize("alice", { policy: "notes-only" });

  await t.step("without a grant the token is refused", async () => {
    const res = await nostr(keycast, "ping", []);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
  });

  grants.set(TOKEN, {
    grantId: "e2e-grant",
    authorizationId: created.id,
    bunkerPubkey: created.bunker_pubkey,
    origin: APP_ORIGIN,
  });

  await t.step(
    "sign_event returns an event nostr-tools verifies, signed by the user key",
    async () => {
      const template = { kind: 1, created_at: 1_700_000_000, tags: [["t", "http"]], content: "hi" };
      const res = await nostr(keycast, "sign_event", [template, created.user_pubkey], {
        origin: APP_ORIGIN,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.headers.get("access-control-allow-origin"), APP_ORIGIN);
      const signed = JSON.parse(res.body.result);
      assert.ok(verifyEvent(signed), "nostr-tools verifyEvent accepts it");
      assert.equal(signed.pubkey, created.user_pubkey);
      assert.equal(signed.created_at, template.created_at);
      assert.deepEqual(signed.tags, template.tags);
      const asText = await nostr(keycast, "sign_event", [JSON.stringify(template)]);
      assert.equal(asText.status, 200);
    },
  );

  await t.step(
    "the policy that allows only kind 1 refuses kind 7 with 403 forbidden:",
    async () => {
      const res = await nostr(keycast, "sign_event", [
        { kind: 7, created_at: 1_700_000_000, tags: [], content: "+" },
      ]);
      assert.equal(res.status, 403);
      assert.match(res.body.error, /^forbidden: kind 7 is not allowed by this policy/);
    },
  );

  await t.step("get_public_key, ping and NIP-44 round trips answer as over NIP-46", async () => {
    assert.deepEqual((await nostr(keycast, "get_public_key", [])).body, {
      result: created.user_pubkey,
    });
    assert.deepEqual((await nostr(keycast, "ping", [])).body, { result: "pong" });
    const peerSecret = generateSecretKey();
    const peer = getPublicKey(peerSecret);
    const encrypted = await nostr(keycast, "nip44_encrypt", [peer, "for the peer"]);
    assert.equal(encrypted.status, 200);
    const conversation = nip44.getConversationKey(peerSecret, created.user_pubkey);
    assert.equal(nip44.decrypt(encrypted.body.result, conversation), "for the peer");
    const reply = nip44.encrypt("for the user", conversation);
    assert.deepEqual((await nostr(keycast, "nip44_decrypt", [peer, reply])).body, {
      result: "for the user",
    });
    const unknown = await nostr(keycast, "switch_relays", []);
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error, /^unsupported: /);
  });

  await t.step("a preflight from the app's origin is answered, others get nothing", async () => {
    const preflight = (origin: string) =>
      fetch(`${keycast.server.url}/api/nostr`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST" },
      });
    const allowed = await preflight(APP_ORIGIN);
    await allowed.body?.cancel();
    assert.equal(allowed.headers.get("access-control-allow-origin"), APP_ORIGIN);
    const other = await preflight("https://elsewhere.example");
    await other.body?.cancel();
    assert.equal(other.headers.get("access-control-allow-origin"), null);
  });

  await t.step("every decision is in the audit log with transport http", async () => {
    let entries: Json[] = [];
    await eventually("the HTTP decisions are written", async () => {
      const audit = await keycast.api("GET", `/api/audit?authorization=${created.id}`);
      entries = audit.body.entries;
      return entries.length >= 7;
    });
    assert.ok(entries.every((entry) => entry.transport === "http"), JSON.stringify(entries));
    assert.ok(entries.every((entry) => entry.client_pubkey === "http:e2e-grant"));
    const denied = entries.find((entry) => entry.decision === "deny" && entry.event_kind === 7);
    assert.match(denied?.reason ?? "", /^forbidden: /);
    const signed = entries.find((entry) => entry.method === "sign_event" && entry.event_id);
    assert.equal(signed?.decision, "allow");
  });

  await t.step(
    "revoking the authorization through the admin API makes the next call 401",
    async () => {
      const revoked = await keycast.api("DELETE", `/api/authorizations/${created.id}`);
      assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
      // The token still resolves (the stand-in knows nothing of revocation): the live registry
      // is what refuses it.
      const res = await nostr(keycast, "sign_event", [
        { kind: 1, created_at: 1_700_000_000, tags: [], content: "too late" },
      ]);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
      assert.match(res.body.error, /^revoked: /);
    },
  );
});
