import assert from "node:assert/strict";
import { createNostrConnectURI } from "nostr-tools/nip46";
import { prng } from "../../tests/helpers/prng.ts";
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
  assert.deepEqual(parseNostrConnectUri(uri), {
    clientPubkey: CLIENT,
    relays: ["wss://relay.example", "ws://127.0.0.1:7777"],
    secret: "s3cr3t",
    perms: ["sign_event:1", "nip44_encrypt"],
    metadata: { name: "My App", url: "https://app.example" },
  });
});

Deno.test("parseNostrConnectUri() keeps display hints as one line of plain text", () => {
  const query = new URLSearchParams({
    relay: "ws://127.0.0.1:7777",
    secret: "s",
    name: "Evil\u0000 App\nline2\u202e ✍️",
    url: "https://app.example/\u0007",
    perms: "sign_event:1\u0000,\r\nnip44_encrypt",
  });
  const parsed = parseNostrConnectUri(`nostrconnect://${CLIENT}?${query}`);
  assert.deepEqual(parsed.metadata, { name: "Evil Appline2 ✍️", url: "https://app.example/" });
  assert.deepEqual(parsed.perms, ["sign_event:1", "nip44_encrypt"]);
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
    assert.throws(() => parseNostrConnectUri(uri), (error) => {
      assert.ok(error instanceof NostrConnectError);
      assert.equal(error.message.includes(part), true, `${uri.slice(0, 60)} → ${error.message}`);
      assert.equal(error.message.includes("secret=x"), false);
      return true;
    });
  }
});

Deno.test("parseNostrConnectUri() survives random garbage without throwing anything else", () => {
  const alphabet = "nostrconect:/?&=%#abcdef0123456789 \u0000é";
  const random = prng(46);
  for (let i = 0; i < 2000; i++) {
    let text = i % 2 ? `nostrconnect://${CLIENT}?` : "";
    const length = Math.floor(random() * 80);
    for (let j = 0; j < length; j++) text += alphabet[Math.floor(random() * alphabet.length)];
    try {
      parseNostrConnectUri(text);
    } catch (error) {
      if (!(error instanceof NostrConnectError)) throw error;
    }
  }
});
