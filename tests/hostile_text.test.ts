/**
 * Hostile text end to end: NUL, other C0/C1 controls and lone surrogates in every field that
 * reaches storage — a NIP-46 method, connect metadata and perms, nostrconnect display fields,
 * labels — on both engines. Nothing is refused with a 500, nothing stops the audit log (a NUL in
 * one row used to make PostgreSQL refuse every batch), and what is stored is clean.
 */
import assert from "node:assert/strict";
import { createNostrConnectURI } from "nostr-tools/nip46";
import { generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { testEachDatabaseKind } from "./helpers/db.ts";
import { eventually } from "./helpers/eventually.ts";
import { type Json, Keycast, RawClient } from "./helpers/keycast.ts";

const HOSTILE = ["x\u0000", "y\u001b[31m", "z\u0085", "w\ud800", "v\udfff"];

function secretOf(created: Json): string {
  return new URL(created.bunker_url).searchParams.get("secret") ?? "";
}

function clean(text: string): boolean {
  // deno-lint-ignore no-control-regex -- matching control characters is the point
  return !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/.test(text) &&
    !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}

testEachDatabaseKind(
  "hostile text never stops the audit log or reaches storage raw",
  async (database, t) => {
    await using keycast = await Keycast.start({ database });
    const created = await keycast.authorize("hostile", { max_uses: null });
    const bunker: string = created.bunker_pubkey;
    await keycast.ready();
    await using raw = await RawClient.connect([keycast.relays[0]!.url]);
    const metadata = JSON.stringify({
      "na\u0000me": "evil\u0000app\u009b",
      url: "\udfffhttps://x",
    });
    const connected = await raw.call(bunker, "connect", [
      bunker,
      secretOf(created),
      "sign_event\u0000:1",
      metadata,
    ]);
    assert.equal(connected.result, "ack");

    await t.step(
      "methods with control characters get unsupported: and every row is audited",
      async () => {
        for (const method of HOSTILE) {
          const reply = await raw.call(bunker, method, []);
          assert.match(reply.error ?? "", /^unsupported: /);
        }
        assert.equal((await raw.call(bunker, "ping", [])).result, "pong");
        await eventually("the audit rows after the hostile ones are written", async () => {
          const { body } = await keycast.api(
            "GET",
            `/api/audit?authorization=${created.id}&limit=100`,
          );
          return body.entries.some((e: Json) => e.method === "ping");
        });
        const { body } = await keycast.api(
          "GET",
          `/api/audit?authorization=${created.id}&limit=100`,
        );
        const methods: string[] = body.entries.map((e: Json) => e.method);
        assert.ok(methods.length >= HOSTILE.length + 2, JSON.stringify(methods));
        for (const entry of body.entries) {
          assert.ok(clean(entry.method) && clean(entry.reason ?? ""), JSON.stringify(entry));
        }
        const health = await keycast.health();
        assert.equal(health.body.audit.rejected, 0);
        assert.equal(health.body.audit.buffered, 0);
      },
    );

    await t.step("connect metadata and perms are stored clean", async () => {
      const { status, body } = await keycast.api("GET", `/api/authorizations/${created.id}`);
      assert.equal(status, 200);
      const client = body.clients.find((c: Json) => c.client_pubkey === raw.pubkey);
      assert.equal(client.requested_perms, "sign_event:1");
      assert.ok(clean(JSON.stringify(client.client_metadata)));
      assert.equal(client.client_metadata.name, "evilapp\ufffd");
    });

    await t.step(
      "a nostrconnect URI with a NUL in its name pairs, and the label is clean",
      async () => {
        const clientSecret = generateSecretKey();
        const uri = createNostrConnectURI({
          clientPubkey: getPublicKey(clientSecret),
          relays: [keycast.relays[0]!.url],
          secret: "pairing-secret",
          name: "app\u0000\u001b[2J",
        });
        const { status, body } = await keycast.api("POST", "/api/connect", {
          uri,
          key: "hostile",
        });
        assert.equal(status, 201, JSON.stringify(body));
        assert.ok(clean(body.label ?? ""), JSON.stringify(body.label));
      },
    );

    await t.step(
      "a label with control characters is refused with a 400 naming the field",
      async () => {
        const { status, body } = await keycast.api("POST", "/api/authorizations", {
          key: "hostile",
          label: "my\u0000app",
        });
        assert.equal(status, 400);
        assert.equal(body.field, "label");
      },
    );
  },
);
