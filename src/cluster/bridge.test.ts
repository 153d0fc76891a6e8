import assert from "node:assert/strict";
import { AuthorizationChannel, type ChannelSubscription } from "../channel/channel.ts";
import type { AuthorizationCommand } from "../channel/command.ts";
import type { ActiveAuthorization } from "../domain/authorization.ts";
import type { LogRecord } from "../log.ts";
import { testAuthorization } from "../nip46/testing.ts";
import { deadline } from "../util/async.ts";
import { FakeClock } from "./testing.ts";
import { AUTHORIZATIONS_CHANNEL } from "./store.ts";
import { ChangeBridge, ClusterChanges } from "./bridge.ts";

const SELF = "5".repeat(32);
const OTHER = "6".repeat(32);
const LIVE_BUNKER = "b".repeat(64);
const GONE_BUNKER = "c".repeat(64);
const LIVE_ID = "00000000-0000-4000-8000-00000000000a";
const GONE_ID = "00000000-0000-4000-8000-00000000000b";

/** The notification side of the store: records what is sent, lets the test deliver and reconnect. */
class FakeNotices {
  readonly sent: string[] = [];
  /** When set, `announce` fails with it. */
  failure: Error | undefined;
  /** Notices numbered so far (the `changes` counter). */
  count = 0;
  #onMessage: ((payload: string) => void) | undefined;
  #onConnect: (() => void) | undefined;

  listen(channel: string, onMessage: (payload: string) => void, onConnect: () => void) {
    assert.equal(channel, AUTHORIZATIONS_CHANNEL);
    this.#onMessage = onMessage;
    this.#onConnect = onConnect;
    onConnect();
    return Promise.resolve();
  }

  announce(from: string, what: string): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.sent.push(`${from} ${++this.count} ${what}`);
    return Promise.resolve();
  }

  /** A notification arrives: `<from> <what>`, numbered here. */
  deliver(payload: string): void {
    const [from, ...what] = payload.split(" ");
    this.#onMessage!(`${from} ${++this.count} ${what.join(" ")}`);
  }

  /** A raw notification arrives, as given. */
  deliverRaw(payload: string): void {
    this.#onMessage!(payload);
  }

  /** The listening connection was lost and is back. */
  reconnect(): void {
    this.#onConnect!();
  }
}

/** The authorizations as the database holds them: one live, one gone; records the lookups. */
class FakeAuthorizations {
  readonly lookups: string[] = [];
  failure: Error | undefined;
  readonly live: ActiveAuthorization = testAuthorization({
    id: LIVE_ID,
    bunkerPubkey: LIVE_BUNKER,
  });

  loadActiveByBunker(bunkerPubkey: string): Promise<ActiveAuthorization | undefined> {
    this.lookups.push(`bunker ${bunkerPubkey}`);
    if (this.failure) return Promise.reject(this.failure);
    return Promise.resolve(bunkerPubkey === LIVE_BUNKER ? this.live : undefined);
  }

  loadActiveById(id: string): Promise<ActiveAuthorization | undefined> {
    this.lookups.push(`id ${id}`);
    if (this.failure) return Promise.reject(this.failure);
    return Promise.resolve(id === LIVE_ID ? this.live : undefined);
  }

  loadActiveByPolicy(name: string): Promise<ActiveAuthorization[]> {
    this.lookups.push(`policy ${name}`);
    return Promise.resolve([this.live]);
  }

  unrevokedOfAccount(accountId: string): Promise<{ id: string; bunkerPubkey: string }[]> {
    this.lookups.push(`account ${accountId}`);
    return Promise.resolve([
      { id: LIVE_ID, bunkerPubkey: LIVE_BUNKER },
      { id: GONE_ID, bunkerPubkey: GONE_BUNKER },
    ]);
  }

  get(id: string): Promise<{ bunkerPubkey: string } | undefined> {
    this.lookups.push(`get ${id}`);
    return Promise.resolve(id === GONE_ID ? { bunkerPubkey: GONE_BUNKER } : undefined);
  }
}

async function started() {
  const notices = new FakeNotices();
  const authorizations = new FakeAuthorizations();
  const channel = new AuthorizationChannel();
  const logs: LogRecord[] = [];
  const clock = new FakeClock();
  const bridge = new ChangeBridge({
    store: notices,
    self: SELF,
    channel,
    // deno-lint-ignore no-explicit-any -- the fake's `get` returns only the field the bridge reads
    authorizations: authorizations as any,
    log: (record) => void logs.push(record),
    timers: clock,
  });
  await bridge.start();
  return {
    notices,
    authorizations,
    channel,
    subscription: channel.subscribe(),
    bridge,
    logs,
    clock,
  };
}

/** The next command on the channel, or a failure after 2 s. */
function next(subscription: ChannelSubscription): Promise<AuthorizationCommand | undefined> {
  return deadline(subscription.next(), 2_000);
}

Deno.test("ChangeBridge: another instance's bunker notice becomes an upsert when live, a remove when not", async () => {
  const { notices, subscription, authorizations } = await started();
  using _ = subscription;
  notices.deliver(`${OTHER} b ${LIVE_BUNKER}`);
  assert.deepEqual(await next(subscription), {
    type: "upsert",
    authorization: authorizations.live,
  });
  notices.deliver(`${OTHER} b ${GONE_BUNKER}`);
  assert.deepEqual(await next(subscription), { type: "remove", bunkerPubkey: GONE_BUNKER });
  assert.deepEqual(authorizations.lookups, [`bunker ${LIVE_BUNKER}`, `bunker ${GONE_BUNKER}`]);
});

Deno.test("ChangeBridge: an authorization notice upserts a live one and removes one no longer live", async () => {
  const { notices, subscription, authorizations, bridge } = await started();
  using _ = subscription;
  notices.deliver(`${OTHER} a ${GONE_ID}`);
  assert.deepEqual(await next(subscription), { type: "remove", bunkerPubkey: GONE_BUNKER });
  notices.deliver(`${OTHER} a ${LIVE_ID}`);
  assert.deepEqual(await next(subscription), {
    type: "upsert",
    authorization: authorizations.live,
  });
  assert.deepEqual(authorizations.lookups, [`id ${GONE_ID}`, `get ${GONE_ID}`, `id ${LIVE_ID}`]);
  assert.equal(bridge.stats.received, 2);
});

Deno.test("ChangeBridge: a policy or account notice re-reads that policy's or account's authorizations", async () => {
  const { notices, subscription, authorizations } = await started();
  using _ = subscription;
  notices.deliver(`${OTHER} p notes and more`);
  assert.deepEqual(await next(subscription), {
    type: "upsert",
    authorization: authorizations.live,
  });
  notices.deliver(`${OTHER} u ${LIVE_ID}`);
  assert.deepEqual(await next(subscription), {
    type: "upsert",
    authorization: authorizations.live,
  });
  assert.deepEqual(await next(subscription), { type: "remove", bunkerPubkey: GONE_BUNKER });
  assert.deepEqual(authorizations.lookups.slice(0, 2), [
    "policy notes and more",
    `account ${LIVE_ID}`,
  ]);
});

Deno.test("ChangeBridge ignores its own notices and malformed payloads", async () => {
  const { notices, subscription, authorizations, bridge } = await started();
  using _ = subscription;
  for (
    const payload of [
      `${SELF} b ${LIVE_BUNKER}`,
      `${SELF} *`,
      `${OTHER} b ${LIVE_BUNKER.toUpperCase()}`,
      `${OTHER} b ${LIVE_BUNKER.slice(1)}`,
      `${OTHER} b`,
      `${OTHER} a not-a-uuid`,
      `${OTHER} a ${LIVE_ID.toUpperCase()}`,
      `${OTHER} u ${LIVE_BUNKER}`,
      `${OTHER} p`,
      `${OTHER} x ${LIVE_BUNKER}`,
      `${OTHER}`,
    ]
  ) notices.deliver(payload);
  notices.deliverRaw("");
  notices.deliverRaw(`${OTHER}`);
  notices.deliver(`${OTHER} b ${GONE_BUNKER}`);
  assert.deepEqual(await next(subscription), { type: "remove", bunkerPubkey: GONE_BUNKER });
  assert.equal(subscription.pending, 0);
  assert.deepEqual(authorizations.lookups, [`bunker ${GONE_BUNKER}`]);
  assert.deepEqual(bridge.stats, { sent: 0, received: 1, reloads: 0, failed: 0 });
});

Deno.test("ChangeBridge reloads on another instance's '*' and after a reconnect, not at the first connect", async () => {
  const { notices, subscription, bridge } = await started();
  using _ = subscription;
  notices.deliver(`${OTHER} *`);
  assert.deepEqual(await next(subscription), { type: "reload" });
  notices.reconnect();
  assert.deepEqual(await next(subscription), { type: "reload" });
  assert.equal(subscription.pending, 0);
  assert.equal(bridge.stats.reloads, 2);
});

Deno.test("ChangeBridge reloads when a notice a heartbeat counted has not arrived by the next one", async () => {
  const { notices, subscription, bridge, logs } = await started();
  using _ = subscription;
  notices.deliver(`${OTHER} b ${GONE_BUNKER}`); // number 1 arrives
  assert.deepEqual(await next(subscription), { type: "remove", bunkerPubkey: GONE_BUNKER });
  bridge.observe(1);
  bridge.observe(1);
  assert.equal(subscription.pending, 0, "nothing missing");
  // Number 2 was sent but never arrives: the first heartbeat that counts it waits, the next reloads.
  bridge.observe(2);
  assert.equal(subscription.pending, 0, "it may still be on its way");
  bridge.observe(2);
  assert.deepEqual(await next(subscription), { type: "reload" });
  assert.ok(logs.some((record) => /lost/.test(record.msg)));
  bridge.observe(2);
  assert.equal(subscription.pending, 0, "reloaded once");
  // A notice that arrives between the two heartbeats is no loss.
  notices.count = 2; // number 2 was the lost one
  bridge.observe(3);
  notices.deliver(`${OTHER} b ${GONE_BUNKER}`); // number 3
  assert.deepEqual(await next(subscription), { type: "remove", bunkerPubkey: GONE_BUNKER });
  bridge.observe(3);
  assert.equal(subscription.pending, 0);
});

Deno.test("ChangeBridge: a notice that cannot be applied falls back to a reload", async () => {
  const { notices, subscription, authorizations, bridge, logs } = await started();
  using _ = subscription;
  authorizations.failure = new Error("connection lost");
  notices.deliver(`${OTHER} b ${LIVE_BUNKER}`);
  assert.deepEqual(await next(subscription), { type: "reload" });
  assert.equal(bridge.stats.failed, 1);
  assert.ok(logs.some((record) => record.level === "warn" && /Cannot apply/.test(record.msg)));
});

Deno.test("ChangeBridge tells the others of changes and client changes, in order", async () => {
  const { notices, bridge } = await started();
  bridge.announce(`b ${LIVE_BUNKER}`);
  bridge.announce("*");
  const clients = bridge.clients({
    redeem: (input) =>
      Promise.resolve(
        input.clientPubkey === "d".repeat(64) ? { status: "redeemed" } : { status: "known" },
      ),
    logout: (_id, clientPubkey) => Promise.resolve(clientPubkey === "d".repeat(64)),
  });
  assert.deepEqual(
    await clients.redeem({ authorizationId: LIVE_ID, clientPubkey: "d".repeat(64) }),
    { status: "redeemed" },
  );
  await clients.redeem({ authorizationId: LIVE_ID, clientPubkey: "e".repeat(64) });
  assert.equal(await clients.logout(LIVE_ID, "d".repeat(64)), true);
  assert.equal(await clients.logout(LIVE_ID, "e".repeat(64)), false);
  await Promise.resolve();
  assert.deepEqual(notices.sent, [
    `${SELF} 1 b ${LIVE_BUNKER}`,
    `${SELF} 2 *`,
    `${SELF} 3 a ${LIVE_ID}`,
    `${SELF} 4 a ${LIVE_ID}`,
  ], "nothing for a client already known, or a logout that changed nothing");
});

Deno.test("ChangeBridge sends a notice that failed again, in order, and never throws", async () => {
  const { notices, bridge, logs, clock } = await started();
  notices.failure = new Error("connection lost");
  bridge.announce(`b ${GONE_BUNKER}`);
  bridge.announce(`a ${LIVE_ID}`);
  await clock.tick(0);
  assert.deepEqual(notices.sent, []);
  assert.ok(bridge.stats.failed >= 1);
  assert.ok(logs.some((record) => record.level === "warn" && /trying again/.test(record.msg)));
  notices.failure = undefined;
  await clock.tick(1_000);
  assert.deepEqual(notices.sent, [`${SELF} 1 b ${GONE_BUNKER}`, `${SELF} 2 a ${LIVE_ID}`]);
  bridge[Symbol.dispose]();
});

Deno.test("ChangeBridge collapses a backlog of unsent notices into one re-read of everything", async () => {
  const { notices, bridge, clock } = await started();
  notices.failure = new Error("connection lost");
  for (let i = 0; i <= 1_000; i++) bridge.announce(`b ${GONE_BUNKER}`);
  notices.failure = undefined;
  await clock.tick(1_000);
  assert.deepEqual(notices.sent, [`${SELF} 1 *`]);
  bridge[Symbol.dispose]();
});

Deno.test("ClusterChanges sends each change to this instance's channel and announces it once", async () => {
  const authorizations = new FakeAuthorizations();
  const channel = new AuthorizationChannel();
  using subscription = channel.subscribe();
  const announced: string[] = [];
  const changes = new ClusterChanges(authorizations, channel, (what) => void announced.push(what));
  assert.equal(await changes.upserted(LIVE_ID), authorizations.live);
  assert.equal(await changes.upserted(GONE_ID), undefined);
  changes.removed(GONE_BUNKER);
  assert.equal(await changes.policyChanged("strict"), 1);
  assert.equal(await changes.accountChanged(LIVE_ID), 2);
  assert.deepEqual(announced, [
    `a ${LIVE_ID}`,
    `a ${GONE_ID}`,
    `b ${GONE_BUNKER}`,
    "p strict",
    `u ${LIVE_ID}`,
  ]);
  assert.deepEqual(await next(subscription), {
    type: "upsert",
    authorization: authorizations.live,
  });
  assert.deepEqual(await next(subscription), { type: "remove", bunkerPubkey: GONE_BUNKER });
  assert.deepEqual(await next(subscription), {
    type: "upsert",
    authorization: authorizations.live,
  });
  assert.equal(subscription.pending, 2, "the account's two, and nothing else");
});
