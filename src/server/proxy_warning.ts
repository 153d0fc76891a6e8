/**
 * The startup warning for a server that seems to sit behind a reverse proxy it does not trust:
 * keycast serves plain HTTP, so an https `--public-url` means a proxy terminates TLS in front of
 * it, and without `--trust-proxy` every request seems to come from that proxy's address.
 */
import type { Config } from "../config/config.ts";

/** The warning to log at startup for `config`, or undefined when there is none. */
export function untrustedProxyWarning(
  config: Pick<Config, "publicUrl" | "trustedProxies">,
): string | undefined {
  if (!config.publicUrl?.startsWith("https://") || config.trustedProxies.length > 0) {
    return undefined;
  }
  return "--public-url is https but --trust-proxy is empty: login throttling and the own " +
    "relay's per-address connection cap will treat all clients as one address (the proxy's); " +
    "set --trust-proxy to the proxy's address";
}
