/**
 * The single-thread limit: the crypto keycast does for one `sign_event` request, run in a loop on
 * the calling thread with no relay, no worker hop and no I/O. Per request: recompute the request
 * id and verify its signature (noble BIP340 verify), NIP-44 decrypt, parse, sign the template with
 * the user key, NIP-44 encrypt the reply, sign the kind 24133 reply with the bunker key — the same
 * `SchnorrKey`, `PairCipher` and `signEvent` the workers use. The request events are built
 * (client side) before the clock starts.
 */
import { hexToBytes } from "@noble/hashes/utils.js";
import { finalizeEvent, generateSecretKey } from "nostr-tools/pure";
import * as nip44 from "nostr-tools/nip44";
import { eventId, type NostrEvent, parseEventTemplate } from "../../src/nostr/event.ts";
import { PairCipher } from "../../src/signer/ciphers.ts";
import { signEvent } from "../../src/signer/events.ts";
import { SchnorrKey, verifySchnorr } from "../../src/signer/schnorr.ts";
import { cpuMs } from "./proc.ts";

/** The event template every benchmark client asks keycast to sign. */
export function benchTemplate(createdAt: number): {
  kind: number;
  created_at: number;
  tags: string[][];
  content: string;
} {
  return {
    kind: 1,
    created_at: createdAt,
    tags: [["t", "keycast-bench"], ["client", "bench/load.ts"]],
    content: "A short note of about the size people actually post, signed through the bunker. "
      .repeat(2),
  };
}

/** Result of {@link runSingleThread}. */
export interface SingleThreadResult {
  /** Requests processed. */
  requests: number;
  /** Wall time of the loop, in ms. */
  wallMs: number;
  /** CPU time of this process during the loop, in ms (undefined off Linux). */
  cpuMs: number | undefined;
}

/**
 * Runs the per-request crypto for up to `maxRequests` requests or `maxMs` ms, whichever comes
 * first. `pairCache` false derives the ECDH secret twice per request (decrypt and reply), as a
 * worker does when its pair cache misses.
 */
export function runSingleThread(
  opts: { clients: number; maxRequests: number; maxMs: number; pairCache: boolean },
): SingleThreadResult {
  const bunkerSecret = generateSecretKey();
  const bunker = SchnorrKey.fromSecret(bunkerSecret);
  const user = SchnorrKey.fromSecret(generateSecretKey());
  const now = Math.floor(Date.now() / 1000);
  const requests: NostrEvent[] = [];
  for (let i = 0; i < Math.max(1, opts.clients); i++) {
    const clientSecret = generateSecretKey();
    const content = nip44.encrypt(
      JSON.stringify({
        id: `bench-${i}`,
        method: "sign_event",
        params: [JSON.stringify(benchTemplate(now))],
      }),
      nip44.getConversationKey(clientSecret, bunker.publicKeyHex),
    );
    requests.push(finalizeEvent({
      kind: 24133,
      created_at: now,
      tags: [["p", bunker.publicKeyHex]],
      content,
    }, clientSecret) as NostrEvent);
  }
  const pairs = new Map<string, PairCipher>();
  const pair = (peer: string) => {
    let cipher = opts.pairCache ? pairs.get(peer) : undefined;
    if (!cipher) {
      cipher = new PairCipher(bunker.sharedSecretX(hexToBytes(peer)));
      if (opts.pairCache) pairs.set(peer, cipher);
    }
    return cipher;
  };
  // Warm the JIT and (when on) the pair cache, outside the measurement.
  for (const request of requests) handle(request, bunker, user, pair);

  const cpuBefore = cpuMs(Deno.pid);
  const started = performance.now();
  let done = 0;
  while (done < opts.maxRequests && performance.now() - started < opts.maxMs) {
    handle(requests[done % requests.length]!, bunker, user, pair);
    done++;
  }
  const wallMs = performance.now() - started;
  const cpuAfter = cpuMs(Deno.pid);
  return {
    requests: done,
    wallMs,
    cpuMs: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
  };
}

function handle(
  request: NostrEvent,
  bunker: SchnorrKey,
  user: SchnorrKey,
  pair: (peer: string) => PairCipher,
): NostrEvent {
  if (eventId(request.pubkey, request) !== request.id) throw new Error("Request id mismatch");
  const valid = verifySchnorr(
    hexToBytes(request.sig),
    hexToBytes(request.id),
    hexToBytes(request.pubkey),
  );
  if (!valid) throw new Error(`Request "${request.id}" does not verify`);
  const message = JSON.parse(pair(request.pubkey).decrypt("nip44", request.content)) as {
    id: string;
    params: string[];
  };
  const template = parseEventTemplate(JSON.parse(message.params[0]!));
  const signed = signEvent(user, template);
  const reply = JSON.stringify({ id: message.id, result: JSON.stringify(signed) });
  return signEvent(bunker, {
    kind: 24133,
    created_at: request.created_at,
    tags: [["p", request.pubkey]],
    content: pair(request.pubkey).encrypt("nip44", reply),
  });
}
