/** Relay URL normalization, so that one relay gets one connection however it is spelled. */

/** Longest relay URL accepted, in characters. */
const MAX_URL_LENGTH = 2_048;

function quote(input: string): string {
  return JSON.stringify(input.length > 100 ? `${input.slice(0, 100)}…` : input);
}

/**
 * Normalizes a relay URL: trims it, lowercases scheme and host, drops the default port, the
 * fragment and a bare `/` path, and keeps any other path and the query. `wss://Relay.X:443/` and
 * `wss://relay.x` both become `wss://relay.x`. Throws a `TypeError` for anything but a `ws:` or
 * `wss:` URL, and for URLs with credentials (their value is then left out of the message).
 */
export function normalizeRelayUrl(input: string): string {
  const text = input.trim();
  if (text.length === 0 || text.length > MAX_URL_LENGTH) {
    throw new TypeError(
      `Cannot parse relay URL ${quote(text)}: length must be 1 to ${MAX_URL_LENGTH} characters`,
    );
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch (_err: unknown) {
    throw new TypeError(`Cannot parse relay URL ${quote(text)}: not a URL`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new TypeError("Cannot use a relay URL with credentials: put them elsewhere");
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new TypeError(`Cannot parse relay URL ${quote(text)}: scheme must be ws or wss`);
  }
  if (url.hostname === "") {
    throw new TypeError(`Cannot parse relay URL ${quote(text)}: host is missing`);
  }
  const path = url.pathname === "/" ? "" : url.pathname;
  return `${url.protocol}//${url.host}${path}${url.search}`;
}

/** The form of a normalized relay URL that is safe to log: a query (maybe a token) becomes `?…`. */
export function redactRelayUrl(normalizedUrl: string): string {
  const q = normalizedUrl.indexOf("?");
  return q === -1 ? normalizedUrl : `${normalizedUrl.slice(0, q)}?…`;
}
