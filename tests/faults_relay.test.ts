/**
 * Relay faults end to end, through test relay processes and `keycast serve` as a child process:
 * every socket dropped, connections refused for a while, the relay process restarted with an empty
 * state, and one of two relays dead. keycast must reconnect with backoff, resubscribe, report each
 * state in `/health`, and keep answering through whatever relay is alive.
 */
import assert from "node:assert/strict";
import { generateSecretKey, verifyEvent } from "nostr-tools/pure";
import { DEFAULT_BACKOFF } from "../src/relay/backoff.ts";
import { eventually } from "./helpers/eventually.ts";
import { type Json, Keycast, RawClient } from "./helpers/keycast.ts";

/** Slack on top of a backoff ceiling for a loaded 2-core machine: process, connect, REQ, EOSE. */
const SLACK_MS = 10_000;
const TEMPLATE = JSON.stringify({ kind: 1, created_at: 1_700_000_000, tags: [], content: "hi" });

function secretOf(created: Json): string {
  return new URL(created.bunker_url.replace("bunker://", "http://")).searchParams.get("secret")!;
}

/** Ceiling of the reconnect delay after `attempts` failed attempts (see `backoff.ts`). */
function backoffCeiling(attempts: number): number {
  return Math.min(DEFAULT_BACKOFF.maxMs, DEFAULT_BACKOFF.initialMs * 2 ** attempts);
}

/** True when `/health` shows relay `url` connected and subscribed (or, with `up` false, down). */
async function relayState(keycast: Keycast, url: string, up: boolean): Promise<boolean> {
  const { body } = await keycast.health();
  const bare = (text: string) => text.replace(/\/$/, "");
  const relay = (body.relays as Json[]).find((r) => bare(String(r.url)) === bare(url));
  return up ? relay?.connected === true && relay?.subscribed === true : relay?.connected === false;
}

/** Signs through a fresh socket to `relayUrl` as the client `clientKey` and checks the result. */
async function signsThrough(relayUrl: string, clientKey: Uint8Array, bunker: string, user: string) {
  await using raw = await RawClient.connect([relayUrl], { secretKey: clientKey });
  const reply = await raw.call(bunker, "sign_event", [TEMPLATE]);
  assert.equal(reply.error, undefined);
  const signed = JSON.parse(reply.result);
  assert.ok(verifyEvent(signed));
  assert.deepEqual(signed.pubkey, user);
}

Deno.test("relay faults: dropped sockets, refused connections and a restarted relay are survived", async (t) => {
  await using keycast = await Keycast.start();
  const relay = keycast.relays[0]!;
  const created = await keycast.authorize("dropped");
  const bunker: string = created.bunker_pubkey;
  const user: string = created.user_pubkey;
  await keycast.ready();
  const clientKey = generateSecretKey();
  {
    await using raw = await RawClient.connect([relay.url], { secretKey: clientKey });
    assert.equal((await raw.call(bunker, "connect", [bunker, secretOf(created)])).result, "ack");
  }

  // The connection had been open for less than resetAfterMs at each loss, so attempts add up.
  let attempts = 0;
  for (const round of [1, 2]) {
    await t.step(
      `drop ${round}: reconnected, resubscribed and serving within the backoff bound`,
      async () => {
        const lost = keycast.logCount("Relay connection lost");
        const connected = keycast.logCount("Relay connected");
        const started = Date.now();
        assert.ok(await relay.drop() >= 1, "keycast had no socket open to drop");
        const bound = backoffCeiling(attempts++) + SLACK_MS;
        await eventually(
          "keycast noticed the drop and reconnected",
          () =>
            keycast.logCount("Relay connection lost") > lost &&
            keycast.logCount("Relay connected") > connected,
          { timeoutMs: bound },
        );
        await eventually(
          "the relay is subscribed again",
          () => relayState(keycast, relay.url, true),
          {
            timeoutMs: bound,
          },
        );
        assert.ok(
          Date.now() - started <= bound,
          `took ${Date.now() - started} ms, bound ${bound} ms`,
        );
        await signsThrough(relay.url, clientKey, bunker, user);
      },
    );
  }

  await t.step(
    "connections refused for 3 s: /health says so, then keycast comes back",
    async () => {
      const refuseMs = 3_000;
      await relay.refuse(refuseMs);
      const started = Date.now();
      await relay.drop();
      await eventually("/health shows the relay down", () => relayState(keycast, relay.url, false));
      const ready = await keycast.health({ ready: true });
      assert.equal(ready.status, 503);
      assert.equal(ready.body.status, "not_ready");
      // Each refused attempt grows the delay; after the refusal ends the next try is one ceiling away.
      const bound = refuseMs + backoffCeiling(attempts + 8) + SLACK_MS;
      await eventually(
        "the relay is subscribed again",
        () => relayState(keycast, relay.url, true),
        {
          timeoutMs: bound,
        },
      );
      assert.ok(Date.now() - started >= refuseMs - 500, "reconnected while the relay was refusing");
      assert.equal((await keycast.health({ ready: true })).status, 200);
      await signsThrough(relay.url, clientKey, bunker, user);
    },
  );

  await t.step(
    "the relay process restarts with an empty state: keycast subscribes again",
    async () => {
      await relay.stop();
      await eventually("/health shows the relay down", () => relayState(keycast, relay.url, false));
      // keycast has seen the loss; it keeps retrying with backoff until the relay is back.
      await relay.restart();
      await eventually(
        "the relay is subscribed again",
        () => relayState(keycast, relay.url, true),
        {
          timeoutMs: DEFAULT_BACKOFF.maxMs + SLACK_MS,
        },
      );
      const stats = await relay.stats();
      assert.ok(stats.subscriptions >= 1, "the restarted relay holds no subscription");
      await signsThrough(relay.url, clientKey, bunker, user);
    },
  );
});

Deno.test("one of two relays dead: requests through the other are answered without waiting for it", async (t) => {
  await using keycast = await Keycast.start({ relays: 2 });
  const [dead, alive] = [keycast.relays[0]!, keycast.relays[1]!];
  const created = await keycast.authorize("half");
  const bunker: string = created.bunker_pubkey;
  assert.equal(created.relays.length, 2);
  await keycast.ready();
  const clientKey = generateSecretKey();
  await using raw = await RawClient.connect([alive.url], { secretKey: clientKey });
  assert.equal((await raw.call(bunker, "connect", [bunker, secretOf(created)])).result, "ack");

  await dead.stop();
  await eventually("/health shows the dead relay down", () => relayState(keycast, dead.url, false));

  await t.step("/health: one relay down, the other subscribed; still ready", async () => {
    assert.ok(await relayState(keycast, alive.url, true));
    assert.equal((await keycast.health({ ready: true })).status, 200);
  });

  await t.step(
    "sequential requests are answered well before the dead relay's publish timeout",
    async () => {
      for (let i = 0; i < 5; i++) {
        const started = Date.now();
        const reply = await raw.call(bunker, "sign_event", [TEMPLATE]);
        assert.ok(verifyEvent(JSON.parse(reply.result)));
        // Publishing to the dead relay retries for 10 s; the live relay must not wait for that.
        const took = Date.now() - started;
        assert.ok(took < 5_000, `request ${i} took ${took} ms`);
      }
    },
  );

  await t.step("a burst of 20 requests is answered in full", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const event = raw.send(bunker, { id: `burst-${i}`, method: "ping", params: [] });
      assert.ok(event.id);
      ids.add(`burst-${i}`);
    }
    const replies = await raw.collect(bunker, { count: ids.size, waitMs: 15_000 });
    for (const id of ids) assert.deepEqual(replies.get(id)?.map((r) => r.result), ["pong"], id);
  });

  await t.step("a new authorization is created and served while one relay is dead", async () => {
    const fresh = await keycast.authorize("half-2");
    const reply = await raw.call(fresh.bunker_pubkey, "connect", [
      fresh.bunker_pubkey,
      secretOf(fresh),
    ]);
    assert.equal(reply.result, "ack");
  });

  await t.step("the dead relay comes back and is subscribed again", async () => {
    await dead.restart();
    await eventually("the relay is subscribed again", () => relayState(keycast, dead.url, true), {
      timeoutMs: DEFAULT_BACKOFF.maxMs + SLACK_MS,
    });
    await signsThrough(dead.url, clientKey, bunker, created.user_pubkey);
  });
});
