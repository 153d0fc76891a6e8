/**
 * Send → receive latency of the authorization channel. The budget for API write → listener updated
 * is 5 ms in-process; the channel's share should be a few microseconds.
 */
import { AuthorizationChannel } from "./channel.ts";
import type { AuthorizationCommand } from "./command.ts";

const command: AuthorizationCommand = { type: "remove", bunkerPubkey: "ab".repeat(32) };

const single = new AuthorizationChannel();
const singleSubscription = single.subscribe();

Deno.bench(
  "send → next() with 1 subscriber awaiting",
  { group: "latency", baseline: true },
  async () => {
    const received = singleSubscription.next();
    single.send(command);
    await received;
  },
);

const fanOut = new AuthorizationChannel();
const fanOutSubscriptions = Array.from({ length: 4 }, () => fanOut.subscribe());

Deno.bench("send → next() with 4 subscribers awaiting", { group: "latency" }, async () => {
  const received = fanOutSubscriptions.map((subscription) => subscription.next());
  fanOut.send(command);
  await Promise.all(received);
});

const burst = new AuthorizationChannel();
const burstSubscriptions = Array.from({ length: 4 }, () => burst.subscribe());

Deno.bench("100 sends then drain, 4 subscribers (per batch)", { group: "burst" }, async () => {
  for (let i = 0; i < 100; i++) burst.send(command);
  for (const subscription of burstSubscriptions) {
    while (subscription.pending > 0) await subscription.next();
  }
});
