/**
 * Hostile events straight into the Listener (real SignerPool, fake relay side): the shapes a relay
 * would normally filter out before keycast sees them — wrong kinds, broken fields, foreign `#p`,
 * stale or future timestamps, id mismatches — plus random mutations of a valid request. None may be
 * answered, none may throw, and the next valid request must still be answered.
 */
import assert from "node:assert/strict";
import { finalizeEvent, generateSecretKey, getEventHash } from "nostr-tools/pure";
import { MAX_TAGS } from "../src/nip46/listener.ts";
import { MAX_REQUEST_CONTENT_CHARS } from "../src/nostr/nip46.ts";
import { type HarnessClient, ListenerHarness } from "./helpers/listener_harness.ts";
import { prng } from "./helpers/prng.ts";

/** Values of every JSON type (and a few that only a buggy relay could produce). */
const JUNK: unknown[] = [
  null,
  undefined,
  0,
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  2 ** 60,
  "",
  "x",
  "0".repeat(64),
  "G".repeat(64),
  "a".repeat(128),
  [],
  [[]],
  [["p"]],
  [["p", 5]],
  {},
  { length: 1 },
  true,
  "\u0000",
  "\ud800",
];

async function assertSilentThenServes(
  h: ListenerHarness,
  client: HarnessClient,
  events: unknown[],
): Promise<void> {
  for (const event of events) h.deliver(event);
  await h.settle();
  assert.equal(h.published.length, 0, "a hostile event was answered");
  assert.deepEqual(h.logged("Request failed"), [], "the listener threw");
  h.deliver(h.request(client, { id: "alive", method: "ping", params: [] }));
  await h.settle();
  const replies = h.repliesTo(client).map((reply) => [reply.id, reply.result]);
  assert.deepEqual(replies, [["alive", "pong"]]);
}

Deno.test("Listener drops malformed and foreign events without a reply and keeps serving", async () => {
  await using h = await ListenerHarness.start({ workers: 1 });
  const client = h.connectedClient();
  const now = Math.floor(Date.now() / 1000);
  const valid = () => h.request(client, { id: crypto.randomUUID(), method: "ping", params: [] });
  const resigned = (fields: Record<string, unknown>) =>
    finalizeEvent({ ...templateOf(valid()), ...fields } as never, client.secret);
  const base = valid();
  const foreignBunker = generateSecretKey();
  const events: unknown[] = [
    null,
    "a string",
    42,
    [base],
    { ...base, kind: 1 },
    resigned({ kind: 24134 }),
    resigned({ kind: 1 }),
    { ...base, id: base.id.toUpperCase() },
    { ...base, id: undefined },
    { ...base, pubkey: "npub1notahexkey" },
    { ...base, sig: 5 },
    { ...base, content: 5 },
    { ...base, content: "A".repeat(MAX_REQUEST_CONTENT_CHARS + 1) },
    { ...base, created_at: String(now) },
    { ...base, created_at: Number.NaN },
    { ...base, tags: "p" },
    { ...base, tags: Array.from({ length: MAX_TAGS + 1 }, () => ["p", h.bunker.pubkey]) },
    resigned({ tags: [] }),
    resigned({ tags: [["e", h.bunker.pubkey]] }),
    resigned({ tags: [["p", getEventHash(base)]] }),
    finalizeEvent({ ...templateOf(base), tags: [["p", h.bunker.pubkey]] }, foreignBunker),
    resigned({ created_at: now - 600 }),
    resigned({ created_at: now + 600 }),
    // A correct-looking event whose id does not match its content.
    { ...base, created_at: base.created_at - 1 },
    // Someone else's signature on this client's event.
    { ...base, sig: finalizeEvent(templateOf(base), foreignBunker).sig },
  ];
  await assertSilentThenServes(h, client, events);
});

Deno.test("Listener: 400 random mutations of a valid request are all dropped, none throws", async () => {
  await using h = await ListenerHarness.start({ workers: 2 });
  const client = h.connectedClient();
  const random = prng(0x6b657963);
  const fields = ["id", "pubkey", "created_at", "kind", "tags", "content", "sig"] as const;
  const events: unknown[] = [];
  for (let i = 0; i < 400; i++) {
    const event: Record<string, unknown> = {
      ...h.request(client, { id: `m-${i}`, method: "ping", params: [] }),
    };
    const field = fields[Math.floor(random() * fields.length)]!;
    const choice = random();
    if (choice < 0.4) {
      event[field] = JUNK[Math.floor(random() * JUNK.length)];
    } else if (choice < 0.7 && typeof event[field] === "string") {
      // Flip one character to another of the same alphabet, keeping the shape plausible.
      const text = event[field] as string;
      const at = Math.floor(random() * text.length);
      const next = text[at] === "a" ? "b" : "a";
      event[field] = text.slice(0, at) + next + text.slice(at + 1);
    } else if (choice < 0.85) {
      delete event[field];
    } else {
      event[field] = field === "tags" ? [["p", h.bunker.pubkey], ["x"]] : { nested: event[field] };
    }
    events.push(event);
  }
  await assertSilentThenServes(h, client, events);
});

Deno.test("Listener: a forged copy (same id and sig, other content) cannot shadow the real request", async () => {
  await using h = await ListenerHarness.start({ workers: 1 });
  const client = h.connectedClient();
  const real = h.request(client, { id: "real", method: "ping", params: [] });
  const forged = { ...real, content: h.request(client, { id: "forged", method: "ping" }).content };
  // A hostile relay delivers its altered copy first; an honest relay delivers the real event.
  h.deliver(forged);
  h.deliver(real);
  await h.settle();
  const replies = h.repliesTo(client).map((reply) => [reply.id, reply.result]);
  assert.deepEqual(replies, [["real", "pong"]]);
});

function templateOf(
  event: { kind: number; created_at: number; tags: string[][]; content: string },
) {
  return {
    kind: event.kind,
    created_at: event.created_at,
    tags: event.tags,
    content: event.content,
  };
}
