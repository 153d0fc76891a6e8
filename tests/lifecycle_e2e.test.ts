/**
 * End to end: authorization lifecycle (expiry per request, logout, reconnect refused) and the
 * audit log's one row per decision, through the test relay and `keycast serve`.
 */
import { assertEquals, assertStringIncludes } from "./helpers/assert.ts";
import { testEachDatabaseKind } from "./helpers/db.ts";
import { type Json, Keycast, RawClient } from "./helpers/keycast.ts";

function secretOf(created: Json): string {
  return new URL(created.bunker_url.replace("bunker://", "http://")).searchParams.get("secret")!;
}

Deno.test("lifecycle: expiry is checked per request; logout needs a new secret; audit rows", async (t) => {
  await using keycast = await Keycast.start();
  await using raw = await RawClient.connect([keycast.relays[0]!.url]);

  await t.step("an expired authorization refuses the next request with expired:", async () => {
    const created = await keycast.authorize("erin", { expires_in: "3s" });
    const bunker = created.bunker_pubkey;
    assertEquals((await raw.call(bunker, "connect", [bunker, secretOf(created)])).result, "ack");
    assertEquals((await raw.call(bunker, "ping", [])).result, "pong");
    await new Promise((resolve) => setTimeout(resolve, 3_200));
    const reply = await raw.call(bunker, "get_public_key", []);
    assertEquals(reply.result, "");
    assertStringIncludes(reply.error!, "expired:");
  });

  await t.step("logout, then connect with the same secret is refused", async () => {
    const created = await keycast.authorize("erin", { max_uses: 3 });
    const bunker = created.bunker_pubkey;
    assertEquals((await raw.call(bunker, "connect", [bunker, secretOf(created)])).result, "ack");
    assertEquals((await raw.call(bunker, "logout", [])).result, "ack");
    const after = await raw.call(bunker, "get_public_key", []);
    assertStringIncludes(after.error!, "unauthorized:");
    const again = await raw.call(bunker, "connect", [bunker, secretOf(created)]);
    assertStringIncludes(again.error!, "unauthorized:");
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
    for (let i = 0; i < 100 && entries.length < 4; i++) {
      entries = (await keycast.api("GET", `/api/audit?authorization=${created.id}`)).body.entries;
      if (entries.length < 4) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assertEquals(
      entries.map((e) => [e.method, e.decision, e.event_kind]),
      [
        ["get_public_key", "deny", null],
        ["connect", "allow", null],
        ["sign_event", "allow", 1],
        ["nope", "deny", null],
      ],
    );
    assertStringIncludes(entries[0].reason, "unauthorized:");
    assertEquals(entries[3].reason, "unsupported: nope");
    assertEquals(entries.every((e) => e.client_pubkey === raw.pubkey), true);
    assertEquals(JSON.stringify(entries).includes(secretOf(created)), false);
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
      assertEquals(connects.map((r) => r.result), Array(count).fill("ack"));
      const keys = await Promise.all(
        clients.map((client) => client.call(bunker, "get_public_key", [])),
      );
      assertEquals(keys.map((r) => r.error ?? r.result), Array(count).fill(created.user_pubkey));
    } finally {
      for (const client of clients) await client[Symbol.asyncDispose]();
    }
  },
);
