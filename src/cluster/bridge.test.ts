import assert from "node:assert/strict";
import { AuthorizationChannel, type ChannelSubscription } from "../channel/channel.ts";
import type { AuthorizationCommand } from "../channel/command.ts";
import type { ActiveAuthorization } from "../domain/authorization.ts";
import type { LogRecord } from "../log.ts";
import { testAuthorization } from "../nip46/testing.ts";
import { deadline } from "../util/async.ts";
import { ChangeBridge, ClusterChanges } from "./bridge.ts";
import { AUTHORIZATIONS_CHANNEL } from "./store.ts";

const SELF = "5".repeat(32);
const OTHER = "6".repeat(32);
const LIVE_BUNKER = "b".repeat(64);
const GONE_BUNKER = "c".repeat(64);
const LIVE_ID = "00000000-0000-4000-8000-00000000000a";
const GONE_ID = "00000000-0000-4000-8000-00000000000b";

/** The notification side of the store: records what is sent, lets the test deliver and reconnect. */
class FakeNotices {
  readonly sent: { channel: string; payload: string }[] = [];
  /** When set, `notify` fails with it. */
  failure: Error | undefined;
  #onMessage: ((payload: string) => void) | undefined;
  #onConnect: (() => void) | undefined;

  listen(channel: string, onMessage: (payload: string) => void, onConnect: () => void) {
    assert.equal(channel, AUTHORIZATIONS_CHANNEL);
    this.#onMessage = onMessage;
    this.#onConnect = onConnect;
    onConnect();
    return Promise.resolve();
  }

  notify(channel: string, payload: string): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.sent.push({ channel, payload });
    return Promise.resolve();
  }

  /** A notification arrives. */
  deliver(payload: string): void {
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

  loadActiveByPolicy(): Promise<ActiveAuthorization[]> {
    return Promise.resolve([this.live]);
  }

  unrevokedOfAccount(): Promise<{ id: string; bunkerPubkey: string }[]> {
    return Promise.resolve([]);
  }
}

async function started() {
  const notices = new FakeNotices();
  const authorizations = new FakeAuthorizations();
  const channel = new AuthorizationChannel();
  const logs: LogRecord[] = [];
  const bridge = new ChangeBridge({
    store: notices,
    self: SELF,
    channel,
    authorizations,
    log: (record) => void logs.push(record),
  });
  await bridge.start();
  return { notices, authorizations, channel, subscription: channel.subscribe(), bridge, logs };
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

Deno.test("ChangeBridge: a client notice upserts a live authorization and leaves a gone one alone", async () => {
  const { notices, subscription, authorizations, bridge } = await started();
  using _ = subscription;
  notices.deliver(`${OTHER} a ${GONE_ID}`);
  notices.deliver(`${OTHER} a ${LIVE_ID}`);
  assert.deepEqual(await next(subscription), {
    type: "upsert",
    authorization: authorizations.live,
  });
  assert.deepEqual(authorizations.lookups, [`id ${GONE_ID}`, `id ${LIVE_ID}`]);
  assert.equal(subscription.pending, 0, "the gone one sent nothing");
  assert.equal(bridge.stats.received, 2);
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
      `${OTHER} x ${LIVE_BUNKER}`,
      `${OTHER}`,
      "",
    ]
  ) notices.deliver(payload);
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

Deno.test("ChangeBridge: a notice that cannot be applied falls back to a reload", async () => {
  const { notices, subscription, authorizations, bridge, logs } = await started();
  using _ = subscription;
  authorizations.failure = new Error("connection lost");
  notices.deliver(`${OTHER} b ${LIVE_BUNKER}`);
  assert.deepEqual(await next(subscription), { type: "reload" });
  assert.equal(bridge.stats.failed, 1);
  assert.ok(logs.some((record) => record.level === "warn" && /Cannot apply/.test(record.msg)));
});

Deno.test("ChangeBridge tells the others of bunkers, reloads and client changes", async () => {
  const { notices, bridge, logs } = await started();
  bridge.announce(LIVE_BUNKER);
  bridge.announce(undefined);
  const redeemed: string[] = [];
  const clients = bridge.clients({
    redeem: (input) => {
      redeemed.push(input.authorizationId);
      return Promise.resolve({ status: "redeemed" });
    },
    logout: () => Promise.resolve(true),
  });
  assert.deepEqual(
    await clients.redeem({ authorizationId: LIVE_ID, clientPubkey: "d".repeat(64) }),
    { status: "redeemed" },
  );
  assert.equal(await clients.logout(LIVE_ID, "d".repeat(64)), true);
  assert.deepEqual(redeemed, [LIVE_ID]);
  assert.deepEqual(notices.sent, [
    { channel: AUTHORIZATIONS_CHANNEL, payload: `${SELF} b ${LIVE_BUNKER}` },
    { channel: AUTHORIZATIONS_CHANNEL, payload: `${SELF} *` },
    { channel: AUTHORIZATIONS_CHANNEL, payload: `${SELF} a ${LIVE_ID}` },
    { channel: AUTHORIZATIONS_CHANNEL, payload: `${SELF} a ${LIVE_ID}` },
  ]);

  // A notice that cannot be sent is counted and logged, never thrown.
  notices.failure = new Error("connection lost");
  bridge.announce(GONE_BUNKER);
  await Promise.resolve();
  assert.equal(bridge.stats.failed, 1);
  assert.equal(bridge.stats.sent, 5);
  assert.ok(logs.some((record) => record.level === "error"));
});

Deno.test("ClusterChanges sends each command to this instance's channel and announces its bunker", async () => {
  const authorizations = new FakeAuthorizations();
  const channel = new AuthorizationChannel();
  using subscription = channel.subscribe();
  const announced: (string | undefined)[] = [];
  const changes = new ClusterChanges(authorizations, channel, (bunkerPubkey) => {
    announced.push(bunkerPubkey);
  });
  assert.equal(await changes.upserted(LIVE_ID), authorizations.live);
  assert.equal(await changes.upserted(GONE_ID), undefined);
  changes.removed(GONE_BUNKER);
  assert.equal(await changes.policyChanged("strict"), 1);
  assert.deepEqual(announced, [LIVE_BUNKER, GONE_BUNKER, LIVE_BUNKER]);
  assert.deepEqual(await next(subscription), {
    type: "upsert",
    authorization: authorizations.live,
  });
  assert.deepEqual(await next(subscription), { type: "remove", bunkerPubkey: GONE_BUNKER });
  assert.deepEqual(await next(subscription), {
    type: "upsert",
    authorization: authorizations.live,
  });
  assert.equal(subscription.pending, 0);
});
