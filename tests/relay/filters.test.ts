import assert from "node:assert/strict";
import type { NostrEvent } from "nostr-tools/pure";
import { FilterError, matchesAny, matchesFilter, parseFilter } from "./filters.ts";

const bunkerPubkey = "b".repeat(64);
const event: NostrEvent = {
  id: "e".repeat(64),
  pubkey: "a".repeat(64),
  created_at: 1_000,
  kind: 24133,
  tags: [["p", bunkerPubkey], ["t", "x"]],
  content: "",
  sig: "f".repeat(128),
};

Deno.test("matchesFilter() requires every condition and any value within one", () => {
  const match = (raw: unknown) => matchesFilter(parseFilter(raw, 10), event);
  assert.ok(match({ kinds: [1, 24133], "#p": [bunkerPubkey, "c".repeat(64)] }));
  assert.ok(match({ authors: [event.pubkey], ids: [event.id], since: 1_000, until: 1_000 }));
  assert.ok(!match({ kinds: [24133], "#p": ["c".repeat(64)] }));
  assert.ok(!match({ "#e": [event.id] }));
  assert.ok(!match({ since: 1_001 }));
  assert.ok(!match({ until: 999 }));
  assert.ok(!match({ authors: [bunkerPubkey] }));
});

Deno.test("matchesAny() matches when one filter does; limit is not a condition", () => {
  const filters = [parseFilter({ kinds: [1] }, 10), parseFilter({ kinds: [24133], limit: 0 }, 10)];
  assert.ok(matchesAny(filters, event));
  assert.ok(!matchesAny([filters[0]!], event));
});

Deno.test("parseFilter() rejects wrong types and too many values", () => {
  assert.throws(() => parseFilter([], 10), FilterError);
  assert.throws(() => parseFilter({ kinds: ["1"] }, 10), /"kinds" must be an array of integers/);
  assert.throws(() => parseFilter({ "#p": [1] }, 10), /"#p" must be an array of strings/);
  assert.throws(() => parseFilter({ since: -1 }, 10), /"since" must be a non-negative integer/);
  assert.throws(() => parseFilter({ authors: ["a", "b", "c"] }, 2), /3 values, more than .* 2/);
  assert.deepEqual(parseFilter({ search: "ignored" }, 10), { tags: new Map() });
});
