import assert from "node:assert/strict";
import type { ActiveAuthorization } from "../domain/authorization.ts";
import type { NostrEvent } from "../nostr/event.ts";
import { MAX_REQUEST_CONTENT_CHARS } from "../nostr/nip46.ts";
import {
  admitEvent,
  eventKey,
  idMatchesContent,
  type Intake,
  type IntakeDeps,
  MAX_TAGS,
  type Precheck,
  precheckEvent,
} from "./intake.ts";
import type { ListenerDirectory } from "./listener_types.ts";
import { SeenSet } from "./seen.ts";
import { BUNKER_PUBKEY, requestEvent, T0, testAuthorization } from "./testing.ts";

const WINDOW = 120;
const NOW_S = T0 / 1000;
const OPTS = {
  nowMs: T0,
  windowSeconds: WINDOW,
  serves: (bunkerPubkey: string) => bunkerPubkey === BUNKER_PUBKEY,
};

function reasonOf(result: Precheck | Intake): string {
  return result.kind === "drop" ? result.reason : result.kind;
}

/** `requestEvent()` with `fields` replaced after the fact (the id no longer matters here). */
function withFields(fields: Record<string, unknown>): Record<string, unknown> {
  return { ...requestEvent(), ...fields };
}

Deno.test("precheckEvent() drops what is not an object", () => {
  for (const raw of [null, undefined, 1, "event", true]) {
    assert.equal(reasonOf(precheckEvent(raw, OPTS)), "not an object", String(raw));
  }
});

Deno.test("precheckEvent() drops other kinds", () => {
  for (const kind of [1, "24133", undefined, 24134]) {
    assert.equal(reasonOf(precheckEvent(withFields({ kind }), OPTS)), "wrong kind", String(kind));
  }
});

Deno.test("precheckEvent() drops an event whose id, pubkey, sig, created_at or tags are malformed", () => {
  const broken = [
    { id: "A".repeat(64) },
    { id: "a".repeat(63) },
    { pubkey: 5 },
    { pubkey: "g".repeat(64) },
    { sig: undefined },
    { sig: 1 },
    { created_at: "1700000000" },
    { tags: { p: BUNKER_PUBKEY } },
    { tags: undefined },
  ];
  for (const fields of broken) {
    assert.equal(
      reasonOf(precheckEvent(withFields(fields), OPTS)),
      "bad shape",
      JSON.stringify(fields),
    );
  }
});

Deno.test("precheckEvent() drops content that is no string or too long", () => {
  const tooLong = "x".repeat(MAX_REQUEST_CONTENT_CHARS + 1);
  for (const content of [undefined, 5, ["x"], tooLong]) {
    assert.equal(reasonOf(precheckEvent(withFields({ content }), OPTS)), "bad content");
  }
  const longest = withFields({ content: "x".repeat(MAX_REQUEST_CONTENT_CHARS) });
  assert.equal(reasonOf(precheckEvent(longest, OPTS)), "accepted");
});

Deno.test("precheckEvent() drops an event with too many tags", () => {
  const tags = (count: number) => [["p", BUNKER_PUBKEY], ...Array(count - 1).fill(["t", "x"])];
  assert.equal(
    reasonOf(precheckEvent(withFields({ tags: tags(MAX_TAGS + 1) }), OPTS)),
    "too many tags",
  );
  assert.equal(reasonOf(precheckEvent(withFields({ tags: tags(MAX_TAGS) }), OPTS)), "accepted");
});

Deno.test("precheckEvent() drops events outside the window, in the past and in the future", () => {
  for (const createdAt of [NOW_S - WINDOW - 1, NOW_S + WINDOW + 1, 0]) {
    assert.equal(reasonOf(precheckEvent(withFields({ created_at: createdAt }), OPTS)), "stale");
  }
  for (const createdAt of [NOW_S - WINDOW, NOW_S + WINDOW, NOW_S]) {
    assert.equal(reasonOf(precheckEvent(withFields({ created_at: createdAt }), OPTS)), "accepted");
  }
  const narrow = { ...OPTS, windowSeconds: 5 };
  assert.equal(reasonOf(precheckEvent(withFields({ created_at: NOW_S - 6 }), narrow)), "stale");
});

Deno.test("precheckEvent() drops an event whose #p names no bunker we serve", () => {
  const other = "9".repeat(64);
  const tagLists = [[], [["p", other]], [["e", BUNKER_PUBKEY]], [["p"]], [["p", 5]], ["p"], [null]];
  for (const tags of tagLists) {
    const result = precheckEvent(withFields({ tags }), OPTS);
    assert.equal(reasonOf(result), "no loaded bunker in #p", JSON.stringify(tags));
  }
});

Deno.test("precheckEvent() accepts a request event and names the first bunker it serves", () => {
  const other = "9".repeat(64);
  const raw = withFields({ tags: [["p", other], ["x"], ["p", BUNKER_PUBKEY, "wss://r"]] });
  const result = precheckEvent(raw, OPTS);
  assert.equal(result.kind, "accepted");
  if (result.kind !== "accepted") return;
  assert.equal(result.bunkerPubkey, BUNKER_PUBKEY);
  assert.equal(result.event, raw, "the event itself, not a copy");
});

Deno.test("idMatchesContent() is true only when the id is the hash of the content", async () => {
  const event = requestEvent();
  assert.equal(await idMatchesContent(event), true);
  assert.equal(await idMatchesContent({ ...event, content: "other" }), false);
  assert.equal(await idMatchesContent({ ...event, created_at: event.created_at + 1 }), false);
  assert.equal(await idMatchesContent({ ...event, tags: [] }), false);
  assert.equal(await idMatchesContent({ ...event, id: "0".repeat(64) }), false);
});

Deno.test("idMatchesContent() is false for an event that cannot be serialized", async () => {
  const loop: unknown[] = [];
  loop.push(loop);
  const event: NostrEvent = { ...requestEvent(), tags: [] };
  Object.defineProperty(event, "tags", { value: loop });
  assert.equal(await idMatchesContent(event), false);
});

/** Intake over a directory holding `live` and `removed` authorizations, on a fixed clock. */
function intake(
  directory: Pick<ListenerDirectory, "get" | "removed">,
  seenEvents = new SeenSet({ ttlMs: 600_000, max: 100 }),
): IntakeDeps {
  return { directory, seenEvents, windowSeconds: WINDOW, now: () => T0 };
}

function directoryOf(
  live: ActiveAuthorization | undefined,
  removed?: ActiveAuthorization,
): Pick<ListenerDirectory, "get" | "removed"> {
  return {
    get: (bunkerPubkey) => bunkerPubkey === BUNKER_PUBKEY ? live : undefined,
    removed: (bunkerPubkey) => bunkerPubkey === BUNKER_PUBKEY ? removed : undefined,
  };
}

Deno.test("admitEvent() accepts a request for a live authorization", async () => {
  const authorization = testAuthorization();
  const event = requestEvent();
  const result = await admitEvent(event, intake(directoryOf(authorization)));
  assert.deepEqual(result, { kind: "accepted", event, bunkerPubkey: BUNKER_PUBKEY, authorization });
});

Deno.test("admitEvent() accepts a request for a removed authorization, to answer revoked", async () => {
  const tombstone = testAuthorization();
  const result = await admitEvent(requestEvent(), intake(directoryOf(undefined, tombstone)));
  assert.equal(result.kind === "accepted" && result.authorization, tombstone);
});

Deno.test("admitEvent() passes on the precheck's drop reason", async () => {
  const deps = intake(directoryOf(testAuthorization()));
  assert.equal(reasonOf(await admitEvent({ kind: 1 }, deps)), "wrong kind");
  assert.equal(
    reasonOf(await admitEvent(requestEvent(), intake(directoryOf(undefined)))),
    "no loaded bunker in #p",
  );
  const stale = requestEvent({ createdAt: NOW_S - WINDOW - 1 });
  assert.equal(reasonOf(await admitEvent(stale, deps)), "stale", "uses the injected clock");
});

Deno.test("admitEvent() drops an event whose id does not match its content", async () => {
  const forged = { ...requestEvent(), content: "forged" };
  const result = await admitEvent(forged, intake(directoryOf(testAuthorization())));
  assert.equal(reasonOf(result), "id does not match content");
});

Deno.test("admitEvent() calls a second copy of an event a duplicate", async () => {
  const deps = intake(directoryOf(testAuthorization()));
  const event = requestEvent();
  assert.equal((await admitEvent(event, deps)).kind, "accepted");
  assert.deepEqual(await admitEvent({ ...event }, deps), { kind: "duplicate" });
  assert.equal(deps.seenEvents.size, 1);
});

Deno.test("admitEvent() does not let a forged copy shadow the real event", async () => {
  const deps = intake(directoryOf(testAuthorization()));
  const event = requestEvent();
  const forged = { ...event, content: "forged" };
  assert.equal(reasonOf(await admitEvent(forged, deps)), "id does not match content");
  assert.equal((await admitEvent(event, deps)).kind, "accepted");
});

Deno.test("admitEvent() drops an event whose authorization went away during the checks", async () => {
  const authorization = testAuthorization();
  let lookups = 0;
  const vanishing = {
    get: () => lookups++ === 0 ? authorization : undefined,
    removed: () => undefined,
  };
  const result = await admitEvent(requestEvent(), intake(vanishing));
  assert.equal(reasonOf(result), "unknown bunker pubkey");
});

Deno.test("eventKey() is the id and the signature", () => {
  const event = requestEvent();
  assert.equal(eventKey(event), `${event.id}:${event.sig}`);
});
