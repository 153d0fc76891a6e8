/**
 * End to end: policies applied by the running listener to real requests through the test relay,
 * and a policy change reaching the listener at once.
 */
import assert from "node:assert/strict";
import { generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { type Json, Keycast, RawClient } from "./helpers/keycast.ts";

function secretOf(created: Json): string {
  return new URL(created.bunker_url.replace("bunker://", "http://")).searchParams.get("secret")!;
}

const note = (kind: number) =>
  JSON.stringify({ kind, created_at: 1_700_000_000, tags: [], content: "x" });

Deno.test("policies: kinds, dangerous kinds, rate limits, encrypt_to_self, live updates", async (t) => {
  await using keycast = await Keycast.start();
  await using raw = await RawClient.connect([keycast.relays[0]!.url]);
  const policy = await keycast.api("POST", "/api/policies", {
    name: "notes",
    rules: {
      kinds: [1, 7],
      encrypt_to_self: true,
      rate_limits: { per_method: { sign_event: { per_minute: 1, burst: 3 } } },
    },
  });
  assert.equal(policy.status, 201, JSON.stringify(policy.body));
  const created = await keycast.authorize("frank", { policy: "notes" });
  const bunker = created.bunker_pubkey;
  assert.equal((await raw.call(bunker, "connect", [bunker, secretOf(created)])).result, "ack");

  await t.step(
    "an allowed kind is signed; a disallowed kind gets forbidden: and no signature",
    async () => {
      const signed = JSON.parse((await raw.call(bunker, "sign_event", [note(1)])).result);
      assert.equal(signed.kind, 1);
      const refused = await raw.call(bunker, "sign_event", [note(30023)]);
      assert.equal(refused.result, "");
      assert.match(refused.error!, /forbidden:/);
      const dangerous = await raw.call(bunker, "sign_event", [note(0)]);
      assert.match(dangerous.error!, /forbidden:/);
    },
  );

  await t.step("encrypt_to_self refuses a third party and allows the user's own key", async () => {
    const third = getPublicKey(generateSecretKey());
    const refused = await raw.call(bunker, "nip44_encrypt", [third, "hi"]);
    assert.match(refused.error!, /forbidden:/);
    const own = await raw.call(bunker, "nip44_encrypt", [created.user_pubkey, "note to self"]);
    assert.ok(own.result.length > 0 && own.error === undefined);
  });

  await t.step("the per-method rate limit answers rate-limited:", async () => {
    const replies = [];
    for (let i = 0; i < 4; i++) replies.push(await raw.call(bunker, "sign_event", [note(7)]));
    const limited = replies.filter((r) => r.error?.startsWith("rate-limited:"));
    assert.ok(limited.length >= 1, JSON.stringify(replies.map((r) => r.error ?? "ok")));
  });

  await t.step("a policy change reaches the listener at once", async () => {
    const updated = await keycast.api("PUT", "/api/policies/notes", { rules: { kinds: [30023] } });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    const signed = JSON.parse((await raw.call(bunker, "sign_event", [note(30023)])).result);
    assert.equal(signed.kind, 30023);
    assert.match((await raw.call(bunker, "sign_event", [note(1)])).error!, /forbidden:/);
  });

  await t.step("GET /metrics counts the requests by method and outcome", async () => {
    const response = await fetch(`${keycast.server.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /text\/plain/);
    const text = await response.text();
    assert.match(text, /keycast_requests_total\{method="sign_event",outcome="ok"\}/);
    assert.match(text, /keycast_requests_total\{method="sign_event",outcome="forbidden"\}/);
    assert.match(text, /keycast_requests_total\{method="sign_event",outcome="rate-limited"\}/);
    assert.match(text, /keycast_authorizations_loaded 1\n/);
    assert.ok(text.includes(`keycast_relay_connected{url="${keycast.relays[0]!.url}`), text);
  });

  await t.step(
    "without a policy, vanish, nutzap info, Cashu wallet and Blossom kinds are refused",
    async () => {
      const open = await keycast.authorize("frank");
      const ob = open.bunker_pubkey;
      assert.equal((await raw.call(ob, "connect", [ob, secretOf(open)])).result, "ack");
      assert.equal(JSON.parse((await raw.call(ob, "sign_event", [note(1)])).result).kind, 1);
      for (const kind of [62, 10019, 17375, 10063]) {
        const refused = await raw.call(ob, "sign_event", [note(kind)]);
        assert.equal(refused.result, "");
        assert.match(refused.error!, new RegExp(`forbidden: kind ${kind} is a dangerous kind`));
      }
    },
  );

  await t.step("the built-in read-only policy refuses signing", async () => {
    const readOnly = await keycast.authorize("frank", { policy: "read-only" });
    const rb = readOnly.bunker_pubkey;
    assert.equal((await raw.call(rb, "connect", [rb, secretOf(readOnly)])).result, "ack");
    assert.deepEqual((await raw.call(rb, "get_public_key", [])).result, readOnly.user_pubkey);
    assert.match((await raw.call(rb, "sign_event", [note(1)])).error!, /forbidden:/);
  });
});
