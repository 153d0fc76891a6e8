import assert from "node:assert/strict";
import { normalizeRelayUrl, redactRelayUrl } from "./url.ts";

Deno.test("normalizeRelayUrl() treats case, default port and a bare slash as the same relay", () => {
  for (
    const input of ["wss://relay.x", "wss://relay.x/", "WSS://Relay.X:443/", " wss://relay.x "]
  ) {
    assert.equal(normalizeRelayUrl(input), "wss://relay.x");
  }
  assert.equal(normalizeRelayUrl("ws://relay.x:80"), "ws://relay.x");
  assert.equal(normalizeRelayUrl("ws://127.0.0.1:7777/"), "ws://127.0.0.1:7777");
});

Deno.test("normalizeRelayUrl() keeps paths, other ports and the query but drops the fragment", () => {
  assert.equal(normalizeRelayUrl("wss://relay.x/inbox/"), "wss://relay.x/inbox/");
  assert.equal(normalizeRelayUrl("wss://relay.x:8443/a"), "wss://relay.x:8443/a");
  assert.equal(normalizeRelayUrl("wss://relay.x/?t=1#frag"), "wss://relay.x?t=1");
  assert.notEqual(normalizeRelayUrl("wss://relay.x/a"), normalizeRelayUrl("wss://relay.x/A"));
});

Deno.test("normalizeRelayUrl() rejects other schemes, garbage and credentials", () => {
  assert.throws(() => normalizeRelayUrl("https://relay.x"), /scheme must be ws or wss/);
  assert.throws(() => normalizeRelayUrl("not a url"), /not a URL/);
  assert.throws(() => normalizeRelayUrl(""), /length/);
  assert.throws(
    () => normalizeRelayUrl("wss://user:hunter2@relay.x"),
    (err: unknown) => err instanceof TypeError && !err.message.includes("hunter2"),
  );
});

Deno.test("redactRelayUrl() hides the query, which may hold a token", () => {
  assert.equal(redactRelayUrl("wss://relay.x?token=abc"), "wss://relay.x?…");
  assert.equal(redactRelayUrl("wss://relay.x/p"), "wss://relay.x/p");
});
