import assert from "node:assert/strict";
import { AuthorizationChannel, type ChannelSubscription } from "./channel.ts";
import type { AuthorizationCommand } from "./command.ts";
import { deadline } from "../util/async.ts";

/** A `remove` command tagged with `n`, easy to tell apart in assertions. */
const remove = (n: number): AuthorizationCommand => ({ type: "remove", bunkerPubkey: `b${n}` });
const reload: AuthorizationCommand = { type: "reload" };

/** Reads everything already pending, without waiting. */
async function drain(subscription: ChannelSubscription): Promise<AuthorizationCommand[]> {
  const out: AuthorizationCommand[] = [];
  for (let guard = 0; subscription.pending > 0 && guard < 10_000; guard++) {
    const command = await subscription.next();
    if (command) out.push(command);
  }
  return out;
}

/** `remove` commands numbered `from` up to `to`, exclusive. */
const range = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => remove(from + i));

Deno.test("AuthorizationChannel rejects a capacity below 1", () => {
  assert.throws(() => new AuthorizationChannel({ capacity: 0 }), RangeError);
  assert.throws(() => new AuthorizationChannel({ capacity: 2.5 }), RangeError);
});

Deno.test("AuthorizationChannel delivers commands in the order they were sent", async () => {
  const channel = new AuthorizationChannel({ capacity: 8 });
  using subscription = channel.subscribe();
  const received: AuthorizationCommand[] = [];
  // Interleave sends with reads so the ring wraps around several times.
  for (let n = 0; n < 40; n++) {
    channel.send(remove(n));
    if (n % 5 === 4) received.push(...await drain(subscription));
  }
  assert.deepEqual(received, range(0, 40));
  assert.deepEqual(channel.stats, {
    sent: 40,
    delivered: 40,
    overflows: 0,
    subscribers: 1,
    backlog: 0,
    dropped: 0,
  });
});

Deno.test("AuthorizationChannel.next() waits for the next send", async () => {
  const channel = new AuthorizationChannel();
  using subscription = channel.subscribe();
  const waiting = subscription.next();
  channel.send(remove(1));
  assert.deepEqual(await deadline(waiting, 1_000), remove(1));
  assert.equal(subscription.pending, 0);
});

Deno.test("AuthorizationChannel collapses an overflowing backlog into exactly one reload", async () => {
  const channel = new AuthorizationChannel({ capacity: 4 });
  using subscription = channel.subscribe();
  for (let n = 0; n < 4; n++) channel.send(remove(n));
  assert.equal(subscription.pending, 4);
  assert.equal(channel.stats.overflows, 0);
  channel.send(remove(4)); // one past capacity: the backlog becomes [reload]
  assert.equal(channel.stats.overflows, 1);
  assert.equal(subscription.pending, 1);
  channel.send(remove(5));
  channel.send(remove(6));
  assert.deepEqual(await drain(subscription), [reload, remove(5), remove(6)]);
  channel.send(remove(7));
  assert.deepEqual(await subscription.next(), remove(7), "commands after the reload arrive");
});

Deno.test("AuthorizationChannel keeps one reload when a collapsed backlog overflows again", async () => {
  const channel = new AuthorizationChannel({ capacity: 4 });
  using subscription = channel.subscribe();
  for (let n = 0; n < 30; n++) channel.send(remove(n));
  assert.ok(channel.stats.overflows > 1);
  const commands = await drain(subscription);
  assert.deepEqual(commands[0], reload);
  assert.equal(commands.filter((command) => command.type === "reload").length, 1);
  const tail = commands.slice(1);
  assert.deepEqual(tail, range(30 - tail.length, 30), "the newest commands follow in order");
});

Deno.test("AuthorizationChannel never lets a backlog grow past its capacity", () => {
  const channel = new AuthorizationChannel({ capacity: 3 });
  using subscription = channel.subscribe();
  for (let n = 0; n < 100; n++) {
    channel.send(remove(n));
    assert.ok(subscription.pending <= 3, `backlog ${subscription.pending} after send ${n}`);
  }
  assert.ok(channel.stats.overflows >= 1);
  assert.equal(channel.stats.backlog, subscription.pending);
});

Deno.test("AuthorizationChannel broadcasts the same commands to two subscribers", async () => {
  const channel = new AuthorizationChannel({ capacity: 16 });
  using first = channel.subscribe();
  using second = channel.subscribe();
  for (let n = 0; n < 10; n++) channel.send(remove(n));
  assert.deepEqual(await drain(first), range(0, 10));
  assert.deepEqual(await drain(second), range(0, 10));
  assert.equal(channel.stats.delivered, 20);
});

Deno.test("AuthorizationChannel subscriber created later sees only later commands", async () => {
  const channel = new AuthorizationChannel();
  using early = channel.subscribe();
  channel.send(remove(1));
  using late = channel.subscribe();
  assert.equal(late.pending, 0);
  channel.send(remove(2));
  assert.deepEqual(await drain(late), [remove(2)]);
  assert.deepEqual(await drain(early), [remove(1), remove(2)]);
});

Deno.test("AuthorizationChannel slow subscriber blocks neither sender nor fast subscriber", async () => {
  const channel = new AuthorizationChannel({ capacity: 8 });
  using slow = channel.subscribe(); // reads nothing until the end
  using fast = channel.subscribe();
  for (let n = 0; n < 200; n++) {
    const waiting = fast.next();
    channel.send(remove(n)); // synchronous: returning at all shows it did not block
    assert.deepEqual(await waiting, remove(n));
    assert.ok(slow.pending <= 8, `slow backlog ${slow.pending} passed the capacity`);
  }
  assert.equal(fast.pending, 0);
  assert.ok(channel.stats.overflows > 0);
  const slowCommands = await drain(slow);
  assert.deepEqual(slowCommands[0], reload);
  assert.deepEqual(slowCommands.at(-1), remove(199));
  assert.equal(channel.stats.backlog, 0);
});

Deno.test("AuthorizationChannel.close() ends for-await iteration after draining", async () => {
  const channel = new AuthorizationChannel();
  const subscription = channel.subscribe();
  channel.send(remove(1));
  channel.send(remove(2));
  channel.close();
  channel.send(remove(3)); // dropped, but counted
  const seen: AuthorizationCommand[] = [];
  for await (const command of subscription) seen.push(command);
  assert.deepEqual(seen, [remove(1), remove(2)]);
  assert.equal(await subscription.next(), undefined);
  assert.equal(channel.stats.sent, 3);
  assert.equal(channel.stats.dropped, 1);
  assert.equal(channel.stats.subscribers, 0, "finished iteration detaches");
});

Deno.test("AuthorizationChannel.close() wakes a subscriber waiting in for-await", async () => {
  const channel = new AuthorizationChannel();
  using subscription = channel.subscribe();
  const seen: AuthorizationCommand[] = [];
  const loop = (async () => {
    for await (const command of subscription) seen.push(command);
  })();
  channel.send(remove(1));
  await new Promise((resolve) => setTimeout(resolve, 0)); // the loop is now parked in next()
  assert.equal(subscription.pending, 0);
  channel.close();
  await deadline(loop, 1_000);
  assert.deepEqual(seen, [remove(1)]);
  using afterClose = channel.subscribe();
  assert.equal(await afterClose.next(), undefined);
});

Deno.test("AuthorizationChannel.next() rejects on abort without losing a command", async () => {
  const channel = new AuthorizationChannel();
  using subscription = channel.subscribe();
  const controller = new AbortController();
  const reason = new Error("stop waiting");
  const waiting = subscription.next({ signal: controller.signal });
  controller.abort(reason);
  await assert.rejects(waiting, (e) => e === reason);
  await assert.rejects(subscription.next({ signal: controller.signal }), (e) => e === reason);
  channel.send(remove(1));
  assert.deepEqual(await subscription.next(), remove(1), "the aborted wait took no command");
});

Deno.test("AuthorizationChannel subscription dispose detaches it", async () => {
  const channel = new AuthorizationChannel({ capacity: 2 });
  const subscription = channel.subscribe();
  using other = channel.subscribe();
  const waiting = subscription.next();
  assert.equal(channel.stats.subscribers, 2);
  subscription[Symbol.dispose]();
  assert.equal(await deadline(waiting, 1_000), undefined, "a pending next() ends on dispose");
  assert.equal(channel.stats.subscribers, 1);
  for (let n = 0; n < 3; n++) channel.send(remove(n));
  assert.equal(subscription.pending, 0);
  assert.equal(await subscription.next(), undefined);
  assert.equal(channel.stats.overflows, 1, "only the attached subscriber overflowed");
  assert.equal(other.pending, 1);
  subscription[Symbol.dispose](); // idempotent
});

Deno.test("AuthorizationChannel breaking out of for-await detaches the subscription", async () => {
  const channel = new AuthorizationChannel();
  const subscription = channel.subscribe();
  channel.send(remove(1));
  channel.send(remove(2));
  for await (const command of subscription) {
    assert.deepEqual(command, remove(1));
    break;
  }
  assert.equal(channel.stats.subscribers, 0);
  assert.equal(subscription.pending, 0);
});
