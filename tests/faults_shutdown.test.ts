/**
 * SIGTERM under load, end to end: the test relay delays everything it sends, so when keycast has
 * published its replies they are still waiting for the relay's `OK` — in flight — at the moment
 * the signal arrives. keycast must finish them (bounded by its 10 s grace period), exit 0, and the
 * client must receive every answer.
 */
import assert from "node:assert/strict";
import { verifyEvent } from "nostr-tools/pure";
import { eventually } from "./helpers/eventually.ts";
import { type Json, Keycast, RawClient } from "./helpers/keycast.ts";

/** `SHUTDOWN_GRACE_MS` in main.ts. */
const GRACE_MS = 10_000;
const TEMPLATE = JSON.stringify({ kind: 1, created_at: 1_700_000_000, tags: [], content: "hi" });

function secretOf(created: Json): string {
  return new URL(created.bunker_url.replace("bunker://", "http://")).searchParams.get("secret")!;
}

Deno.test("SIGTERM under load: in-flight requests are answered and serve exits 0 within the grace period", async () => {
  await using keycast = await Keycast.start({ process: true });
  const relay = keycast.relays[0]!;
  const created = await keycast.authorize("shutdown");
  const bunker: string = created.bunker_pubkey;
  await keycast.ready();
  await using raw = await RawClient.connect([relay.url]);
  assert.equal((await raw.call(bunker, "connect", [bunker, secretOf(created)])).result, "ack");

  const total = 30;
  const delayMs = 3_000;
  const before = (await relay.stats()).eventsReceived;
  await relay.delay(delayMs);
  for (let i = 0; i < total; i++) {
    raw.send(bunker, { id: `load-${i}`, method: "sign_event", params: [TEMPLATE] });
  }
  // Requests reach keycast `delayMs` late; its replies then wait another `delayMs` for their OK.
  await eventually(
    "keycast has published a reply to every request",
    async () => (await relay.stats()).eventsReceived >= before + 2 * total,
    { timeoutMs: 30_000, intervalMs: 50 },
  );
  const signalled = Date.now();
  const code = await keycast.server.stop("SIGTERM");
  const tookMs = Date.now() - signalled;
  assert.equal(code, 0);
  assert.ok(tookMs <= GRACE_MS + 10_000, `exit took ${tookMs} ms`);
  // Exiting at once would have dropped the pending OKs: it must have waited for them.
  assert.ok(tookMs >= 1_000, `exited after ${tookMs} ms, before the delayed OKs could arrive`);
  const lines = keycast.server.lines;
  const shuttingDown = lines.findIndex((line) => line.includes('"Shutting down"'));
  const stopped = lines.findIndex((line) => line.includes('"Stopped"'));
  assert.ok(shuttingDown >= 0 && stopped > shuttingDown, "no orderly shutdown in the log");
  assert.deepEqual(lines.filter((line) => line.includes('"Request failed"')), []);

  const replies = await raw.collect(bunker, { count: total, waitMs: 20_000 });
  for (let i = 0; i < total; i++) {
    const answers = replies.get(`load-${i}`) ?? [];
    assert.equal(answers.length, 1, `load-${i}`);
    assert.ok(verifyEvent(JSON.parse(answers[0]!.result)), `load-${i}`);
  }
});
