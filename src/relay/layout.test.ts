import assert from "node:assert/strict";
import { filtersPerReqFor, SubscriptionLayout } from "./layout.ts";

const pk = (i: number) => i.toString(16).padStart(64, "0");
const limits = {
  pubkeysPerFilter: 500,
  filtersPerReq: 2,
  reqsPerConnection: 20,
  subscribeAll: false,
};

Deno.test("SubscriptionLayout packs 1,200 pubkeys into 3 filters over 2 REQs", () => {
  const layout = new SubscriptionLayout(limits);
  for (let i = 0; i < 1_200; i++) layout.add(pk(i));
  assert.equal(layout.slotCount, 2);
  assert.deepEqual(layout.takeDirty(), [0, 1]);
  const sizes = [0, 1].map((s) => layout.filtersFor(s, 1).map((f) => f["#p"]?.length));
  assert.deepEqual(sizes, [[500, 500], [200]]);
  const all = [0, 1].flatMap((s) => layout.filtersFor(s, 1).flatMap((f) => f["#p"] ?? []));
  assert.equal(new Set(all).size, 1_200);
});

Deno.test("SubscriptionLayout dirties only the slot of a removed or added pubkey", () => {
  const layout = new SubscriptionLayout(limits);
  for (let i = 0; i < 1_200; i++) layout.add(pk(i));
  layout.takeDirty();
  layout.remove(pk(1_100));
  assert.deepEqual(layout.takeDirty(), [1]);
  layout.remove(pk(3));
  layout.add(pk(5_000));
  assert.deepEqual(layout.takeDirty(), [0], "the hole in chunk 0 is refilled first");
  assert.equal(layout.slotOf(pk(5_000)), 0);
  assert.equal(layout.slotOf(pk(3)), undefined);
});

Deno.test("SubscriptionLayout spreads REQs over connections and frees emptied ones", () => {
  const layout = new SubscriptionLayout({
    ...limits,
    pubkeysPerFilter: 1,
    filtersPerReq: 1,
    reqsPerConnection: 2,
  });
  for (let i = 0; i < 5; i++) layout.add(pk(i));
  assert.equal(layout.connectionCount, 3);
  assert.deepEqual(layout.slotsOf(2), [4]);
  assert.deepEqual(layout.pubkeysOf(1), [pk(2), pk(3)]);
  layout.remove(pk(2));
  layout.remove(pk(3));
  assert.equal(layout.connectionNeeded(1), false);
  assert.equal(layout.connectionNeeded(2), true);
  assert.deepEqual(layout.filtersFor(4, 0), [{ kinds: [24133], "#p": [pk(4)], since: 0 }]);
  assert.deepEqual(layout.filtersFor(2, 0), []);
  layout.remove(pk(4));
  assert.equal(layout.connectionCount, 1);
});

Deno.test("SubscriptionLayout in subscribe-all mode sends one filter without #p", () => {
  const layout = new SubscriptionLayout({ ...limits, subscribeAll: true });
  layout.add(pk(1));
  layout.add(pk(2));
  assert.deepEqual(layout.takeDirty(), [0]);
  assert.deepEqual(layout.filtersFor(0, 7), [{ kinds: [24133], since: 7 }]);
  assert.equal(layout.coverageOf(0), "all");
  layout.remove(pk(1));
  assert.deepEqual(layout.takeDirty(), []);
  layout.remove(pk(2));
  assert.deepEqual(layout.takeDirty(), [0]);
  assert.deepEqual(layout.filtersFor(0, 7), []);
});

Deno.test("filtersPerReqFor() keeps a full REQ under the byte budget", () => {
  assert.equal(filtersPerReqFor(10, 98_304, 500), 2);
  assert.equal(filtersPerReqFor(10, 98_304, 100), 10);
  assert.equal(filtersPerReqFor(10, 1_000, 500), 1);
});
