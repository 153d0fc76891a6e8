/**
 * End to end: authorization lifecycle (expiry per request, logout, reconnect refused) and the
 * audit log's one row per decision, through the test relay and `keycast serve`.
 */
import assert from "node:assert/strict";
import { testEachDatabaseKind } from "./helpers/db.ts";
import { eventually } from "./helpers/eventually.ts";
import { type Json, Keycast, RawClient } from "./helpers/keycast.ts";

function secretOf(created: Json): string {
  return new URL(created.bunker_url.replace("bunker://", "http://")).searchParams.get("secret")!;
}

Deno.test("lifecycle: expiry is checked per request; logout needs a new secret; audit rows", async (t) => {
  await using keycast = await Keycast.start();
  await using raw = await RawClient.connect([keycast.relays[0]!.url]);

  await t.step("an expired authorization refuses the next request with expired:", async () => {
    // The listener keeps expiries in whole seconds (rounded down), so 2 s leaves at least 1 s for
    // connect and ping to be answered before the authorization expires.
    const created = await keycast.authorize("erin", { expires_in: 2 });
    const bunker = created.bunker_pubkey;
    assert.equal((await raw.call(bunker, "connect", [bunker, secretOf(created)])).result, "ack");
    assert.equal((await raw.call(bunker, "ping", [])).result, "pong");
    // `keycast serve` runs on the real clock: ask again until the expiry has passed. Until then
    // every request is still answered.
    let reply: Json = {};
    await eventually("get_public_key is refused", async () => {
      reply = await raw.call(bunker, "get_public_key", []);
      if (reply.error === undefined) assert.equal(reply.result, created.user_pubkey);
      return reply.error !== undefined;
    });
    assert.equal(reply.result, "");
    assert.match(reply.error!, /expired:/);
  });

  await t.step("logout, then connect with the same secret is refused", async () => {
    const created = await keycast.authorize("erin", { max_uses: 3 });
    const bunker = created.bunker_pubkey;
    assert.equal((await raw.call(bunker, "connect", [bunker, secretOf(created)])).result, "ack");
    assert.equal((await raw.call(bunker, "logout", [])).result, "ack");
    const after = await raw.call(bunker, "get_public_key", []);
    assert.match(after.error!, /unauthorized:/);
    const again = await raw.call(bunker, "connect", [bunker, secretOf(created)]);
    assert.match(again.error!, /unauthorized:/);
  });

  await t.step("the audit log holds one row per request with its decision", async () => {
    const created = await keycast.authorize("erin");
    const bunker = created.bunker_pubkey;
    await raw.call(bunker, "get_public_key", []); // deny: not connected
    await raw.call(bunker, "connect", [bunker, secretOf(created)]); // allow
    await raw.call(bunker, "sign_event", [
      JSON.stringify({ kind: 1, created_at: 1, tags: [], content: "a" }),
    ]);
    await raw.call(bunker, "nope", []); // deny: unsupported
    let entries: Json[] = [];
    await eventually("the audit log holds the four decisions", async () => {
      entries = (await keycast.api("GET", `/api/audit?authorization=${created.id}`)).body.entries;
      return entries.length >= 4;
    });
    assert.deepEqual(entries.map((e) => [e.method, e.decision, e.event_kind]), [
      ["get_public_key", "deny", null],
      ["connect", "allow", null],
      ["sign_event", "allow", 1],
      ["nope", "deny", null],
    ]);
    assert.match(entries[0].reason, /unauthorized:/);
    assert.equal(entries[3].reason, "unsupported: nope");
    assert.equal(entries.every((e) => e.client_pubkey === raw.pubkey), true);
    assert.equal(JSON.stringify(entries).includes(secretOf(created)), false);
  });
});

testEachDatabaseKind(
  "clients connecting at the same moment all stay connected",
  async (database) => {
    await using keycast = await Keycast.start({ database });
    const count = 8;
    const created = await keycast.authorize("gina", { max_uses: count });
    const bunker = created.bunker_pubkey;
    const clients = await Promise.all(
      Array.from({ length: count }, () => RawClient.connect([keycast.relays[0]!.url])),
    );
    try {
      const connects = await Promise.all(
        clients.map((client) => client.call(bunker, "connect", [bunker, secretOf(created)])),
      );
      assert.deepEqual(connects.map((r) => r.result), Array(count).fill("ack"));
      const keys = await Promise.all(
        clients.map((client) => client.call(bunker, "get_public_key", [])),
      );
      assert.deepEqual(
        keys.map((r) => r.error ?? r.result),
        Array(count).fill(created.user_pubkey),
      );
    } finally {
      for (const client of clients) await client[Symbol.asyncDispose]();
    }
  },
);
