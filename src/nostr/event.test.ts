import assert from "node:assert/strict";
import { finalizeEvent, generateSecretKey, getEventHash } from "nostr-tools/pure";
import {
  eventId,
  EventShapeError,
  isHex128,
  parseEventTemplate,
  parseSignedEvent,
} from "./event.ts";

const template = {
  kind: 1,
  created_at: 1_700_000_000,
  tags: [["p", "ab".repeat(32)], ["t", 'ünïcode "quoted"\n']],
  content: "hello\u2028world \u{1F600} \\ \t",
};

Deno.test("eventId() matches nostr-tools getEventHash, including escapes and non-ASCII", () => {
  const pubkey = "cd".repeat(32);
  assert.equal(eventId(pubkey, template), getEventHash({ ...template, pubkey }));
});

Deno.test("parseSignedEvent() accepts a real event and returns a clean copy", () => {
  const event = finalizeEvent(structuredClone(template), generateSecretKey());
  const parsed = parseSignedEvent({ ...event, extra: "dropped" });
  assert.deepEqual(parsed, {
    id: event.id,
    pubkey: event.pubkey,
    sig: event.sig,
    kind: 1,
    created_at: template.created_at,
    tags: template.tags,
    content: template.content,
  });
  assert.notEqual(parsed.tags[0], event.tags[0]);
});

Deno.test("parseSignedEvent() rejects malformed fields with a message naming the field", () => {
  const event = finalizeEvent(structuredClone(template), generateSecretKey());
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...event, id: event.id.toUpperCase() }, /event id/],
    [{ ...event, pubkey: event.pubkey.slice(2) }, /event pubkey/],
    [{ ...event, sig: `${event.sig}00` }, /event sig/],
    [{ ...event, kind: 70_000 }, /event kind "70000"/],
    [{ ...event, kind: 1.5 }, /event kind/],
    [{ ...event, created_at: -1 }, /created_at "-1"/],
    [{ ...event, content: 5 }, /content: expected a string, got number/],
    [{ ...event, tags: [["p", 5]] }, /event tag 0/],
    [{ ...event, tags: "p" }, /event tags: expected an array/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => parseSignedEvent(value), (error: unknown) => {
      return error instanceof EventShapeError && message.test(error.message);
    });
  }
  assert.throws(() => parseSignedEvent(null), /got null/);
  assert.throws(() => parseSignedEvent([]), /got an array/);
});

Deno.test("parseEventTemplate() enforces the content and tag limits", () => {
  assert.throws(
    () => parseEventTemplate({ ...template, content: "x".repeat(11) }, { maxContentLength: 10 }),
    /content of 11 chars: the limit is 10/,
  );
  assert.throws(
    () => parseEventTemplate({ ...template, tags: [[], [], []] }, { maxTags: 2 }),
    /3 event tags: the limit is 2/,
  );
  assert.deepEqual(parseEventTemplate({ ...template, pubkey: "x", id: "y", sig: "z" }), template);
});

Deno.test("isHex128() accepts only lowercase hex of 128 chars", () => {
  assert.ok(isHex128("0a".repeat(64)));
  assert.equal(isHex128("0A".repeat(64)), false);
  assert.equal(isHex128("0a".repeat(63)), false);
  assert.equal(isHex128(42), false);
});
