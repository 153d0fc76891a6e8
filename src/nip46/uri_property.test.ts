/**
 * Property tests of the URI code over seeded random input:
 * - `parseNostrConnectUri()` reads back what a client put into a `nostrconnect://` URI, throws only
 *   `NostrConnectError` on anything else, never accepts what it promises to refuse, and never puts
 *   the secret into an error message;
 * - the admin API's `bunkerUrl()` output is read back unchanged by nostr-tools' `parseBunkerInput()`
 *   (what most clients use) and by the WHATWG URL parser, whatever the relay URLs and secret hold.
 */
import assert from "node:assert/strict";
import { BUNKER_REGEX, createNostrConnectURI, parseBunkerInput } from "nostr-tools/nip46";
import { parseRelayUrl, relayUrlProblem } from "../nostr/relay_url.ts";
import { bunkerUrl } from "./bunker_url.ts";
import {
  MAX_PAIRING_RELAYS,
  NostrConnectError,
  type NostrConnectRequest,
  parseNostrConnectUri,
} from "./nostrconnect.ts";
import { prng } from "../../tests/helpers/prng.ts";

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function hex64(random: () => number): string {
  return Array.from({ length: 64 }, () => Math.floor(random() * 16).toString(16)).join("");
}

/** Characters a URL path or query may carry, including every one encodeURIComponent keeps. */
const URL_CHARS = "abcXYZ019-._~!$&'()*+,;=:@%/? #[]é";
/** Printable secret characters (no spaces or controls), some of which need escaping in a query. */
const SECRET_CHARS = "abcXYZ0189-_.~!$&'()*+,;=:@/?#%[]\"<>^`{|}é💥";

function randomText(random: () => number, alphabet: string, min: number, max: number): string {
  const chars = [...alphabet];
  const length = min + Math.floor(random() * (max - min + 1));
  return Array.from({ length }, () => pick(random, chars)).join("");
}

function randomRelay(random: () => number, alphabet = URL_CHARS): string {
  const host = pick(random, ["relay.example.com", "127.0.0.1", "[::1]", "nos.lol", "r.x"]);
  const port = random() < 0.3 ? `:${1 + Math.floor(random() * 65_535)}` : "";
  const path = random() < 0.5 ? `/${encodeURI(randomText(random, alphabet, 0, 12))}` : "";
  return `${pick(random, ["ws", "wss"])}://${host}${port}${path.replace(/[#?]/g, "")}`;
}

function randomPairing(random: () => number): NostrConnectRequest {
  const relays = [
    ...new Set(
      Array.from(
        { length: 1 + Math.floor(random() * MAX_PAIRING_RELAYS) },
        () => randomRelay(random),
      ),
    ),
  ];
  return {
    clientPubkey: hex64(random),
    relays,
    secret: randomText(random, SECRET_CHARS, 1, 64),
    perms: Array.from(
      { length: Math.floor(random() * 4) },
      () => pick(random, ["sign_event:1", "nip44_encrypt", "ping"]),
    ),
    metadata: random() < 0.5 ? {} : { name: randomText(random, "ab cé💥", 1, 20) },
  };
}

/**
 * What the parser should return for `pairing`: relays normalized (and so deduplicated), display
 * fields trimmed, empty ones dropped.
 */
function expectedOf(pairing: NostrConnectRequest): NostrConnectRequest {
  const name = pairing.metadata.name?.trim();
  const relays = [...new Set(pairing.relays.map(parseRelayUrl))];
  return { ...pairing, relays, metadata: name ? { name } : {} };
}

/** Checks the promises `parseNostrConnectUri` makes about anything it accepts. */
function assertAcceptable(parsed: NostrConnectRequest, context: string): void {
  assert.match(parsed.clientPubkey, /^[0-9a-f]{64}$/, context);
  assert.ok(parsed.relays.length >= 1 && parsed.relays.length <= MAX_PAIRING_RELAYS, context);
  for (const relay of parsed.relays) {
    assert.equal(relayUrlProblem(relay), undefined, context);
    assert.equal(parseRelayUrl(relay), relay, `${context}: relays come back normalized`);
  }
  assert.ok(parsed.secret.length >= 1 && parsed.secret.length <= 256, context);
  assert.ok(![...parsed.secret].some((c) => c.trim() === "" || c.charCodeAt(0) < 0x20), context);
  assert.ok(parsed.perms.length <= 64 && parsed.perms.every((p) => p.length <= 64), context);
  assert.ok((parsed.metadata.name?.length ?? 0) <= 100, context);
}

Deno.test("parseNostrConnectUri() reads back 500 random pairings built the way clients build them", () => {
  for (let seed = 1; seed <= 500; seed++) {
    const random = prng(seed);
    const pairing = randomPairing(random);
    const uri = createNostrConnectURI({
      clientPubkey: random() < 0.5 ? pairing.clientPubkey : pairing.clientPubkey.toUpperCase(),
      relays: pairing.relays,
      secret: pairing.secret,
      perms: pairing.perms,
      name: pairing.metadata.name,
    });
    const parsed = parseNostrConnectUri(uri);
    assert.deepEqual(parsed, expectedOf(pairing), `seed ${seed}: ${uri}`);
    assertAcceptable(parsed, `seed ${seed}`);
  }
});

Deno.test("parseNostrConnectUri() throws only NostrConnectError on mutated URIs and never leaks the secret", () => {
  let accepted = 0;
  let refused = 0;
  for (let seed = 1; seed <= 1_500; seed++) {
    const random = prng(seed);
    const pairing = randomPairing(random);
    pairing.secret = `S3CR3T-${hex64(random).slice(0, 12)}`;
    const uri = createNostrConnectURI({
      clientPubkey: pairing.clientPubkey,
      relays: pairing.relays,
      secret: pairing.secret,
      perms: pairing.perms,
    });
    const chars = [...uri];
    for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) {
      const at = Math.floor(random() * chars.length);
      const choice = random();
      if (choice < 0.4) chars.splice(at, 1);
      else if (choice < 0.8) chars.splice(at, 1, pick(random, [..."?&=#/%:+ \u0000x"]));
      else chars.splice(at, 0, pick(random, ["relay=", "&relay=http://evil", "%zz", "\n"]));
    }
    const mutated = chars.join("");
    // Whether the URI still carries the secret as its secret parameter (a mutation may have cut
    // it or merged it into another parameter, after which it is just text of that parameter).
    const query = mutated.slice(mutated.indexOf("?") + 1);
    const secretIntact = new URLSearchParams(query).getAll("secret").includes(pairing.secret);
    try {
      assertAcceptable(parseNostrConnectUri(mutated), `seed ${seed}: ${mutated}`);
      accepted++;
    } catch (error) {
      if (error instanceof assert.AssertionError) throw error;
      assert.ok(error instanceof NostrConnectError, `seed ${seed}: ${String(error)}`);
      if (secretIntact) {
        assert.ok(!error.message.includes("S3CR3T"), `seed ${seed} leaked: ${error.message}`);
      }
      refused++;
    }
  }
  assert.ok(accepted > 100 && refused > 100, `accepted ${accepted}, refused ${refused}`);
});

/**
 * Characters `encodeURIComponent` leaves as they are but nostr-tools' `BUNKER_REGEX` does not allow
 * (`[?/\w:.=&%-]`): a relay URL holding one makes `parseBunkerInput()` return null.
 */
const UNSAFE_FOR_NOSTR_TOOLS = /[!'()*~]/g;

async function checkBunkerUrls(alphabet: string, count: number): Promise<void> {
  for (let seed = 1; seed <= count; seed++) {
    const random = prng(seed);
    const bunkerPubkey = hex64(random);
    const relays = Array.from(
      { length: 1 + Math.floor(random() * 3) },
      () => randomRelay(random, alphabet),
    );
    const secret = hex64(random);
    const url = bunkerUrl(
      random() < 0.5 ? bunkerPubkey : bunkerPubkey.toUpperCase(),
      relays,
      secret,
    );
    const context = `seed ${seed}: ${url}`;
    assert.match(url, BUNKER_REGEX, context);
    assert.deepEqual(
      await parseBunkerInput(url),
      { pubkey: bunkerPubkey, relays, secret },
      context,
    );
    const parsed = new URL(url);
    assert.equal(parsed.protocol, "bunker:", context);
    assert.deepEqual(parsed.searchParams.getAll("relay"), relays, context);
    assert.equal(parsed.searchParams.get("secret"), secret, context);
  }
}

Deno.test("bunkerUrl() output is read back unchanged by nostr-tools and the URL parser", async () => {
  await checkBunkerUrls(URL_CHARS.replace(UNSAFE_FOR_NOSTR_TOOLS, ""), 300);
});

Deno.test("bunkerUrl() output is read back by nostr-tools even when a relay path holds ~ ! ' ( ) *", () =>
  checkBunkerUrls(URL_CHARS, 300));
