/**
 * A NIP-46 client to try keycast with: reads a `bunker://` URL from standard input, connects with
 * nostr-tools' BunkerSigner, asks for the user's public key, has one note signed, and prints both.
 *
 *   keycast authorize --key alice --relay ws://127.0.0.1:7777 | deno run -A examples/try_client.ts
 *
 * The URL comes in on stdin, not as an argument, because it holds the connection secret and
 * arguments are visible to every user of the machine. README.md ("Try it locally") walks through
 * the whole setup; tests/cli_e2e.test.ts runs this script.
 */
import { BunkerSigner, parseBunkerInput } from "nostr-tools/nip46";
import { SimplePool } from "nostr-tools/pool";
import { generateSecretKey, verifyEvent } from "nostr-tools/pure";

const TIMEOUT_MS = 15_000;

const input = (await new Response(Deno.stdin.readable).text()).trim();
const pointer = await parseBunkerInput(input);
if (!pointer) {
  // deno-lint-ignore no-console -- a script's one-line usage error
  console.error(
    "Cannot read a bunker:// URL from stdin (usage: … | deno run -A examples/try_client.ts)",
  );
  Deno.exit(2);
}

// Our own pool, so its relay connections can be closed at the end (BunkerSigner.close() leaves
// them open).
const pool = new SimplePool();
const signer = BunkerSigner.fromBunker(generateSecretKey(), pointer, {
  pool,
  onauth: (url) => {
    // deno-lint-ignore no-console -- shown to the person trying keycast
    console.error(`The signer asks for approval at ${url}`);
  },
});
const timer = setTimeout(() => {
  // deno-lint-ignore no-console -- a script's one-line failure
  console.error(
    `No answer from the signer within ${TIMEOUT_MS / 1000} s: is it listening on the URL's relays?`,
  );
  Deno.exit(1);
}, TIMEOUT_MS);
let failure: string | undefined;
try {
  await signer.connect();
  const pubkey = await signer.getPublicKey();
  const event = await signer.signEvent({
    kind: 1,
    created_at: Math.floor(Date.now() / 1000),
    tags: [],
    content: "Hello from a keycast bunker",
  });
  if (!verifyEvent(event) || event.pubkey !== pubkey) {
    throw new Error("the signed event does not verify against the user's public key");
  }
  // deno-lint-ignore no-console -- the script's output
  console.log(JSON.stringify({ pubkey, event }));
} catch (error) {
  // nostr-tools rejects with the signer's error text (a string) for an error reply.
  failure = error instanceof Error ? error.message : String(error);
} finally {
  clearTimeout(timer);
  await signer.close();
  pool.destroy();
}
if (failure !== undefined) {
  // deno-lint-ignore no-console -- a script's one-line failure
  console.error(`The signer refused: ${failure}`);
  Deno.exit(1);
}
