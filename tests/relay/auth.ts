/** NIP-42 checks: does an AUTH event answer this connection's challenge for this relay? */
import type { NostrEvent } from "nostr-tools/pure";
import { signatureProblem } from "./event.ts";

/** Kind of NIP-42 client authentication events. */
export const AUTH_KIND = 22242;
/** Largest accepted distance between an AUTH event's `created_at` and now, in seconds. */
export const AUTH_MAX_SKEW_SECONDS = 600;

/**
 * Why `event` is not a valid answer to `challenge`, or `undefined` when it is.
 * `host` is the Host header the client connected with; the event's `relay` tag must name it.
 */
export function authProblem(
  event: NostrEvent,
  challenge: string,
  host: string,
  nowSeconds: number,
): string | undefined {
  if (event.kind !== AUTH_KIND) return `kind ${event.kind} is not ${AUTH_KIND}`;
  if (Math.abs(nowSeconds - event.created_at) > AUTH_MAX_SKEW_SECONDS) {
    return `created_at ${event.created_at} is more than ${AUTH_MAX_SKEW_SECONDS} s from now`;
  }
  const tagValue = (name: string) => event.tags.find((tag) => tag[0] === name)?.[1];
  if (tagValue("challenge") !== challenge) return "challenge tag does not match";
  const relay = tagValue("relay") ?? "";
  if (hostOf(relay) !== host) return `relay tag "${relay}" does not name this relay`;
  return signatureProblem(event);
}

function hostOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "ws:" || parsed.protocol === "wss:" ? parsed.host : undefined;
  } catch (_error: unknown) {
    // Not a URL at all: it names no relay.
    return undefined;
  }
}
