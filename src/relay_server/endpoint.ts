/**
 * The HTTP side of the endpoint, ahead of the Hono app: `GET /<bunker pubkey>` with `Upgrade:
 * websocket` opens a session, with `Accept: application/nostr+json` answers the NIP-11 document.
 * The path is checked against the live authorizations before anything is upgraded: an unknown,
 * malformed or revoked bunker pubkey gets `404` with a JSON body, a client address over its
 * connection cap `429`, and no socket is opened. Every other request goes to the app.
 */
import { addressKey } from "../accounts/address_key.ts";
import { VERSION } from "../version.ts";
import type { RelayHub } from "./hub.ts";
import { bunkerOfPath } from "./urls.ts";

/** Deno's idle ping: a peer that answers no ping for this long is dropped, in seconds. */
const WEBSOCKET_PING_SECONDS = 60;

/** The endpoint's handler: a Response for its requests, undefined for the app's. */
export type RelayEndpoint = (
  request: Request,
  info: { remoteAddr: { hostname: string } },
) => Response | undefined;

/** Builds the endpoint over `hub`; `trustedProxies` may name the client in `X-Forwarded-For`. */
export function relayEndpoint(hub: RelayHub, trustedProxies: readonly string[]): RelayEndpoint {
  return (request, info) => {
    const upgrade = request.headers.get("upgrade")?.toLowerCase() === "websocket";
    const nip11 = !upgrade && request.method === "GET" &&
      (request.headers.get("accept") ?? "").includes("application/nostr+json");
    if (!upgrade && !nip11) return undefined;
    const { pathname } = new URL(request.url);
    const bunkerPubkey = bunkerOfPath(pathname);
    if (nip11 && bunkerPubkey === undefined) return undefined; // not a relay path: the app's
    if (request.method !== "GET" || bunkerPubkey === undefined || !hub.serves(bunkerPubkey)) {
      if (upgrade) hub.rejectedUpgrade(false);
      return json(404, {
        error: bunkerPubkey === undefined
          ? "Cannot open a relay here: the path must be /<bunker pubkey, 64 lowercase hex>"
          : `Cannot open the relay for bunker "${bunkerPubkey}": no live authorization has it`,
      });
    }
    if (nip11) return json(200, relayInformation(hub), { "access-control-allow-origin": "*" });
    // An IPv6 client counts by its /64 (one host holds a whole /64), a mapped IPv4 as IPv4.
    const address = addressKey(clientAddress(request, info.remoteAddr.hostname, trustedProxies));
    const refusal = hub.refusal(address);
    if (refusal !== undefined) {
      hub.rejectedUpgrade(true);
      return json(429, {
        error: `Cannot open another relay connection from ${address}: ${refusal}`,
      });
    }
    let upgraded: { socket: WebSocket; response: Response };
    try {
      upgraded = Deno.upgradeWebSocket(request, { idleTimeout: WEBSOCKET_PING_SECONDS });
    } catch (_error: unknown) {
      return json(400, { error: "Cannot upgrade: not a valid WebSocket handshake" });
    }
    const { socket, response } = upgraded;
    const session = hub.attach(bunkerPubkey, address, socket);
    socket.onopen = () => session.open();
    socket.onmessage = (message) => session.handle(message.data);
    socket.onclose = () => session.close();
    socket.onerror = () => session.close();
    return response;
  };
}

/** The NIP-11 document of a bunker's path. */
export function relayInformation(hub: Pick<RelayHub, "settings">): Record<string, unknown> {
  const { settings } = hub;
  return {
    name: "keycast",
    description: "keycast's own NIP-46 relay: requests to this bunker and its replies only",
    software: "keycast",
    version: VERSION,
    supported_nips: [1, 11, 42, 46],
    limitation: {
      max_message_length: settings.maxMessageBytes,
      max_subscriptions: settings.maxSubscriptions,
      auth_required: settings.auth === "required",
      restricted_writes: true,
    },
    retention: [{ kinds: [24133], time: 60 }],
  };
}

/** The client's address: the peer, or the last untrusted hop of `X-Forwarded-For` behind a proxy. */
function clientAddress(request: Request, peer: string, trusted: readonly string[]): string {
  if (!trusted.includes(peer)) return peer;
  const forwarded = (request.headers.get("x-forwarded-for") ?? "").split(",")
    .map((part) => part.trim()).filter((part) => part !== "" && part.length <= 64);
  for (let i = forwarded.length - 1; i >= 0; i--) {
    if (!trusted.includes(forwarded[i]!)) return forwarded[i]!;
  }
  return peer;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}
