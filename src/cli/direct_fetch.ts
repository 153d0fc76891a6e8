/**
 * `fetch` that never goes through a proxy, for the management subcommands: every one of their
 * requests carries the admin token (and some a secret key), which must reach the keycast server
 * and nothing else. Deno's `fetch` honours HTTP_PROXY, HTTPS_PROXY and ALL_PROXY (and their lower
 * case twins) from the environment, and its `Deno.createHttpClient` has no option to turn that
 * off (denoland/deno#28385). A client reads the proxy variables, and NO_PROXY, once, when it is
 * created; so {@link createDirectClient} creates its client while NO_PROXY names every host,
 * then puts NO_PROXY back as it was.
 */

/** NO_PROXY that exempts every host: any name (`*`), any IPv4 and any IPv6 address. */
export const NO_PROXY_EVERYWHERE = "*,0.0.0.0/0,::/0";

/** The variables Deno reads NO_PROXY from, the upper case one first. */
const NO_PROXY_VARS = ["NO_PROXY", "no_proxy"] as const;

/** A Deno HTTP client that connects to every host directly, whatever the environment says. */
export function createDirectClient(): Deno.HttpClient {
  const saved = NO_PROXY_VARS.map((name) => [name, Deno.env.get(name)] as const);
  try {
    for (const name of NO_PROXY_VARS) Deno.env.set(name, NO_PROXY_EVERYWHERE);
    return Deno.createHttpClient({});
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
}

/**
 * `fetch` over a direct client ({@link createDirectClient}), one per request, closed once the
 * response has arrived (its body still reads to the end) or the request failed.
 */
export async function directFetch(
  input: string | URL | Request,
  init?: RequestInit,
): Promise<Response> {
  const client = createDirectClient();
  try {
    return await fetch(input, { ...init, client });
  } finally {
    client.close();
  }
}
