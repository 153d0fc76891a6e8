import assert from "node:assert/strict";
import type { NostrEvent } from "../nostr/event.ts";
import { ReplyCache, replySize, STRANGERS } from "./replies.ts";
import { BUNKER_PUBKEY, requestEvent, T0 } from "./testing.ts";

/** An owner of replies. */
const A = "a-client";

/** A reply event whose content is `content`. */
const reply = (content: string): NostrEvent => requestEvent({ pubkey: BUNKER_PUBKEY, content });

Deno.test("ReplyCache keeps a reply for the ttl only", () => {
  const cache = new ReplyCache(1_000);
  const event = reply("r1");
  assert.equal(cache.keep("k", A, { event, result: "pong" }, "e1", T0), true);
  assert.deepEqual(cache.get("k", T0 + 999), { reply: event, requestEventId: "e1" });
  assert.equal(cache.get("k", T0 + 1_000), undefined);
  assert.deepEqual([cache.size, cache.chars], [0, 0]);
});

Deno.test("ReplyCache.keep() keeps error replies but not those that ask for a retry", () => {
  const cache = new ReplyCache(1_000);
  const denied = { event: reply("denied"), result: "", error: "forbidden: kind 0" };
  assert.equal(cache.keep("denied", A, denied, "e1", T0), true);
  const busy = { event: reply("busy"), result: "", error: "overloaded: retry later" };
  assert.equal(cache.keep("busy", A, busy, "e2", T0), false);
  assert.equal(cache.get("busy", T0), undefined);
  assert.equal(cache.size, 1);
});

Deno.test("ReplyCache.replyToRepeat() answers a new event, not another copy of the first", () => {
  const cache = new ReplyCache(1_000);
  const event = reply("r1");
  assert.equal(cache.replyToRepeat("k", "e2", T0), undefined, "nothing kept yet: in flight");
  cache.keep("k", A, { event, result: "pong" }, "e1", T0);
  assert.equal(cache.replyToRepeat("k", "e2", T0), event);
  assert.equal(cache.replyToRepeat("k", "e1", T0), undefined);
});

Deno.test("ReplyCache holds at most maxEntries, the oldest going first", () => {
  const cache = new ReplyCache(60_000, { maxEntries: 3 });
  for (let i = 0; i < 10; i++) {
    cache.keep(`k${i}`, A, { event: reply(`r${i}`), result: "x" }, "e", T0);
  }
  assert.equal(cache.size, 3);
  assert.equal(cache.get("k6", T0), undefined);
  assert.equal(cache.get("k7", T0)?.reply.content, "r7");
  assert.equal(cache.chars, 3 * replySize(reply("r7")));
});

Deno.test("ReplyCache holds at most maxChars, and never a reply larger than that", () => {
  const big = reply("x".repeat(1_000));
  const cache = new ReplyCache(60_000, { maxChars: 3 * replySize(big) });
  for (let i = 0; i < 5; i++) cache.keep(`k${i}`, A, { event: big, result: "x" }, "e", T0);
  assert.equal(cache.size, 3);
  assert.ok(cache.chars <= 3 * replySize(big));
  cache.keep("huge", A, { event: reply("x".repeat(10_000)), result: "x" }, "e", T0);
  assert.equal(cache.get("huge", T0), undefined);
  assert.equal(cache.size, 3, "the others stay");
});

Deno.test("ReplyCache.delete() forgets a reply and its size", () => {
  const cache = new ReplyCache(1_000);
  cache.keep("k", A, { event: reply("r1"), result: "pong" }, "e1", T0);
  cache.delete("k");
  cache.delete("missing");
  assert.deepEqual([cache.size, cache.chars], [0, 0]);
});

Deno.test("ReplyCache gives each owner a share: one owner's replies never evict another's", () => {
  const cache = new ReplyCache(60_000, { maxEntries: 10, maxEntriesPerClient: 3 });
  cache.keep("a1", "a", { event: reply("a1"), result: "x" }, "e", T0);
  for (let i = 0; i < 100; i++) {
    cache.keep(`b${i}`, "b", { event: reply(`b${i}`), result: "x" }, "e", T0);
  }
  assert.equal(cache.get("a1", T0)?.reply.content, "a1");
  assert.deepEqual(
    ["b96", "b97", "b98", "b99"].map((key) => cache.get(key, T0)?.reply.content),
    [undefined, "b97", "b98", "b99"],
    "b keeps its newest",
  );
  assert.deepEqual([cache.size, cache.owners], [4, 2]);
});

Deno.test("ReplyCache bounds each owner's characters, and never keeps a reply larger than a share", () => {
  const big = reply("x".repeat(1_000));
  const cache = new ReplyCache(60_000, { maxCharsPerClient: 2 * replySize(big) });
  cache.keep("a1", "a", { event: reply("a1"), result: "x" }, "e", T0);
  for (let i = 0; i < 5; i++) cache.keep(`s${i}`, STRANGERS, { event: big, result: "x" }, "e", T0);
  assert.equal(cache.size, 3);
  assert.equal(cache.get("s3", T0)?.reply, big);
  assert.equal(cache.get("s2", T0), undefined);
  cache.keep("huge", "c", { event: reply("x".repeat(3_000)), result: "x" }, "e", T0);
  assert.equal(cache.get("huge", T0), undefined);
  assert.equal(cache.chars, replySize(reply("a1")) + 2 * replySize(big));
});

Deno.test("ReplyCache moves a key kept again to its new owner, and forgets empty shares", () => {
  const cache = new ReplyCache(1_000, { maxEntriesPerClient: 1 });
  cache.keep("k", STRANGERS, { event: reply("first"), result: "x" }, "e1", T0);
  cache.keep("k", "a", { event: reply("second"), result: "x" }, "e2", T0);
  cache.keep("s", STRANGERS, { event: reply("s"), result: "x" }, "e3", T0);
  assert.equal(cache.get("k", T0)?.reply.content, "second", "not evicted by the strangers' share");
  assert.equal(cache.owners, 2);
  assert.equal(cache.get("k", T0 + 1_000), undefined);
  assert.deepEqual([cache.size, cache.owners, cache.chars], [0, 0, 0]);
});
