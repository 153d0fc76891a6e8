/**
 * `encrypt_to_self` and `counterparties`: whom NIP-04/NIP-44 encrypt and decrypt may talk to.
 */
import { takesPeer } from "../nostr/nip46.ts";
import { show } from "./problems.ts";
import {
  ALLOW,
  deny,
  type PolicyContext,
  type PolicyRequest,
  type PolicyRule,
  type PolicyVerdict,
} from "./rule.ts";

const HEX64 = /^[0-9a-f]{64}$/;

/** Denies a NIP-04/NIP-44 request without a 64-hex counterparty. */
export class CounterpartyPresentRule implements PolicyRule {
  /** Denies encrypt/decrypt without a valid peer pubkey; allows other methods. */
  check(request: PolicyRequest, _ctx: PolicyContext): PolicyVerdict {
    if (!takesPeer(request.method)) return ALLOW;
    const peer = request.counterparty?.toLowerCase();
    if (peer !== undefined && HEX64.test(peer)) return ALLOW;
    return deny("invalid", `${request.method} needs a 64-hex peer pubkey, got ${show(peer)}`);
  }
}

/** `encrypt_to_self`: encrypt and decrypt only with the user's own pubkey. */
export class SelfOnlyRule implements PolicyRule {
  /** Denies encrypt/decrypt with anyone but the user. */
  check(request: PolicyRequest, _ctx: PolicyContext): PolicyVerdict {
    if (!takesPeer(request.method)) return ALLOW;
    return request.counterparty?.toLowerCase() === request.userPubkey.toLowerCase()
      ? ALLOW
      : deny("forbidden", `${request.method} is allowed only with the user's own pubkey`);
  }
}

/** `counterparties`: encrypt and decrypt only with the listed pubkeys. */
export class CounterpartyRule implements PolicyRule {
  readonly #allowed: ReadonlySet<string>;

  constructor(pubkeys: readonly string[]) {
    this.#allowed = new Set(pubkeys.map((pubkey) => pubkey.toLowerCase()));
  }

  /** Denies encrypt/decrypt with a pubkey not in the list. */
  check(request: PolicyRequest, _ctx: PolicyContext): PolicyVerdict {
    if (!takesPeer(request.method)) return ALLOW;
    const peer = request.counterparty?.toLowerCase() ?? "";
    return this.#allowed.has(peer) ? ALLOW : deny(
      "forbidden",
      `${request.method} with "${peer.slice(0, 64)}" is not allowed by this policy`,
    );
  }
}
