import assert from "node:assert/strict";
import { finalizeEvent, generateSecretKey, getPublicKey } from "nostr-tools/pure";
import type { ActiveAuthorization } from "../domain/authorization.ts";
import type { NostrEvent } from "../nostr/event.ts";
import { RelayHub } from "./hub.ts";
import type { RelaySocket } from "./session.ts";
import { DEFAULT_RELAY_SERVER_SETTINGS, type RelayServerSettings } from "./settings.ts";
import { LocalRelayUrls } from "./urls.ts";

const ORIGIN = "ws://127.0.0.1:9999";

/** A socket that records what is sent, with a settable unsent byte count. */
class FakeSocket implements RelaySocket {
  readonly sent: unknown[][] = [];
  bufferedAmount = 0;
  closedWith: { code?: number; reason?: string } | undefined;
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
  }
  /** The messages of `type` sent so far. */
  of(type: string): unknown[][] {
    return this.sent.filter((message) => message[0] === type);
  }
}

/** How `socket` was closed (a function: a read after an assertion must not be narrowed). */
function closeCode(socket: FakeSocket): number | undefined {
  return socket.closedWith?.code;
}

function setup(settings: Partial<RelayServerSettings> = {}, maxUses: number | null = null) {
  const bunker = generateSecretKey();
  const bunkerPubkey = getPublicKey(bunker);
  const boundClient = generateSecretKey();
  const authorization = {
    bunkerPubkey,
    maxUses,
    clients: [{ clientPubkey: getPublicKey(boundClient), loggedOut: false }],
  } as unknown as ActiveAuthorization;
  const live = new Map([[bunkerPubkey, authorization]]);
  let now = 1_700_000_000_000;
  const submitted: { event: NostrEvent; relayUrl: string }[] = [];
  const urls = new LocalRelayUrls(() => ORIGIN);
  const hub = new RelayHub({
    settings: { ...DEFAULT_RELAY_SERVER_SETTINGS, ...settings },
    urls,
    authorizations: live,
    submit: (event, relayUrl) => submitted.push({ event, relayUrl }),
    log: () => {},
    now: () => now,
    sweepIntervalMs: 0,
  });
  const open = (address = "10.0.0.1") => {
    const socket = new FakeSocket();
    const session = hub.attach(bunkerPubkey, address, socket);
    session.open();
    const send = (message: unknown[]) => session.handle(JSON.stringify(message));
    return { socket, session, send };
  };
  const request = (secret: Uint8Array, tags = [["p", bunkerPubkey]], kind = 24133) =>
    finalizeEvent({ kind, created_at: Math.floor(now / 1000), tags, content: "x" }, secret);
  const reply = (clientPubkey: string) =>
    finalizeEvent({
      kind: 24133,
      created_at: Math.floor(now / 1000),
      tags: [["p", clientPubkey]],
      content: "reply",
    }, bunker);
  const authEvent = (secret: Uint8Array, challenge: string, url = urls.urlFor(bunkerPubkey)) =>
    finalizeEvent({
      kind: 22242,
      created_at: Math.floor(now / 1000),
      tags: [["relay", url], ["challenge", challenge]],
      content: "",
    }, secret);
  return {
    hub,
    live,
    bunkerPubkey,
    boundClient,
    submitted,
    open,
    request,
    reply,
    authEvent,
    advance: (ms: number) => (now += ms),
  };
}

Deno.test("a session sends a challenge, takes a request and delivers its reply", () => {
  const t = setup();
  using _hub = t.hub;
  const client = generateSecretKey();
  const clientPubkey = getPublicKey(client);
  const { socket, send } = t.open();
  assert.equal(socket.of("AUTH").length, 1);
  send(["REQ", "r", { kinds: [24133], authors: [t.bunkerPubkey], "#p": [clientPubkey] }]);
  assert.deepEqual(socket.of("EOSE"), [["EOSE", "r"]]);
  const event = t.request(client);
  send(["EVENT", event]);
  assert.deepEqual(socket.of("OK"), [["OK", event.id, true, ""]]);
  assert.equal(t.submitted[0]?.relayUrl, `${ORIGIN}/${t.bunkerPubkey}`);
  t.hub.publish(t.reply(clientPubkey));
  t.hub.publish(t.reply(getPublicKey(generateSecretKey()))); // another client's: not delivered
  assert.equal(socket.of("EVENT").length, 1);
  assert.equal(t.hub.stats().delivered, 1);
});

Deno.test("a reply published before the REQ is replayed within the window, not after", () => {
  const t = setup();
  using _hub = t.hub;
  const client = generateSecretKey();
  const clientPubkey = getPublicKey(client);
  const first = t.open();
  // The client sends its request on this connection, then subscribes after the reply was kept.
  first.send(["EVENT", t.request(client, [["p", t.bunkerPubkey]])]);
  t.hub.publish(t.reply(clientPubkey));
  first.send(["REQ", "late", { kinds: [24133], "#p": [clientPubkey] }]);
  assert.equal(first.socket.of("EVENT").length, 1);
  first.send(["REQ", "none", { kinds: [24133], "#p": [clientPubkey], limit: 0 }]);
  assert.equal(first.socket.of("EVENT").length, 1);
  // A stranger asking for the same client's replies gets none of the kept ones.
  const stranger = t.open();
  stranger.send(["REQ", "peek", { kinds: [24133], "#p": [clientPubkey] }]);
  stranger.send(["REQ", "all", { kinds: [24133], authors: [t.bunkerPubkey] }]);
  assert.equal(stranger.socket.of("EVENT").length, 0);
  t.advance(61_000);
  first.send(["REQ", "later", { kinds: [24133], "#p": [clientPubkey] }]);
  assert.equal(first.socket.of("EVENT").length, 1, "nothing past the window");
});

Deno.test("an EVENT naming another bunker besides this path's is refused", () => {
  const t = setup();
  using _hub = t.hub;
  const client = generateSecretKey();
  const { socket, send } = t.open();
  send(["EVENT", t.request(client, [["p", "ab".repeat(32)], ["p", t.bunkerPubkey]])]);
  const [ok] = socket.of("OK");
  assert.equal(ok?.[2], false);
  assert.match(String(ok?.[3]), /^blocked:/);
  assert.equal(t.submitted.length, 0);
});

Deno.test("malformed messages count against the rate; a flood closes the connection", () => {
  const t = setup();
  using _hub = t.hub;
  const { socket, session } = t.open();
  for (let i = 0; i < 1_000 && closeCode(socket) === undefined; i++) session.handle("not json");
  assert.equal(closeCode(socket), 1008, "closed as a policy violation");
  assert.ok(socket.of("NOTICE").length < 500, "not answered message by message");
});

Deno.test("EVENT of another kind or for another bunker is refused with OK false", () => {
  const t = setup();
  using _hub = t.hub;
  const client = generateSecretKey();
  const { socket, send } = t.open();
  send(["EVENT", t.request(client, [["p", t.bunkerPubkey]], 1)]);
  send(["EVENT", t.request(client, [["p", "ab".repeat(32)]])]);
  const oks = socket.of("OK");
  assert.equal(oks.length, 2);
  assert.ok(oks.every((ok) => ok[2] === false && String(ok[3]).startsWith("blocked:")));
  assert.equal(t.submitted.length, 0);
});

Deno.test("REQ filters outside NIP-46 are refused with CLOSED", () => {
  const t = setup();
  using _hub = t.hub;
  const { socket, send } = t.open();
  send(["REQ", "a", { kinds: [1], authors: [t.bunkerPubkey] }]);
  send(["REQ", "b", { kinds: [24133] }]);
  send(["REQ", "c", { kinds: [24133], authors: ["ab".repeat(32)] }]);
  const closed = socket.of("CLOSED");
  assert.deepEqual(closed.map((m) => m[1]), ["a", "b", "c"]);
  assert.ok(closed.every((m) => String(m[2]).startsWith("restricted:")));
});

Deno.test("with auth required, EVENT and REQ wait for AUTH from a pubkey bound to the bunker", () => {
  const t = setup({ auth: "required" }, 1);
  using _hub = t.hub;
  const boundPubkey = getPublicKey(t.boundClient);
  const { socket, session, send } = t.open();
  send(["REQ", "r", { kinds: [24133], "#p": [boundPubkey] }]);
  assert.match(String(socket.of("CLOSED")[0]?.[2]), /^auth-required: /);
  const early = t.request(t.boundClient);
  send(["EVENT", early]);
  assert.match(String(socket.of("OK")[0]?.[3]), /^auth-required: /);

  // The wrong URL, then a stranger while the one slot is taken, then the bound client.
  send(["AUTH", t.authEvent(t.boundClient, session.challenge, "ws://elsewhere/x")]);
  send(["AUTH", t.authEvent(generateSecretKey(), session.challenge)]);
  const auth = t.authEvent(t.boundClient, session.challenge);
  send(["AUTH", auth]);
  const oks = socket.of("OK").slice(1);
  assert.match(String(oks[0]?.[3]), /^invalid: the relay tag/);
  assert.match(String(oks[1]?.[3]), /^restricted: /);
  assert.deepEqual(oks[2], ["OK", auth.id, true, ""]);
  assert.equal(t.hub.stats().authenticatedConnections, 1);

  send(["REQ", "mine", { kinds: [24133], "#p": [boundPubkey] }]);
  send(["REQ", "theirs", { kinds: [24133], "#p": ["ab".repeat(32)] }]);
  assert.deepEqual(socket.of("EOSE"), [["EOSE", "mine"]]);
  assert.match(String(socket.of("CLOSED").at(-1)?.[2]), /^restricted: /);
  const other = t.request(generateSecretKey());
  send(["EVENT", other]);
  assert.match(String(socket.of("OK").at(-1)?.[3]), /^restricted: /);
  send(["EVENT", t.request(t.boundClient)]);
  assert.equal(socket.of("OK").at(-1)?.[2], true);
  assert.equal(t.submitted.length, 1);
});

Deno.test("with auth required, a new client may authenticate while the bunker can still bind one", () => {
  const t = setup({ auth: "required" }, 2);
  using _hub = t.hub;
  const { socket, session, send } = t.open();
  send(["AUTH", t.authEvent(generateSecretKey(), session.challenge)]);
  assert.equal(socket.of("OK")[0]?.[2], true);
});

Deno.test("the message rate cap refuses messages over the rate; time refills it", () => {
  const t = setup({ maxMessagesPerSecond: 2 });
  using _hub = t.hub;
  const client = generateSecretKey();
  const { socket, send } = t.open();
  for (let i = 0; i < 5; i++) send(["EVENT", t.request(client)]);
  const refused = socket.of("OK").filter((ok) => ok[2] === false);
  assert.equal(refused.length, 1);
  assert.match(String(refused[0]?.[3]), /^rate-limited: /);
  t.advance(1_000);
  send(["EVENT", t.request(client)]);
  assert.equal(socket.of("OK").at(-1)?.[2], true);
  assert.equal(t.hub.stats().refusals.rate, 1);
});

Deno.test("the subscription cap closes the REQ over it", () => {
  const t = setup({ maxSubscriptions: 2 });
  using _hub = t.hub;
  const { socket, send } = t.open();
  const filter = { kinds: [24133], authors: [t.bunkerPubkey] };
  for (const id of ["a", "b", "c"]) send(["REQ", id, filter]);
  send(["REQ", "a", filter]); // replacing an open one is fine
  assert.deepEqual(socket.of("EOSE").map((m) => m[1]), ["a", "b", "a"]);
  assert.match(String(socket.of("CLOSED")[0]?.[2]), /^rate-limited: too many subscriptions/);
  send(["CLOSE", "b"]);
  send(["REQ", "c", filter]);
  assert.equal(socket.of("EOSE").at(-1)?.[1], "c");
});

Deno.test("a message over the size cap gets a NOTICE and closes the connection", () => {
  const t = setup({ maxMessageBytes: 1_024 });
  using _hub = t.hub;
  const { socket, session } = t.open();
  session.handle(JSON.stringify(["NOTICE", "é".repeat(600)])); // 1_200 bytes in UTF-8
  assert.match(String(socket.of("NOTICE")[0]?.[1]), /^invalid: message too large/);
  assert.equal(socket.closedWith?.code, 1009);
  assert.equal(t.hub.stats().connections, 0);
});

Deno.test("an idle connection without subscriptions is closed; one with a subscription is kept", () => {
  const t = setup({ idleTimeoutMs: 10_000 });
  using _hub = t.hub;
  const idle = t.open();
  const waiting = t.open();
  waiting.send(["REQ", "r", { kinds: [24133], authors: [t.bunkerPubkey] }]);
  t.advance(9_000);
  t.hub.sweep();
  assert.equal(closeCode(idle.socket), undefined);
  t.advance(1_000);
  t.hub.sweep();
  assert.match(String(idle.socket.of("NOTICE")[0]?.[1]), /^closing: idle/);
  assert.equal(closeCode(idle.socket), 1000);
  assert.equal(waiting.socket.closedWith, undefined);
  assert.equal(t.hub.stats().connections, 1);
});

Deno.test("a slow consumer is dropped once its unsent data passes the cap", () => {
  const t = setup({ maxBufferedBytes: 65_536 });
  using _hub = t.hub;
  const clientPubkey = getPublicKey(generateSecretKey());
  const { socket, send } = t.open();
  send(["REQ", "r", { kinds: [24133], "#p": [clientPubkey] }]);
  t.hub.publish(t.reply(clientPubkey));
  assert.equal(socket.of("EVENT").length, 1);
  socket.bufferedAmount = 65_500; // the client stopped reading
  t.hub.publish(t.reply(clientPubkey));
  assert.equal(socket.of("EVENT").length, 1);
  assert.equal(socket.closedWith?.code, 1008);
  assert.equal(t.hub.stats().refusals.slow, 1);
  assert.equal(t.hub.stats().connections, 0);
});

Deno.test("the per-address cap counts open connections and frees them on close", () => {
  const t = setup({ maxConnectionsPerIp: 2 });
  using _hub = t.hub;
  const first = t.open("10.0.0.7");
  t.open("10.0.0.7");
  assert.notEqual(t.hub.refusal("10.0.0.7"), undefined);
  assert.equal(t.hub.refusal("10.0.0.8"), undefined);
  first.session.close();
  assert.equal(t.hub.refusal("10.0.0.7"), undefined);
});

Deno.test("revoke ends every session on the path at once and frees it", () => {
  const t = setup();
  using _hub = t.hub;
  const { socket, send } = t.open();
  send(["REQ", "r", { kinds: [24133], authors: [t.bunkerPubkey] }]);
  t.live.delete(t.bunkerPubkey);
  t.hub.revoke(t.bunkerPubkey);
  assert.match(String(socket.of("CLOSED")[0]?.[2]), /^revoked: /);
  assert.ok(socket.closedWith);
  assert.equal(t.hub.serves(t.bunkerPubkey), false);
  assert.equal(t.hub.stats().connections, 0);
});

Deno.test("garbage gets a NOTICE and keeps the connection", () => {
  const t = setup();
  using _hub = t.hub;
  const { socket, session } = t.open();
  session.handle("not json");
  session.handle(JSON.stringify({ not: "an array" }));
  session.handle(JSON.stringify(["COUNT", "x", {}]));
  session.handle(JSON.stringify(["EVENT", { id: "x" }]));
  assert.equal(socket.of("NOTICE").length, 3);
  assert.equal(socket.of("OK").length, 1);
  assert.equal(socket.closedWith, undefined);
});

Deno.test("a replay larger than the send buffer skips replies instead of dropping the client", () => {
  const t = setup({ maxBufferedBytes: 65_536 });
  using _hub = t.hub;
  const client = generateSecretKey();
  const clientPubkey = getPublicKey(client);
  const { socket, send } = t.open();
  send(["EVENT", t.request(client, [["p", t.bunkerPubkey]])]);
  for (let i = 0; i < 10; i++) t.hub.publish(t.reply(clientPubkey));
  // The socket has not written anything yet: the replay would queue more than the buffer holds.
  socket.bufferedAmount = 65_000;
  send(["REQ", "late", { kinds: [24133], "#p": [clientPubkey] }]);
  assert.equal(closeCode(socket), undefined, "still connected");
  assert.equal(socket.of("EOSE").length, 1);
  // A live reply that does not fit still marks a slow consumer.
  socket.bufferedAmount = 65_536;
  t.hub.publish(t.reply(clientPubkey));
  assert.equal(closeCode(socket), 1008);
});

Deno.test("refusal() names the per-address cap; addresses are counted as given", () => {
  const t = setup({ maxConnectionsPerIp: 1 });
  using _hub = t.hub;
  t.open();
  const refusal = t.hub.refusal("10.0.0.1");
  assert.match(refusal ?? "", /^at most 1 at once \(--relay-max-connections-per-ip\)$/);
  assert.equal(t.hub.refusal("10.0.0.9"), undefined);
});
