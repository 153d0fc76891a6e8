import { createNostrConnectURI } from "nostr-tools/nip46";
import { assertEquals, assertThrows } from "../../tests/helpers/assert.ts";
import { NostrConnectError, parseNostrConnectUri } from "./nostrconnect.ts";

const CLIENT = "b".repeat(64);

Deno.test("parseNostrConnectUri() reads what nostr-tools' createNostrConnectURI writes", () => {
  const uri = createNostrConnectURI({
    clientPubkey: CLIENT,
    relays: ["wss://relay.example/", "ws://127.0.0.1:7777"],
    secret: "s3cr3t",
    perms: ["sign_event:1", "nip44_encrypt"],
    name: "My App",
    url: "https://app.example",
  });
  assertEquals(parseNostrConnectUri(uri), {
    clientPubkey: CLIENT,
    relays: ["wss://relay.example", "ws://127.0.0.1:7777"],
    secret: "s3cr3t",
    perms: ["sign_event:1", "nip44_encrypt"],
    metadata: { name: "My App", url: "https://app.example" },
  });
});

Deno.test("parseNostrConnectUri() rejects what would be unsafe, naming the part", () => {
  const cases: [string, string][] = [
    ["bunker://" + CLIENT + "?relay=wss://r&secret=x", "nostrconnect://"],
    ["nostrconnect://abc?relay=wss://r&secret=x", "client pubkey"],
    [`nostrconnect://${CLIENT}?secret=x`, "no relay"],
    [`nostrconnect://${CLIENT}?relay=https://r&secret=x`, "scheme must be ws or wss"],
    [`nostrconnect://${CLIENT}?relay=wss://r`, "secret"],
    [`nostrconnect://${CLIENT}?relay=wss://r&secret=a%0Ab`, "secret"],
    [`nostrconnect://${CLIENT}?relay=wss://r&secret=x&pad=${"a".repeat(5000)}`, "longer than"],
  ];
  for (const [uri, part] of cases) {
    const error = assertThrows(() => parseNostrConnectUri(uri), NostrConnectError);
    assertEquals(error.message.includes(part), true, `${uri.slice(0, 60)} → ${error.message}`);
    assertEquals(error.message.includes("secret=x"), false);
  }
});

Deno.test("parseNostrConnectUri() survives random garbage without throwing anything else", () => {
  const alphabet = "nostrconect:/?&=%#abcdef0123456789 \u0000é";
  for (let i = 0; i < 2000; i++) {
    let text = i % 2 ? `nostrconnect://${CLIENT}?` : "";
    const length = Math.floor(Math.random() * 80);
    for (let j = 0; j < length; j++) text += alphabet[Math.floor(Math.random() * alphabet.length)];
    try {
      parseNostrConnectUri(text);
    } catch (error) {
      if (!(error instanceof NostrConnectError)) throw error;
    }
  }
});
