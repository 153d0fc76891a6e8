/**
 * A NIP-46 client in its own process, for the own relay's end-to-end test: reads a `bunker://`
 * URL from argv, runs connect, sign_event, a nip44 round trip and ping through nostr-tools'
 * BunkerSigner, prints one JSON line with the results and exits (2 on failure).
 *
 *   deno run -A tests/helpers/own_relay_client.ts 'bunker://…'
 */
import { BunkerSigner, parseBunkerInput } from "nostr-tools/nip46";
import * as nip44 from "nostr-tools/nip44";
import { SimplePool } from "nostr-tools/pool";
import { generateSecretKey, getPublicKey, verifyEvent } from "nostr-tools/pure";
import { deadline } from "../../src/util/async.ts";

const pointer = await parseBunkerInput(Deno.args[0] ?? "");
if (!pointer) throw new Error("Cannot parse the bunker URL given as the first argument");
const pool = new SimplePool();
const signer = BunkerSigner.fromBunker(generateSecretKey(), pointer, { pool });
try {
  await deadline(signer.connect(), 10_000);
  const signed = await deadline(
    signer.signEvent({ kind: 1, created_at: 1_700_000_000, tags: [], content: "process" }),
    10_000,
  );
  const third = generateSecretKey();
  const key = nip44.getConversationKey(third, signed.pubkey);
  const sealed = await deadline(signer.nip44Encrypt(getPublicKey(third), "round"), 10_000);
  const opened = await deadline(
    signer.nip44Decrypt(getPublicKey(third), nip44.encrypt("trip", key)),
    10_000,
  );
  await deadline(signer.ping(), 10_000);
  const result = {
    signed: verifyEvent(signed),
    nip44: nip44.decrypt(sealed, key) === "round" && opened === "trip",
    ping: true,
  };
  await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(result) + "\n"));
} catch (error: unknown) {
  await Deno.stderr.write(new TextEncoder().encode(`${String(error)}\n`));
  Deno.exitCode = 2;
} finally {
  await signer.close();
  pool.destroy();
}
