import assert from "node:assert/strict";
import {
  isPrivateRelayHost,
  parseRelayUrl,
  redactRelayUrl,
  RelayUrlError,
  relayUrlProblem,
} from "./relay_url.ts";

Deno.test("parseRelayUrl() treats case, default port and a bare slash as the same relay", () => {
  for (
    const input of ["wss://relay.x", "wss://relay.x/", "WSS://Relay.X:443/", " wss://relay.x "]
  ) {
    assert.equal(parseRelayUrl(input), "wss://relay.x");
  }
  assert.equal(parseRelayUrl("ws://relay.x:80"), "ws://relay.x");
  assert.equal(parseRelayUrl("ws://127.0.0.1:7777/"), "ws://127.0.0.1:7777");
});

Deno.test("parseRelayUrl() keeps paths, other ports and the query but drops the fragment", () => {
  assert.equal(parseRelayUrl("wss://relay.x/inbox/"), "wss://relay.x/inbox/");
  assert.equal(parseRelayUrl("wss://relay.x:8443/a"), "wss://relay.x:8443/a");
  assert.equal(parseRelayUrl("wss://relay.x/?t=1#frag"), "wss://relay.x?t=1");
  assert.notEqual(parseRelayUrl("wss://relay.x/a"), parseRelayUrl("wss://relay.x/A"));
});

Deno.test("parseRelayUrl() is idempotent: a normalized URL parses to itself", () => {
  for (
    const input of ["WSS://Relay.X:443/", "ws://h:7/p/?q=1", "wss://r.x/~nostr", "wss://[::1]:9"]
  ) {
    const once = parseRelayUrl(input);
    assert.equal(parseRelayUrl(once), once);
  }
});

Deno.test("parseRelayUrl() rejects other schemes, garbage, long URLs and credentials", () => {
  assert.throws(() => parseRelayUrl("https://relay.x"), /scheme must be ws or wss/);
  assert.throws(() => parseRelayUrl("not a url"), /not a URL/);
  assert.throws(() => parseRelayUrl(""), /empty/);
  assert.throws(() => parseRelayUrl(`wss://r.x/${"a".repeat(600)}`), /longer than 512/);
  assert.throws(
    () => parseRelayUrl("wss://user:hunter2@relay.x"),
    (error: unknown) => error instanceof RelayUrlError && !error.message.includes("hunter2"),
  );
});

Deno.test("relayUrlProblem() names the problem or returns undefined", () => {
  assert.equal(relayUrlProblem("wss://relay.x"), undefined);
  assert.equal(relayUrlProblem("http://relay.x"), "scheme must be ws or wss");
});

Deno.test("redactRelayUrl() hides the query, which may hold a token", () => {
  assert.equal(redactRelayUrl("wss://relay.x?token=abc"), "wss://relay.x?…");
  assert.equal(redactRelayUrl("wss://relay.x/p"), "wss://relay.x/p");
});
Deno.test("isPrivateRelayHost() knows loopback, private, link-local and local names", () => {
  const inside = [
    "ws://127.0.0.1:7777",
    "ws://localhost:7777",
    "ws://2130706433",
    "wss://10.1.2.3",
    "wss://172.20.0.1",
    "wss://192.168.1.1",
    "wss://169.254.169.254",
    "wss://100.64.0.1",
    "wss://0.0.0.0",
    "wss://[::1]",
    "wss://[::ffff:127.0.0.1]",
    "wss://[fd00::1]",
    "wss://[fe80::1]",
    "wss://redis",
    "wss://db.internal",
    "wss://printer.local",
    "wss://x.localhost",
  ];
  for (const url of inside) assert.equal(isPrivateRelayHost(parseRelayUrl(url)), true, url);
  const outside = [
    "wss://relay.damus.io",
    "wss://8.8.8.8",
    "wss://[2001:db8::1]",
    "wss://172.32.0.1",
  ];
  for (const url of outside) assert.equal(isPrivateRelayHost(parseRelayUrl(url)), false, url);
});
