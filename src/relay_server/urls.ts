/**
 * The URLs of keycast's own relay endpoint: one per bunker pubkey, `ws(s)://<public host>/<bunker
 * pubkey>`. The path is the tenant key; `/<pubkey>/` is accepted too (some clients add the slash).
 */
import { isHex64 } from "../util/hex.ts";

/** The bunker pubkey a request path names, or undefined when it names none (malformed). */
export function bunkerOfPath(pathname: string): string | undefined {
  const match = /^\/([0-9a-f]{64})\/?$/.exec(pathname);
  return match?.[1];
}

/** The WebSocket origin for an HTTP(S) origin: `https://x` → `wss://x`, `http://x` → `ws://x`. */
export function wsOrigin(httpOrigin: string): string {
  const url = new URL(httpOrigin);
  return `${url.protocol === "https:" ? "wss:" : "ws:"}//${url.host}`;
}

/** The endpoint's URLs, from an origin known late (the bound port) or at once (`--public-url`). */
export class LocalRelayUrls {
  readonly #origin: () => string;

  /** `origin` returns the `ws://` or `wss://` origin clients reach the endpoint at. */
  constructor(origin: () => string) {
    this.#origin = origin;
  }

  /** The relay URL serving `bunkerPubkey`. */
  urlFor(bunkerPubkey: string): string {
    return `${this.#origin()}/${bunkerPubkey}`;
  }

  /** The bunker pubkey of a URL of this endpoint, or undefined for any other URL. */
  bunkerOf(relayUrl: string): string | undefined {
    let url: URL;
    try {
      url = new URL(relayUrl);
    } catch (_error: unknown) {
      return undefined; // not a URL: not ours
    }
    const origin = `${url.protocol}//${url.host}`;
    if (origin !== this.#origin()) return undefined;
    const bunker = bunkerOfPath(url.pathname);
    return bunker !== undefined && isHex64(bunker) && url.search === "" ? bunker : undefined;
  }

  /** True when `relayUrl` is a URL of this endpoint. */
  isLocal(relayUrl: string): boolean {
    return this.bunkerOf(relayUrl) !== undefined;
  }
}
