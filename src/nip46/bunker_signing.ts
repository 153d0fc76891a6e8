/**
 * Events signed with a bunker key outside the request path: NIP-42 AUTH answers to relays, and
 * the `connect` reply that completes a nostrconnect:// pairing.
 */
import type { NostrEvent } from "../nostr/event.ts";
import { RELAY_AUTH_KIND } from "../nostr/kinds.ts";
import type { PublishResult, SignAuth } from "../relay/types.ts";
import type { PairingReply } from "../service/deps.ts";
import type { KeyRef, RespondInput, RespondResult } from "../signer/protocol.ts";
import type { AuthorizationRegistry } from "./registry.ts";

/** The signer operations used here ({@link SignerPool} has them). */
export interface BunkerSigner {
  signWithKey(input: { key: KeyRef; template: unknown }): Promise<NostrEvent>;
  respond(input: RespondInput): Promise<RespondResult>;
}

/** Answers a relay's AUTH challenge with each live bunker key subscribed on that relay. */
export function relayAuthSigner(
  registry: Pick<AuthorizationRegistry, "get">,
  signer: Pick<BunkerSigner, "signWithKey">,
  now: () => number = Date.now,
): SignAuth {
  return (challenge, relayUrl, bunkerPubkeys) =>
    Promise.all(bunkerPubkeys.flatMap((bunkerPubkey) => {
      const authorization = registry.get(bunkerPubkey);
      if (!authorization) return [];
      return [signer.signWithKey({
        key: { pubkey: bunkerPubkey, sealed: authorization.bunkerSecretSealed },
        template: {
          kind: RELAY_AUTH_KIND,
          created_at: Math.floor(now() / 1000),
          tags: [["relay", relayUrl], ["challenge", challenge]],
          content: "",
        },
      })];
    }));
}

/**
 * Sends the reply that completes a pairing: `result` = the client's secret, NIP-44, from the
 * bunker key, on the pairing's relays. Resolves true when at least one relay accepted it.
 */
export function pairingReplySender(
  signer: Pick<BunkerSigner, "respond">,
  relays: { publish(event: NostrEvent, relays: string[]): Promise<PublishResult[]> },
): (pairing: PairingReply) => Promise<boolean> {
  return async (pairing) => {
    const reply = await signer.respond({
      bunker: { pubkey: pairing.bunkerPubkey, sealed: pairing.bunkerSecretSealed },
      clientPubkey: pairing.clientPubkey,
      scheme: "nip44",
      requestId: crypto.randomUUID(),
      action: { type: "result", result: pairing.secret },
    });
    const results = await relays.publish(reply.event, pairing.relays);
    return results.some((result) => result.ok);
  };
}
