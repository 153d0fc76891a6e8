/**
 * NIP-42 on the endpoint: the AUTH event's checks, and who may authenticate on a bunker's path.
 *
 * The rule: a pubkey may authenticate on `/<bunker pubkey>` when it is a client bound to that
 * authorization (it redeemed the secret, logged out or not), or — so a new client can send its
 * first `connect` — any pubkey while the authorization can still bind a client (no `max_uses`, or
 * fewer clients than it). The relay cannot read the encrypted request, so such a not-yet-bound
 * pubkey's requests reach the listener as a stranger's: charged to the unconnected senders' rate
 * limits before any crypto, and every method but `connect` and `ping` is answered `unauthorized:`.
 * Once every slot is taken, only bound clients may authenticate.
 */
import type { ActiveAuthorization } from "../domain/authorization.ts";
import type { NostrEvent } from "../nostr/event.ts";
import { RELAY_AUTH_KIND } from "../nostr/kinds.ts";
import { isHex64 } from "../util/hex.ts";
import { AUTH_WINDOW_SECONDS } from "./settings.ts";

/** Outcome of {@link checkAuthEvent}: the authenticated pubkey, or the `OK false` reason. */
export type AuthCheck = { ok: true; pubkey: string } | { ok: false; problem: string };

/** Checks an AUTH event: kind 22242, this connection's challenge, this path's URL, fresh, signed. */
export function checkAuthEvent(
  raw: unknown,
  expect: {
    challenge: string;
    url: string;
    nowSeconds: number;
    verify: (event: NostrEvent) => boolean;
  },
): AuthCheck {
  if (typeof raw !== "object" || raw === null) return fail("invalid: AUTH needs an event");
  const event = raw as NostrEvent;
  if (
    event.kind !== RELAY_AUTH_KIND || !isHex64(event.pubkey) || !Array.isArray(event.tags) ||
    typeof event.created_at !== "number"
  ) {
    return fail(`invalid: AUTH needs a kind ${RELAY_AUTH_KIND} event`);
  }
  const tag = (name: string) =>
    event.tags.find((t) => Array.isArray(t) && t[0] === name)?.[1] as unknown;
  if (tag("challenge") !== expect.challenge) return fail("invalid: wrong or missing challenge");
  const relay = tag("relay");
  if (typeof relay !== "string" || !sameRelayUrl(relay, expect.url)) {
    return fail(`invalid: the relay tag must be ${expect.url}`);
  }
  if (Math.abs(event.created_at - expect.nowSeconds) > AUTH_WINDOW_SECONDS) {
    return fail("invalid: created_at is too far from now");
  }
  let valid = false;
  try {
    valid = expect.verify(event);
  } catch (_error: unknown) {
    valid = false; // a malformed event cannot be verified: refused below
  }
  return valid ? { ok: true, pubkey: event.pubkey } : fail("invalid: bad signature");
}

/** Why `pubkey` may not authenticate on the path of `authorization` (see the module doc). */
export function authProblem(
  authorization: ActiveAuthorization | undefined,
  pubkey: string,
): string | undefined {
  if (!authorization) return "restricted: this bunker is not served here";
  if (authorization.clients.some((client) => client.clientPubkey === pubkey)) return undefined;
  if (authorization.maxUses === null || authorization.clients.length < authorization.maxUses) {
    return undefined;
  }
  return "restricted: this pubkey is not a client of this bunker";
}

/** Same relay URL, up to case of scheme and host and a trailing slash. */
function sameRelayUrl(a: string, b: string): boolean {
  const normal = (url: string) => {
    try {
      const parsed = new URL(url);
      return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, "")}`;
    } catch (_error: unknown) {
      return undefined; // not a URL: matches nothing
    }
  };
  const left = normal(a);
  return left !== undefined && left === normal(b);
}

function fail(problem: string): AuthCheck {
  return { ok: false, problem };
}
