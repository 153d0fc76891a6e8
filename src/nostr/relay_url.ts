/**
 * Relay URLs: the one parser every boundary uses (flags, the admin API, nostrconnect URIs, the
 * relay pool), so a URL accepted anywhere is a URL the pool connects to. Stored and compared in
 * normalized form: one relay gets one connection however it is spelled.
 */

/** Longest relay URL accepted, in characters. */
export const MAX_RELAY_URL_CHARS = 512;

/** Raised by {@link parseRelayUrl}; the message quotes the URL, never its credentials. */
export class RelayUrlError extends TypeError {
  override name = "RelayUrlError";
  /** Why the URL cannot be used, without the URL: "scheme must be ws or wss". */
  readonly problem: string;

  constructor(input: string, problem: string) {
    super(`Cannot use relay URL ${quote(input)}: ${problem}`);
    this.problem = problem;
  }
}

/**
 * Validates and normalizes a relay URL: trims it, lowercases scheme and host, drops the default
 * port, the fragment and a bare `/` path, and keeps any other path and the query, so
 * `WSS://Relay.X:443/` and `wss://relay.x` are the same relay. Throws {@link RelayUrlError} for
 * anything but a `ws:`/`wss:` URL with a host of at most {@link MAX_RELAY_URL_CHARS} characters,
 * and for URLs carrying credentials (which are then left out of the message).
 */
export function parseRelayUrl(input: string): string {
  const text = input.trim();
  if (text.length === 0) throw new RelayUrlError(text, "it is empty");
  if (text.length > MAX_RELAY_URL_CHARS) {
    throw new RelayUrlError(text, `it is longer than ${MAX_RELAY_URL_CHARS} characters`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch (_error: unknown) {
    throw new RelayUrlError(text, "it is not a URL");
  }
  if (url.username !== "" || url.password !== "") {
    throw new RelayUrlError(`${url.protocol}//…@${url.host}`, "it must not carry credentials");
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new RelayUrlError(text, "scheme must be ws or wss");
  }
  if (url.hostname === "") throw new RelayUrlError(text, "it has no host");
  const path = url.pathname === "/" ? "" : url.pathname;
  return `${url.protocol}//${url.host}${path}${url.search}`;
}

/** Why `input` is not a usable relay URL, or undefined when it is. */
export function relayUrlProblem(input: string): string | undefined {
  try {
    parseRelayUrl(input);
    return undefined;
  } catch (error: unknown) {
    if (error instanceof RelayUrlError) return error.problem;
    throw error;
  }
}

/** The form of a normalized relay URL that is safe to log: a query (maybe a token) becomes `?…`. */
export function redactRelayUrl(normalizedUrl: string): string {
  const q = normalizedUrl.indexOf("?");
  return q === -1 ? normalizedUrl : `${normalizedUrl.slice(0, q)}?…`;
}

function quote(input: string): string {
  return JSON.stringify(input.length > 100 ? `${input.slice(0, 100)}…` : input);
}
