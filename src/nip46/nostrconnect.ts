/**
 * `nostrconnect://` URIs, the client-initiated pairing: the client shows
 * `nostrconnect://<client pubkey hex>?relay=<url>&…&secret=<s>&perms=<a,b>&name=…&url=…&image=…`
 * and the signer answers its `connect` with `result = <secret>` from a fresh bunker key on those
 * relays. Parsing is strict where it protects the user (pubkey, relays, secret) and lenient where
 * it only affects display (name, url, image and perms are kept as hints: one line each, without
 * control or bidirectional-override characters, capped in length).
 */
import { parseRelayUrl, RelayUrlError } from "../nostr/relay_url.ts";
import { isHex64 } from "../util/hex.ts";

/** Longest URI accepted, in characters. */
export const MAX_NOSTRCONNECT_CHARS = 4_096;
/** Most relays a pairing may name. */
export const MAX_PAIRING_RELAYS = 10;

/** A validated pairing request. */
export interface NostrConnectRequest {
  clientPubkey: string;
  relays: string[];
  /** The client's secret, echoed back as the connect result. Never log it. */
  secret: string;
  /** Requested permissions: display-only hints, never grants. */
  perms: string[];
  /** Client metadata: display only. */
  metadata: { name?: string; url?: string; image?: string };
}

/** Raised with a message naming the part of the URI that is wrong (never its secret). */
export class NostrConnectError extends Error {
  override name = "NostrConnectError";
}

/** Parses and validates a `nostrconnect://` URI. */
export function parseNostrConnectUri(input: string): NostrConnectRequest {
  const text = input.trim();
  if (text.length > MAX_NOSTRCONNECT_CHARS) {
    throw new NostrConnectError(
      `Cannot use the URI: it is longer than ${MAX_NOSTRCONNECT_CHARS} characters`,
    );
  }
  const match = /^nostrconnect:\/\/([^?/#]*)\/?(?:\?([^#]*))?$/i.exec(text);
  if (!match) throw new NostrConnectError("Cannot use the URI: it must start with nostrconnect://");
  const clientPubkey = match[1]!.toLowerCase();
  if (!isHex64(clientPubkey)) {
    throw new NostrConnectError("Cannot use the URI: the client pubkey must be 64 hex characters");
  }
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(match[2] ?? "");
  } catch {
    throw new NostrConnectError("Cannot use the URI: its query is malformed");
  }
  const written = params.getAll("relay");
  if (written.length === 0) throw new NostrConnectError("Cannot use the URI: it names no relay");
  if (written.length > MAX_PAIRING_RELAYS) {
    throw new NostrConnectError(
      `Cannot use the URI: it names more than ${MAX_PAIRING_RELAYS} relays`,
    );
  }
  const relays = [...new Set(written.map(normalizeRelay))];
  const secret = params.get("secret") ?? "";
  if (secret.length === 0 || secret.length > 256 || hasControlOrSpace(secret)) {
    throw new NostrConnectError(
      "Cannot use the URI: it needs a secret of 1 to 256 printable characters",
    );
  }
  const perms = displayText(params.get("perms") ?? "").split(",").map((p) => p.trim())
    .filter(Boolean).slice(0, 64).map((p) => p.slice(0, 64));
  const metadata: NostrConnectRequest["metadata"] = {};
  for (const field of ["name", "url", "image"] as const) {
    const value = displayText(params.get(field) ?? "").trim();
    if (value) metadata[field] = value.slice(0, field === "name" ? 100 : 500);
  }
  return { clientPubkey, relays, secret, perms, metadata };
}

// Control characters (line breaks included), lone surrogates and bidirectional overrides.
const NOT_DISPLAYABLE = /[\p{Cc}\p{Cs}\u202a-\u202e\u2066-\u2069]/gu;

/** A display hint as one line of plain text: see {@link NOT_DISPLAYABLE}. */
function displayText(text: string): string {
  return text.replace(NOT_DISPLAYABLE, "");
}

function hasControlOrSpace(text: string): boolean {
  for (const char of text) if (char.trim() === "" || char.charCodeAt(0) < 0x20) return true;
  return false;
}

/** The normalized form of a relay of the URI, or a {@link NostrConnectError} naming it. */
function normalizeRelay(relay: string): string {
  try {
    return parseRelayUrl(relay);
  } catch (error: unknown) {
    if (!(error instanceof RelayUrlError)) throw error;
    throw new NostrConnectError(error.message);
  }
}
