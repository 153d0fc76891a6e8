/**
 * Hostile NIP-46 input end to end: hand-made kind 24133 events through a real relay to `keycast
 * serve`. The relays run with `skipVerify` (ids are still checked) so that forged signatures reach
 * keycast, which must do its own verification. Each case gets the error the spec names; where no
 * reply is possible (forged, undecryptable, no id, stale, replayed) there must be none, and the
 * process must keep answering the next valid request.
 */
import assert from "node:assert/strict";
import { generateSecretKey, getEventHash, getPublicKey, verifyEvent } from "nostr-tools/pure";
import * as nip04 from "nostr-tools/nip04";
import * as nip44 from "nostr-tools/nip44";
import { type Json, Keycast, RawClient } from "./helpers/keycast.ts";

const TEMPLATE = JSON.stringify({ kind: 1, created_at: 1_700_000_000, tags: [], content: "hi" });
/** A valid x-only pubkey (the secp256k1 generator). */
const PEER = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
/** 64 hex characters that are not the x of any curve point (above the field prime). */
const NOT_A_POINT = "f".repeat(64);
/** How long a case that must get no reply is watched, in ms. */
const SILENCE_MS = 2_500;

function secretOf(created: Json): string {
  return new URL(created.bunker_url.replace("bunker://", "http://")).searchParams.get("secret")!;
}

/** `payload` (base64) with its last byte flipped: for NIP-44 that is inside the MAC. */
function flipLastByte(payload: string): string {
  const bytes = Uint8Array.from(atob(payload), (c) => c.charCodeAt(0));
  bytes[bytes.length - 1]! ^= 0x01;
  return btoa(String.fromCharCode(...bytes));
}

/** Error-reply cases: [name, params or raw message, expected exact error or prefix]. */
const ERROR_CASES: [string, Record<string, unknown>, string][] = [
  ["no method", { params: [] }, "invalid: method must be a non-empty string"],
  ["a method that is a number", { method: 5, params: [] }, "invalid: method must be"],
  ["params that are a string", { method: "ping", params: "abc" }, "invalid: params must be"],
  ["params that are an object", { method: "ping", params: {} }, "invalid: params must be"],
  ["a param that is a number", { method: "connect", params: [1, 2] }, "invalid: every param"],
  ["nine params", { method: "ping", params: Array(9).fill("x") }, "invalid: params must be"],
  ["an unknown method", { method: "get_secret_key", params: [] }, "unsupported: get_secret_key"],
  ["a prototype name as method", { method: "__proto__", params: [] }, "unsupported: __proto__"],
  ["sign_event without a template", { method: "sign_event", params: [] }, "invalid: "],
  ["sign_event with text", { method: "sign_event", params: ["not json"] }, "invalid: "],
  [
    "sign_event with a string kind",
    { method: "sign_event", params: [JSON.stringify({ kind: "1", content: "", tags: [] })] },
    "invalid: ",
  ],
  [
    "sign_event without tags or content",
    { method: "sign_event", params: [JSON.stringify({ kind: 1, created_at: 1 })] },
    "invalid: ",
  ],
  [
    "nip44_encrypt to a non-hex pubkey",
    { method: "nip44_encrypt", params: ["zz", "x"] },
    "invalid: ",
  ],
  [
    "nip44_encrypt to an uppercase pubkey",
    { method: "nip44_encrypt", params: [PEER.toUpperCase(), "x"] },
    "invalid: ",
  ],
  [
    "nip44_encrypt to a pubkey off the curve",
    { method: "nip44_encrypt", params: [NOT_A_POINT, "x"] },
    "invalid: ",
  ],
  ["nip44_encrypt without text", { method: "nip44_encrypt", params: [PEER] }, "invalid: "],
  ["nip44_encrypt of nothing", { method: "nip44_encrypt", params: [PEER, ""] }, "invalid: "],
  ["nip04_decrypt of garbage", { method: "nip04_decrypt", params: [PEER, "garbage"] }, "invalid: "],
  ["nip44_decrypt of garbage", { method: "nip44_decrypt", params: [PEER, "%%%"] }, "invalid: "],
];

Deno.test("hostile NIP-46 input: every case gets the named error or no reply, and the bunker keeps serving", async (t) => {
  await using keycast = await Keycast.start({ relays: 2, relayOptions: { skipVerify: true } });
  const created = await keycast.authorize("hostile");
  const bunker: string = created.bunker_pubkey;
  await keycast.ready();
  // Listens on relay 0 only (keycast answers on every relay of the authorization), so each reply
  // arrives once; `other` publishes the same identity's events through relay 1.
  await using raw = await RawClient.connect([keycast.relays[0]!.url]);
  await using other = await RawClient.connect([keycast.relays[1]!.url], {
    secretKey: raw.secretKey,
  });
  assert.equal((await raw.call(bunker, "connect", [bunker, secretOf(created)])).result, "ack");
  let serial = 0;

  const stillServes = async () => {
    const id = `alive-${++serial}`;
    raw.send(bunker, { id, method: "ping", params: [] });
    const replies = await raw.collect(bunker, { count: 1, waitMs: 10_000 });
    assert.deepEqual(
      replies.get(id)?.map((r) => r.result),
      ["pong"],
      "the bunker stopped answering",
    );
  };

  for (const [name, message, expected] of ERROR_CASES) {
    await t.step(`${name} → ${expected.split(":")[0]}:`, async () => {
      const id = `case-${++serial}`;
      raw.send(bunker, { id, ...message });
      const replies = await raw.collect(bunker, { count: 1, waitMs: 10_000 });
      const answers = replies.get(id) ?? [];
      assert.equal(answers.length, 1, `no reply to "${name}"`);
      assert.equal(answers[0]!.result, "");
      assert.ok((answers[0]!.error ?? "").includes(expected), String(answers[0]!.error));
      assert.ok(answers[0]!.error!.startsWith(expected.slice(0, expected.indexOf(":") + 1)));
    });
  }

  await t.step("nip44_decrypt of a ciphertext whose MAC fails → invalid:", async () => {
    const third = generateSecretKey();
    const good = nip44.encrypt("secret", nip44.getConversationKey(third, created.user_pubkey));
    const reply = await raw.call(bunker, "nip44_decrypt", [
      getPublicKey(third),
      flipLastByte(good),
    ]);
    assert.equal(reply.result, "");
    assert.match(reply.error!, /invalid: /);
  });

  await t.step("an unconnected client → unauthorized:", async () => {
    await using stranger = await RawClient.connect([keycast.relays[0]!.url]);
    const reply = await stranger.call(bunker, "sign_event", [TEMPLATE]);
    assert.equal(reply.result, "");
    assert.match(reply.error!, /unauthorized: /);
  });

  await t.step("cases with no possible reply get none, and have no effect", async () => {
    const now = Math.floor(Date.now() / 1000);
    const ids: string[] = [];
    const message = (method: string, params: string[] = []) => {
      const id = `silent-${++serial}`;
      ids.push(id);
      return JSON.stringify({ id, method, params });
    };
    const events: Record<string, unknown>[] = [];
    const signed = (
      content: string,
      opts: { createdAt?: number; kind?: number; tags?: string[][] } = {},
    ) => events.push(raw.event(bunker, content, opts));
    signed(raw.encrypt(bunker, "{not json"));
    signed(raw.encrypt(bunker, JSON.stringify({ method: "ping", params: [] })));
    signed(raw.encrypt(bunker, "[1,2,3]"));
    signed(raw.encrypt(bunker, JSON.stringify({ id: 7, method: "ping", params: [] })));
    signed(raw.encrypt(bunker, JSON.stringify({ id: "x".repeat(129), method: "ping" })));
    signed("not a ciphertext at all");
    signed("A".repeat(70_000));
    signed(flipLastByte(raw.encrypt(bunker, message("ping"))));
    const nip04Payload = nip04.encrypt(raw.secretKey, bunker, message("ping"));
    signed(`${nip04Payload.split("?iv=")[0]}?iv=${btoa("0123456789abcdef")}`);
    signed(raw.encrypt(bunker, message("ping")), { createdAt: now - 600 });
    signed(raw.encrypt(bunker, message("ping")), { createdAt: now + 600 });
    signed(raw.encrypt(bunker, message("ping")), { kind: 24134 });
    signed(raw.encrypt(bunker, message("ping")), { tags: [["p", PEER]] });
    // Encrypted by someone else but signed by this client: it cannot decrypt.
    const stranger = generateSecretKey();
    signed(nip44.encrypt(message("ping"), nip44.getConversationKey(stranger, bunker)));
    // A forged logout in the connected client's name (bad signature): must not log it out.
    const forged = raw.event(bunker, raw.encrypt(bunker, message("logout")));
    events.push({ ...forged, sig: forged.sig.replace(/^./, (c) => (c === "0" ? "1" : "0")) });
    // An author that is not a curve point, with a correct id and a made-up signature.
    const offCurve = {
      kind: 24133,
      pubkey: NOT_A_POINT,
      created_at: now,
      tags: [["p", bunker]],
      content: raw.encrypt(bunker, message("ping")),
    };
    events.push({ ...offCurve, id: getEventHash(offCurve), sig: "ab".repeat(64) });

    for (const event of events) raw.publish(event);
    const replies = await raw.collect(bunker, { waitMs: SILENCE_MS });
    assert.deepEqual([...replies.keys()].filter((id) => !id.startsWith("alive-")), []);
    for (const id of ids) assert.equal(replies.has(id), false, id);
    await stillServes();
    assert.deepEqual((await raw.call(bunker, "get_public_key", [])).result, created.user_pubkey);
  });

  await t.step("a replayed event (through another relay) is answered once", async () => {
    const id = `replay-${++serial}`;
    const event = raw.send(bunker, { id, method: "sign_event", params: [TEMPLATE] }, {
      relayIndexes: [0],
    });
    const first = await raw.collect(bunker, { count: 1, waitMs: 10_000 });
    assert.equal(first.get(id)?.length, 1);
    assert.ok(verifyEvent(JSON.parse(first.get(id)![0]!.result)));
    other.publish(event);
    const again = await raw.collect(bunker, { waitMs: SILENCE_MS });
    assert.equal(again.has(id), false);
  });

  await t.step(
    "a replayed request id in a new event gets the first answer again, not a new one",
    async () => {
      const id = `same-id-${++serial}`;
      raw.send(bunker, { id, method: "ping", params: [] });
      const first = (await raw.collect(bunker, { count: 1, waitMs: 10_000 })).get(id);
      assert.deepEqual(first?.map((reply) => reply.result), ["pong"]);
      // A client that lost the reply retries with the same id (here with another method, to show
      // the retry is not run): the first answer comes back, in a fresh envelope.
      raw.send(bunker, { id, method: "get_public_key", params: [] });
      const again = (await raw.collect(bunker, { count: 1, waitMs: 10_000 })).get(id) ?? [];
      const firstIds = first!.map((reply) => reply.eventId);
      const resent = again.filter((reply) => !firstIds.includes(reply.eventId));
      assert.deepEqual(resent.map((reply) => reply.result), ["pong"]);
      await stillServes();
    },
  );

  await t.step(
    "a flood from an unconnected key is cut at its burst; connected clients sign",
    async () => {
      await using flooder = await RawClient.connect([keycast.relays[0]!.url]);
      const total = 60;
      for (let i = 0; i < total; i++) flooder.send(bunker, { id: `flood-${i}`, method: "ping" });
      const signed = await raw.call(bunker, "sign_event", [TEMPLATE]);
      assert.ok(verifyEvent(JSON.parse(signed.result)));
      const answered = await flooder.collect(bunker, { waitMs: SILENCE_MS });
      // Burst 10, then one request every 3 s (the defaults).
      assert.ok(
        answered.size >= 10 && answered.size <= 12,
        `${answered.size} of ${total} answered`,
      );
      await stillServes();
    },
  );

  await t.step("the process is healthy after all of it", async () => {
    const { status, body } = await keycast.health();
    assert.deepEqual([status, body.status], [200, "ok"]);
    assert.deepEqual(keycast.server.lines.filter((line) => line.includes('"Request failed"')), []);
  });
});

Deno.test("a flood from one client pubkey is rate-limited by its policy; other clients are unaffected", async () => {
  await using keycast = await Keycast.start();
  const policy = await keycast.api("POST", "/api/policies", {
    name: "tight",
    rules: { rate_limits: { per_client: { per_minute: 60, burst: 5 } } },
  });
  assert.equal(policy.status, 201, JSON.stringify(policy.body));
  const created = await keycast.authorize("flooded", { policy: "tight", max_uses: 2 });
  const bunker: string = created.bunker_pubkey;
  await keycast.ready();
  await using flooder = await RawClient.connect([keycast.relays[0]!.url]);
  await using calm = await RawClient.connect([keycast.relays[0]!.url]);
  for (const client of [flooder, calm]) {
    assert.equal((await client.call(bunker, "connect", [bunker, secretOf(created)])).result, "ack");
  }

  const total = 60;
  for (let i = 0; i < total; i++) {
    flooder.send(bunker, { id: `f-${i}`, method: "ping", params: [] });
  }
  const replies = await flooder.collect(bunker, { count: total, waitMs: 20_000 });
  assert.deepEqual(replies.size, total, "every request of the flood is answered");
  let limited = 0;
  for (const [id, answers] of replies) {
    assert.equal(answers.length, 1, id);
    const [answer] = answers;
    if (answer!.result === "pong") continue;
    assert.equal(answer!.result, "");
    assert.match(answer!.error!, /rate-limited: /);
    limited++;
  }
  // Burst 5, one token a second: at most a handful more pass while the flood is processed.
  assert.ok(limited >= total - 20, `only ${limited} of ${total} were rate-limited`);

  assert.equal((await calm.call(bunker, "ping", [])).result, "pong");
  const signed = await calm.call(bunker, "sign_event", [TEMPLATE]);
  assert.ok(verifyEvent(JSON.parse(signed.result)));
  assert.equal((await keycast.health()).status, 200);
});
